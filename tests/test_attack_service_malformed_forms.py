"""Attacks that try to crash ``POST /api/v1/deposits`` with forms no browser or curl would send: broken
boundaries, non-UTF-8 fields, file names that are paths, header injections, bidi, 10,000 characters,
duplicates, no file at all. Each must be a 4xx problem+json with nothing deposited and nothing left on disk;
never a 500 or a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from service_server import Server, run_cli, start_server


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """A server with one depositor."""
    home = tmp_path_factory.mktemp("forms") / "home"
    home.mkdir()
    done = run_cli(home, "users", "add", "张律师", "--role", "depositor", "--json")
    assert done.returncode == 0, done.stderr
    srv = start_server(home, "--verify-rate", "0", "--resume-interval", "0")
    yield srv, json.loads(done.stdout)["token"]
    srv.stop()


def _post(srv: Server, token: str, body: bytes, content_type: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
    return requests.post(f"{srv.url}/api/v1/deposits", data=body, headers=headers, timeout=60)


def _deposits(home: Path) -> int:
    done = run_cli(home, "log", "--json")
    assert done.returncode == 0, done.stderr
    return sum(1 for e in json.loads(done.stdout)["entries"] if e["event"].startswith("deposit"))


def _file(name: bytes, content: bytes = b"x\n", boundary: bytes = b"b") -> bytes:
    return (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="files"; filename="' + name + b'"\r\n\r\n'
        + content + b"\r\n"
    )  # fmt: skip


def _field(name: bytes, value: bytes, boundary: bytes = b"b") -> bytes:
    return b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + name + b'"\r\n\r\n' + value + b"\r\n"


END = b"--b--\r\n"
FORM = "multipart/form-data; boundary=b"

BODIES: dict[str, tuple[bytes, str]] = {
    "no-boundary-parameter": (_file(b"a.txt") + END, "multipart/form-data"),
    "empty-boundary": (_file(b"a.txt") + END, 'multipart/form-data; boundary=""'),
    "boundary-not-in-body": (_file(b"a.txt", boundary=b"other") + b"--other--\r\n", FORM),
    "no-closing-boundary": (_file(b"a.txt"), FORM),
    "cut-inside-the-last-file": (_file(b"a.txt") + _file(b"b.txt", b"half of the cont")[:-2], FORM),
    "garbage-after-boundary": (b"--b garbage\r\n\r\n" + END, FORM),
    "only-the-closing-boundary": (END, FORM),
    "empty-body": (b"", FORM),
    "part-without-disposition": (b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" + END, FORM),
    "header-without-colon": (b"--b\r\nContent-Disposition form-data\r\n\r\nx\r\n" + END, FORM),
    "nine-headers-in-a-part": (
        b"--b\r\n"
        + b"".join(b"X-%d: 1\r\n" % i for i in range(9))
        + b'Content-Disposition: form-data; name="files"; filename="a.txt"\r\n\r\nx\r\n'
        + END,
        FORM,
    ),  # fmt: skip
    "case-not-utf8": (_field(b"case", b"\xff\xfe\xfa") + _file(b"a.txt") + END, FORM),
    "note-with-nul-is-kept-or-refused": (_field(b"note", b"a\x00b") + END, FORM),
    "field-name-not-utf8": (_field(b"\xff", b"v") + _file(b"a.txt") + END, FORM),
    "field-given-twice": (_field(b"case", b"1") + _field(b"case", b"2") + _file(b"a.txt") + END, FORM),
    "unknown-field-owner": (_field(b"owner", "李律师".encode()) + _file(b"a.txt") + END, FORM),
    "files-part-without-filename": (_field(b"files", b"not a file") + END, FORM),
    "hash-only-not-a-boolean": (_field(b"hash_only", b"maybe") + _file(b"a.txt") + END, FORM),
    "no-files": (_field(b"case", b"1") + END, FORM),
    "traversal": (_file(b"../../../../tmp/evidencectl-attack.txt") + END, FORM),
    "absolute-etc-passwd": (_file(b"/etc/passwd") + END, FORM),
    "backslash-traversal": (_file(b"..\\..\\windows\\win.ini") + END, FORM),
    "drive-letter": (_file(b"C:evil.txt") + END, FORM),
    "nul-in-name": (_file(b"a\x00.txt") + END, FORM),
    "percent-encoded-traversal-in-filename-star": (
        b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd\r\n\r\n"
        b"x\r\n" + END,
        FORM,
    ),  # fmt: skip
    "bare-lf-in-name": (_file(b"a\nb.txt") + END, FORM),
    "bidi-override": (_file("invoice\u202etxt.exe".encode()) + END, FORM),
    "bidi-isolate": (_file("a\u2066b\u2069.txt".encode()) + END, FORM),
    "name-of-10000-chars": (_file(b"n" * 10_000) + END, FORM),
    "name-of-300-bytes": (_file("名".encode() * 100) + END, FORM),
    "duplicate-names": (_file(b"same.txt") + _file(b"same.txt") + END, FORM),
    "duplicate-names-nfc-nfd": (_file("é.txt".encode()) + _file("e\u0301.txt".encode()) + END, FORM),
    "empty-name": (_file(b"") + END, FORM),
    "dot-name": (_file(b".") + END, FORM),
    "name-not-utf8": (_file(b"\xc0\xaf.txt") + END, FORM),
}


@pytest.mark.parametrize("case", list(BODIES))
def test_a_malformed_form_is_a_4xx_problem_never_a_500_and_deposits_nothing(
    service: tuple[Server, str], case: str
) -> None:
    srv, token = service
    body, content_type = BODIES[case]
    before = _deposits(srv.home)
    answer = _post(srv, token, body, content_type)
    if case == "note-with-nul-is-kept-or-refused":  # no file: refused whatever the note holds
        assert answer.status_code == 422, answer.text
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text)
    assert answer.headers["content-type"] == "application/problem+json", answer.text
    doc = answer.json()
    assert doc["type"].startswith("urn:evidencectl:problem:") and "Traceback" not in answer.text
    assert str(srv.home) not in answer.text  # no server path in the message
    assert _deposits(srv.home) == before
    assert list((srv.home / "service" / "uploads").iterdir()) == []
    assert not Path("/tmp/evidencectl-attack.txt").exists()


def test_names_that_look_like_package_members_stay_items_and_the_package_verifies(
    service: tuple[Server, str], tmp_path: Path
) -> None:
    """``manifest.json``, ``mimetype``, ``...`` and a name with quotes are ordinary file names: kept as the
    items' names, they must not replace the package's own members."""
    srv, token = service
    names = [b"manifest.json", b"mimetype", b"...", b'it\'s \\"quoted\\".txt', "合同 (1).pdf".encode()]
    body = b"".join(_file(n, b"content of " + n + b"\n") for n in names) + END
    answer = _post(srv, token, body, FORM)
    assert answer.status_code == 201, answer.text
    doc = answer.json()
    package = requests.get(
        srv.url + doc["package_url"], headers={"Authorization": f"Bearer {token}"}, timeout=60
    ).content
    (tmp_path / "p.evp").write_bytes(package)
    listed = json.loads(run_cli(srv.home, "inspect", tmp_path / "p.evp", "--json").stdout)
    kept = sorted(i["name"] for i in listed["items"])
    assert len(kept) == len(names) and "manifest.json" in kept and "mimetype" in kept, kept
    verified = run_cli(srv.home, "verify", tmp_path / "p.evp", "--json")
    assert json.loads(verified.stdout)["verdict"] == "PASSED", verified.stdout[-1500:]


def _items(srv: Server, token: str, answer: requests.Response, tmp_path: Path) -> list[str]:
    assert answer.status_code == 201, answer.text
    package = requests.get(
        srv.url + answer.json()["package_url"], headers={"Authorization": f"Bearer {token}"}, timeout=60
    ).content
    (tmp_path / "p.evp").write_bytes(package)
    listed = json.loads(run_cli(srv.home, "inspect", tmp_path / "p.evp", "--json").stdout)
    return [i["name"] for i in listed["items"]]


def test_a_crlf_in_a_file_name_ends_the_header_and_injects_nothing_into_the_item_name(
    service: tuple[Server, str], tmp_path: Path
) -> None:
    """The CR LF ends the Content-Disposition line (the quote is left open, so the parser keeps it: the
    name is ``"a.txt``); the lines after it are the part's other headers, which are ignored."""
    srv, token = service
    body = _file(b"a.txt\r\nContent-Type: text/html\r\nX-Evil: 1") + END
    names = _items(srv, token, _post(srv, token, body, FORM), tmp_path)
    assert names == ['"a.txt'], names


def test_a_boundary_longer_than_rfc_2046_allows_is_accepted_whole(service: tuple[Server, str], tmp_path: Path) -> None:
    srv, token = service
    boundary = b"z" * 200
    body = _file(b"a.txt", b"all of it\n", boundary=boundary) + b"--" + boundary + b"--\r\n"
    answer = _post(srv, token, body, "multipart/form-data; boundary=" + boundary.decode())
    assert _items(srv, token, answer, tmp_path) == ["a.txt"]
