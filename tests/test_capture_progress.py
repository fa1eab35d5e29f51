"""``evidencectl capture`` on a terminal shows its steps and URL on stderr; in a pipe it shows nothing.

A real capture: a local HTTP server on 127.0.0.1, the system's headless Chromium, the real command line in a
subprocess whose stderr is a pseudo-terminal (as a person runs it) or a pipe (as a script does).
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_capture import CHROMIUM
from test_cli_terminal import COLOUR, SGR, _run

from evidencectl.capture import STAGES

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is installed by scripts/install-browser.sh")

PAGE = "<!doctype html><title>商品 123</title><h1>商品 123</h1><p>价格 ¥99</p>".encode()


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/item/123"
    server.shutdown()
    server.server_close()


def test_capture_on_a_terminal_shows_its_stages_and_url(url: str, evidencectl_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "item.evp"
    code, seen, piped = _run(evidencectl_home, ["capture", url, "-o", out, "--json"], tty="stderr")
    assert code == 0 and json.loads(piped)["status"] == "complete"  # stdout: still one JSON document
    text = SGR.sub(b"", seen).decode("utf-8", "replace")
    assert url in text, text[-800:]
    shown = [stage for stage in STAGES if stage in text]
    assert shown == list(STAGES), shown  # every step drawn when it starts, however short
    assert text.index("launching") < text.index("loading") < text.index("screenshot") < text.index("anchoring")
    assert f"/{len(STAGES)}" in text  # "3/8": how far along


def test_capture_piped_shows_no_progress(url: str, evidencectl_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "item.evp"
    code, _seen, err = _run(evidencectl_home, ["capture", url, "-o", out, "--json"], tty="none")
    assert code == 0 and out.is_file()
    assert not any(stage.encode() in err for stage in STAGES) and b"\x1b[" not in err, err


def test_capture_progress_honours_no_color(url: str, evidencectl_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "item.evp"
    code, seen, _ = _run(evidencectl_home, ["capture", url, "-o", out], tty="stderr", env={"NO_COLOR": "1"})
    assert code == 0 and b"launching" in seen and not COLOUR.search(seen)
