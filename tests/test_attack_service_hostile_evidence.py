"""Attacks through the evidence itself: a depositor uploads files that the deposit's collectors open (mails,
mailboxes, Office documents) built to exhaust or crash them. The answer must be a deposit (201) or a 4xx
problem in bounded time, never a 500, and the server must go on answering.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator

import pytest
import requests
from service_server import Server, run_cli, start_server


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """A server with a 64 MiB upload limit and one depositor."""
    home = tmp_path_factory.mktemp("hostile-evidence") / "home"
    home.mkdir()
    done = run_cli(home, "users", "add", "张律师", "--role", "depositor", "--json")
    assert done.returncode == 0, done.stderr
    srv = start_server(home, "--max-upload", "64", "--verify-rate", "0", "--resume-interval", "0")
    yield srv, json.loads(done.stdout)["token"]
    srv.stop()


def _nested_mail(depth: int) -> bytes:
    head = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
    parts = [head]
    for i in range(depth):
        parts.append(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i))
    parts.append(b"Content-Type: text/plain\r\n\r\nbottom\r\n")
    for i in reversed(range(depth)):
        parts.append(b"--b%d--\r\n" % i)
    return b"".join(parts)


def _zip_bomb_docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", b"<Types/>")
        z.writestr("word/document.xml", b"\0" * (512 << 20))  # 512 MiB of zeros in about half a MiB
    return buffer.getvalue()


def _mbox(messages: int) -> bytes:
    one = b"From a@example.com Mon Jan  1 00:00:00 2026\nFrom: a@example.com\nSubject: %d\n\nbody\n\n"
    return b"".join(one % i for i in range(messages))


HOSTILE = {
    "mail-nested-3000-deep.eml": _nested_mail(3000),
    "bomb.docx": _zip_bomb_docx(),
    "mailbox-5000-messages.mbox": _mbox(5000),
    "forwarded-message-loop.eml": b"From: a@x\r\nContent-Type: message/rfc822\r\n\r\n" * 2000 + b"\r\nend\r\n",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_evidence_is_deposited_or_refused_in_bounded_time_never_a_500(
    service: tuple[Server, str], name: str
) -> None:
    srv, token = service
    started = time.monotonic()
    answer = requests.post(
        f"{srv.url}/api/v1/deposits",
        headers={"Authorization": f"Bearer {token}"},
        files=[("files", (name, HOSTILE[name]))],
        timeout=180,
    )
    took = time.monotonic() - started
    assert answer.status_code in (201, 422), answer.text[:500]
    assert took < 120, took
    assert "Traceback" not in answer.text and str(srv.home) not in answer.text
    assert requests.get(srv.url + "/openapi.json", timeout=10).status_code == 200
