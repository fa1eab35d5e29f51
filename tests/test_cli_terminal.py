"""Colour and progress bars: only on a terminal, never under NO_COLOR, never in a pipe.

Each command runs in a real subprocess whose stdout or stderr is a pseudo-terminal (pty), the way a person
runs it, or a pipe, the way a script does. Issue 19 ("Everyday use").
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

SGR = re.compile(rb"\x1b\[[0-9;]*m")
"""An ANSI colour or style sequence."""
COLOUR = re.compile(rb"\x1b\[(?:[0-9;]*;)?(?:3[0-8]|9[0-7]|4[0-8]|10[0-7])(?:;[0-9;]*)?m")
"""An ANSI sequence that sets a colour (NO_COLOR forbids these; bold and underline are allowed)."""


def _run(
    home: Path, args: list[str | Path], *, tty: str, env: dict[str, str] | None = None
) -> tuple[int, bytes, bytes]:
    """Run ``evidencectl ARGS`` with ``tty`` ("stdout", "stderr" or "none") on a pty; return the exit code, what
    reached the terminal and what reached the pipe (stderr when both are pipes)."""
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    environment = {**os.environ, "EVIDENCECTL_HOME": str(home), "COLUMNS": "120", "TERM": "xterm-256color"}
    environment.pop("NO_COLOR", None)
    environment.update(env or {})
    environment.pop("FORCE_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "evidencectl", *map(str, args)],
        stdout=slave if tty == "stdout" else subprocess.PIPE if tty == "stderr" else subprocess.DEVNULL,
        stderr=slave if tty == "stderr" else subprocess.PIPE,
        env=environment,
    )
    os.close(slave)
    if tty == "none":
        _out, err = proc.communicate()
        os.close(master)
        return proc.returncode, b"", err
    seen = b""
    pipe = proc.stdout or proc.stderr
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        chunk = b""
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed its side
                chunk = b""
        seen += chunk
        if not chunk and proc.poll() is not None:
            break
    piped = pipe.read() if pipe is not None else b""
    proc.wait()
    os.close(master)
    return proc.returncode, seen, piped


@pytest.fixture
def package(tmp_path: Path, evidencectl_home: Path) -> Path:
    folder = tmp_path / "case1"
    folder.mkdir()
    (folder / "录音-0412.wav").write_bytes(os.urandom(48 << 20))
    (folder / "note.txt").write_text("note\n")
    out = tmp_path / "case1.evp"
    code, _seen, _piped = _run(evidencectl_home, ["deposit", folder, "-o", out], tty="none")
    assert code == 0
    return out


def test_verify_on_a_terminal_is_coloured(package: Path, evidencectl_home: Path) -> None:
    code, seen, _ = _run(evidencectl_home, ["verify", package], tty="stdout")
    assert code == 0 and b"PASSED" in seen and COLOUR.search(seen)


def test_no_color_is_honoured_on_a_terminal(package: Path, evidencectl_home: Path, tmp_path: Path) -> None:
    no_color = {"NO_COLOR": "1"}
    code, seen, _ = _run(evidencectl_home, ["verify", package], tty="stdout", env=no_color)
    assert code == 0 and b"Verdict: PASSED" in seen and not COLOUR.search(seen), seen[:300]
    code, seen, _ = _run(evidencectl_home, ["deposit", package, "-o", tmp_path / "x.evp"], tty="stdout", env=no_color)
    assert code == 0 and b"Deposit EVD-" in seen and not COLOUR.search(seen)
    code, seen, _ = _run(evidencectl_home, ["cases"], tty="stdout", env=no_color)
    assert code == 0 and b"EVD-" in seen and not COLOUR.search(seen)
    code, seen, _ = _run(evidencectl_home, ["verify", package], tty="stderr", env=no_color)
    assert code == 0 and b"verifying" in seen and not COLOUR.search(seen)  # the progress bar too


def test_pipes_get_no_colour_and_no_progress(package: Path, evidencectl_home: Path) -> None:
    code, _seen, piped_out = _run(evidencectl_home, ["verify", package], tty="stderr")
    assert code == 0 and b"Verdict: PASSED" in piped_out and not SGR.search(piped_out)
    code, _seen, piped_err = _run(evidencectl_home, ["verify", package], tty="stdout")
    assert code == 0 and piped_err == b""


def test_deposit_progress_on_a_terminal_has_total_percentage_name_and_time_left(
    tmp_path: Path, evidencectl_home: Path, package: Path
) -> None:  # noqa: ARG001
    folder = tmp_path / "case1"
    code, seen, piped = _run(
        evidencectl_home, ["deposit", folder, "-o", tmp_path / "again.evp", "--json"], tty="stderr"
    )
    assert code == 0 and json.loads(piped)["items"] == 2  # stdout is still exactly one JSON document
    text = SGR.sub(b"", seen).decode("utf-8", "replace")
    assert "hashing" in text and "%" in text
    assert re.search(r"/50\.\d MB", text), text[-500:]  # the total: 48 MiB and a note
    assert "录音-0412.wav" in text or "note.txt" in text
    assert re.search(r"\d:\d\d:\d\d", text)  # time left (or taken)
    speeds = re.findall(rb"(\x1b\[[0-9;]*m)[0-9.]+ [kMG]?B/s", seen)
    assert speeds and not any(code in (b"\x1b[31m", b"\x1b[91m", b"\x1b[1;31m") for code in speeds)  # not red


def test_progress_bar_drops_control_characters_of_hostile_names() -> None:
    from evidencectl.cli.progress_bar import short_name

    assert short_name("case1/\x1b[2J\x1b]0;pwned\x07evil\u202e.txt") == "case1/[2J]0;pwnedevil.txt"
    long = "a/" + "很长的文件名" * 10 + ".pdf"
    assert len(short_name(long)) == 32 and short_name(long).startswith("…") and short_name(long).endswith(".pdf")


def test_verify_progress_on_a_terminal_only(package: Path, evidencectl_home: Path) -> None:
    code, seen, piped = _run(evidencectl_home, ["verify", package], tty="stderr")
    text = SGR.sub(b"", seen).decode("utf-8", "replace")
    assert code == 0 and "verifying" in text and "%" in text and "/50.3 MB" in text, text[-500:]
    assert b"verifying" not in piped
    code, _seen, piped_err = _run(evidencectl_home, ["verify", package], tty="none")
    assert code == 0 and piped_err == b""


def test_report_progress_on_a_terminal(package: Path, evidencectl_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.html"
    code, seen, _ = _run(evidencectl_home, ["report", package, "-o", out], tty="stderr")
    text = SGR.sub(b"", seen).decode("utf-8", "replace")
    assert code == 0 and out.is_file() and "verifying" in text and "%" in text
