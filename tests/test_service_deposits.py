"""Deposits over the API: ``POST /api/v1/deposits`` and ``GET /api/v1/deposits/{id}`` (+ package, certificate),
against a real ``evidencectl serve`` on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from postgres_server import PostgresServer
from service_server import ROOT, Server, run_cli, start_server

CASE = "（2026）渝0103民初1234号"
SCHEMA = json.loads((ROOT / "evidencectl" / "schemas" / "deposit-result.schema.json").read_text(encoding="utf-8"))


def token_of(home: Path, name: str, role: str) -> str:
    """Add a user and return its token."""
    done = run_cli(home, "users", "add", name, "--role", role, "--json")
    assert done.returncode == 0, done.stderr
    token: str = json.loads(done.stdout)["token"]
    return token


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of ``token``."""
    return {"Authorization": f"Bearer {token}"}


def post_deposit(srv: Server, token: str | None, files: list[tuple[str, bytes]], **fields: str) -> requests.Response:
    """POST a deposit form as curl -F would."""
    return requests.post(
        f"{srv.url}/api/v1/deposits",
        headers=bearer(token) if token else {},
        data=fields,
        files=[("files", (name, content)) for name, content in files],
        timeout=120,
    )


def problem(answer: requests.Response, status: int, name: str) -> dict[str, Any]:
    """The problem+json document of ``answer``, checked to be ``status`` / ``name``."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    doc: dict[str, Any] = answer.json()
    assert doc["type"] == f"urn:evidencectl:problem:{name}"
    return doc


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, dict[str, str]]]:
    """A service with two depositors (张律师, 李律师) and an auditor; two workers on PostgreSQL."""
    home = tmp_path_factory.mktemp(f"deposits-{request.param}") / "home"
    home.mkdir()
    if request.param == "postgres":
        postgres: PostgresServer = request.getfixturevalue("postgres")
        (home / "config.toml").write_text(f'[registry]\nurl = "{postgres.new_database()}"\n', encoding="utf-8")
    tokens = {
        n: token_of(home, n, r) for n, r in (("张律师", "depositor"), ("李律师", "depositor"), ("审计", "auditor"))
    }
    srv = start_server(home, "--workers", "2" if request.param == "postgres" else "1", "--verify-rate", "0")
    yield srv, tokens
    srv.stop()


def test_a_deposit_over_the_api_answers_the_deposit_json_and_its_package_verifies_elsewhere(
    service: tuple[Server, dict[str, str]], tmp_path: Path
) -> None:
    srv, tokens = service
    files = [("合同.pdf", b"%PDF-1.4 contract\n"), ("chat log.txt", "聊天记录\n".encode())]
    answer = post_deposit(srv, tokens["张律师"], files, case=CASE, depositor="张律师", note="起诉材料")
    assert answer.status_code == 201, answer.text
    doc = answer.json()
    urls = {k: doc.pop(k) for k in ("package_url", "certificate_url")}
    jsonschema.validate(doc, SCHEMA)  # exactly the deposit --json document, plus the two URLs
    assert set(doc) == set(SCHEMA["properties"]) and doc["status"] == "complete" and doc["items"] == 2
    assert not doc["package"].startswith("/") and str(srv.home) not in answer.text
    assert answer.headers["location"] == f"/api/v1/deposits/{doc['deposit_id']}"
    package = requests.get(srv.url + urls["package_url"], headers=bearer(tokens["张律师"]), timeout=60)
    assert package.status_code == 200 and package.headers["content-type"] == "application/vnd.evidencectl.package+zip"
    (tmp_path / "case.evp").write_bytes(package.content)
    listed = run_cli(srv.home, "inspect", tmp_path / "case.evp", "--json")
    assert listed.returncode == 0, listed.stderr
    names = {i["name"] for i in json.loads(listed.stdout)["items"]}
    assert names == {"合同.pdf", "chat log.txt"}, names
    verified = run_cli(srv.home, "verify", tmp_path / "case.evp", "--json")
    assert json.loads(verified.stdout)["verdict"] == "PASSED", verified.stdout[-2000:]
    record = requests.get(
        f"{srv.url}/api/v1/deposits/{doc['deposit_id']}", headers=bearer(tokens["张律师"]), timeout=30
    )
    assert record.status_code == 200
    assert {k: record.json()[k] for k in ("status", "case", "owner", "items", "roots")} == {
        "status": "complete", "case": CASE, "owner": "张律师", "items": 2, "roots": doc["roots"]
    }  # fmt: skip
    assert list((srv.home / "service" / "uploads").iterdir()) == []  # the spooled files are gone


def test_the_deposit_is_in_the_custody_log_under_the_user_who_made_it(service: tuple[Server, dict[str, str]]) -> None:
    srv, tokens = service
    doc = post_deposit(srv, tokens["李律师"], [("a.txt", b"a\n")], case=CASE).json()
    entries = [e for e in _custody(srv.home) if e["deposit_id"] == doc["deposit_id"]]
    assert [(e["event"], e["actor"]) for e in entries] == [("deposit", "api:李律师")]
    shown = run_cli(srv.home, "log")
    assert shown.returncode == 0 and "api:李律师" in shown.stdout, shown.stdout[-1500:]


def _custody(home: Path) -> list[dict[str, Any]]:
    done = run_cli(home, "log", "--json")
    assert done.returncode == 0, done.stderr
    entries: list[dict[str, Any]] = json.loads(done.stdout)["entries"]
    return entries


def test_another_depositors_deposit_is_404_exactly_as_one_that_does_not_exist(
    service: tuple[Server, dict[str, str]],
) -> None:
    srv, tokens = service
    deposit_id = post_deposit(srv, tokens["张律师"], [("private.txt", b"secret\n")]).json()["deposit_id"]
    for tail in ("", "/package", "/certificate.pdf"):
        theirs = requests.get(
            f"{srv.url}/api/v1/deposits/{deposit_id}{tail}", headers=bearer(tokens["李律师"]), timeout=30
        )
        nobody = requests.get(
            f"{srv.url}/api/v1/deposits/EVD-20260101-00000000{tail}", headers=bearer(tokens["李律师"]), timeout=30
        )
        a, b = problem(theirs, 404, "not-found"), problem(nobody, 404, "not-found")
        assert a["detail"].replace(deposit_id, "X") == b["detail"].replace("EVD-20260101-00000000", "X")
    assert "private" not in theirs.text
    audited = requests.get(f"{srv.url}/api/v1/deposits/{deposit_id}", headers=bearer(tokens["审计"]), timeout=30)
    assert audited.status_code == 200 and audited.json()["owner"] == "张律师"


def test_a_depositor_looks_up_only_their_own_deposits_an_auditor_all(service: tuple[Server, dict[str, str]]) -> None:
    import hashlib

    srv, tokens = service
    shared = b"the same exhibit, deposited by both firms\n"
    mine = post_deposit(srv, tokens["张律师"], [("exhibit.txt", shared)]).json()["deposit_id"]
    theirs = post_deposit(srv, tokens["李律师"], [("exhibit.txt", shared)]).json()["deposit_id"]
    query = {"sha256": hashlib.sha256(shared).hexdigest()}

    def found(token: str) -> set[str]:
        answer = requests.get(f"{srv.url}/api/v1/lookup", params=query, headers=bearer(token), timeout=30)
        assert answer.status_code == 200, answer.text
        return {d["deposit_id"] for d in answer.json()["deposits"]}

    assert found(tokens["张律师"]) == {mine}
    assert found(tokens["李律师"]) == {theirs}
    assert found(tokens["审计"]) == {mine, theirs}


def test_no_token_is_401_and_an_auditor_may_not_deposit_403_before_the_body_is_read(
    service: tuple[Server, dict[str, str]],
) -> None:
    srv, tokens = service
    problem(post_deposit(srv, None, [("a.txt", b"a")]), 401, "unauthorized")
    problem(post_deposit(srv, tokens["审计"], [("a.txt", b"a")]), 403, "forbidden")
    problem(requests.get(f"{srv.url}/api/v1/deposits/EVD-20260101-00000000", timeout=30), 401, "unauthorized")
    # Refused from the headers alone: a stranger's gigabyte is never spooled.
    head = (
        "POST /api/v1/deposits HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        "Content-Length: 1000000000\r\n\r\n"
    )
    with socket.create_connection(
        (srv.url.split("//")[1].split(":")[0], int(srv.url.rsplit(":", 1)[1])), timeout=10
    ) as s:
        s.sendall(head.encode())
        assert s.recv(200).startswith(b"HTTP/1.1 401")


def test_a_deposit_that_is_not_a_form_is_415(service: tuple[Server, dict[str, str]]) -> None:
    srv, tokens = service
    answer = requests.post(
        f"{srv.url}/api/v1/deposits",
        data=b"just bytes",
        headers={**bearer(tokens["张律师"]), "Content-Type": "application/octet-stream"},
        timeout=30,
    )
    problem(answer, 415, "unsupported-media-type")


def _raw_form(names: list[bytes]) -> tuple[bytes, str]:
    parts = b"".join(
        b'--XyZ\r\nContent-Disposition: form-data; name="files"; filename="' + n + b'"\r\n'
        b"Content-Type: text/plain\r\n\r\nowned\r\n"
        for n in names
    )
    return parts + b"--XyZ--\r\n", "multipart/form-data; boundary=XyZ"


@pytest.mark.parametrize(
    "name",
    [
        b"../../../../tmp/evidencectl-owned.txt",
        b"/etc/cron.d/owned",
        b"sub/dir.txt",
        b"..",
        b"nul\x00.txt",
        b"bell\x07.txt",
        "invoice\u202egpj.exe".encode(),
        "zero\u200bwidth.txt".encode(),
        b"line\nbreak.txt",
        b"\xff\xfe.txt",
        "长".encode() * 90,
    ],
    ids=[
        "traversal",
        "absolute",
        "subfolder",
        "dotdot",
        "nul",
        "control",
        "bidi",
        "zero-width",
        "newline",
        "not-utf8",
        "too-long",
    ],
)
def test_file_names_that_are_paths_or_hold_hidden_characters_are_refused_and_nothing_is_deposited(
    service: tuple[Server, dict[str, str]], name: bytes
) -> None:
    srv, tokens = service
    before = len(_custody(srv.home))
    body, kind = _raw_form([b"fine.txt", name])
    answer = requests.post(
        f"{srv.url}/api/v1/deposits", data=body, headers={**bearer(tokens["张律师"]), "Content-Type": kind}, timeout=30
    )
    problem(answer, 422, "invalid-request")
    assert len(_custody(srv.home)) == before  # no deposit recorded
    assert not Path("/tmp/evidencectl-owned.txt").exists() and not Path("/etc/cron.d/owned").exists()
    assert list((srv.home / "service" / "uploads").iterdir()) == []


def test_two_files_with_the_same_name_are_refused_422(service: tuple[Server, dict[str, str]]) -> None:
    srv, tokens = service
    doc = problem(post_deposit(srv, tokens["张律师"], [("x.txt", b"1"), ("x.txt", b"2")]), 422, "invalid-request")
    assert "x.txt" in doc["detail"]
    nfc, nfd = "é.txt", "e\u0301.txt"  # one name to a reader, two byte strings
    problem(post_deposit(srv, tokens["张律师"], [(nfc, b"1"), (nfd, b"2")]), 422, "invalid-request")


def test_the_certificate_is_a_pdf_rendered_once_and_then_served_from_its_cache(
    service: tuple[Server, dict[str, str]],
) -> None:
    srv, tokens = service
    deposit_id = post_deposit(srv, tokens["张律师"], [("c.txt", b"certify me\n")], case=CASE).json()["deposit_id"]
    url = f"{srv.url}/api/v1/deposits/{deposit_id}/certificate.pdf"
    first = requests.get(url, headers=bearer(tokens["张律师"]), timeout=120)
    assert first.status_code == 200 and first.headers["content-type"] == "application/pdf"
    assert first.content.startswith(b"%PDF-")
    cached = srv.home / "service" / "certificates" / f"{deposit_id}.pdf"
    stamp = cached.stat().st_mtime_ns
    started = time.monotonic()
    second = requests.get(url, headers=bearer(tokens["审计"]), timeout=120)
    assert second.content == first.content and cached.stat().st_mtime_ns == stamp
    assert time.monotonic() - started < 2
    text = subprocess.run(["pdftotext", str(cached), "-"], capture_output=True, text=True, check=False).stdout
    assert deposit_id in text.replace("\n", "") or not text  # pdftotext absent: the bytes are checked above


def test_a_deposit_while_its_tsa_is_down_is_202_pending_and_the_server_completes_it_later(tmp_path: Path) -> None:
    import socket as sockets
    import subprocess

    from service_server import _env

    with sockets.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home, tsa_home = tmp_path / "server", tmp_path / "tsa"
    home.mkdir()
    (home / "config.toml").write_text(f'[service]\ntsa = ["http://127.0.0.1:{port}/"]\n', encoding="utf-8")
    token = token_of(home, "张律师", "depositor")
    srv = start_server(home, "--resume-interval", "1")
    tsa = None
    try:
        answer = post_deposit(srv, token, [("late.txt", b"deposited while the TSA was down\n")], case=CASE)
        assert answer.status_code == 202, answer.text
        doc = answer.json()
        assert doc["status"] == "pending" and doc["pending"][0]["kind"] == "tsa"
        jsonschema.validate({k: v for k, v in doc.items() if not k.endswith("_url")}, SCHEMA)
        url = f"{srv.url}/api/v1/deposits/{doc['deposit_id']}"
        problem(requests.get(url + "/package", headers=bearer(token), timeout=30), 409, "not-ready")
        assert requests.get(url, headers=bearer(token), timeout=30).json()["status"] == "pending"
        tsa = subprocess.Popen(
            [sys.executable, "-m", "evidencectl", "tsa", "serve", "--port", str(port)],
            env=_env(tsa_home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline, record = time.monotonic() + 60, {}
        while time.monotonic() < deadline:
            record = requests.get(url, headers=bearer(token), timeout=30).json()
            if record["status"] == "complete":
                break
            time.sleep(0.5)
        assert record["status"] == "complete", record
        package = requests.get(url + "/package", headers=bearer(token), timeout=30)
        assert package.status_code == 200 and package.content.startswith(b"PK")
        events = [(e["event"], e["actor"]) for e in _custody(home) if e["deposit_id"] == doc["deposit_id"]]
        assert events[0] == ("deposit-pending", "api:张律师") and events[-1] == ("resume-complete", "service:resume")
        assert not list((home / "service" / "deposits").glob(".*.partial"))  # the staging file became the package
    finally:
        srv.stop()
        if tsa is not None:
            tsa.terminate()
            tsa.wait(timeout=20)


def test_a_user_with_a_key_of_their_own_gets_deposits_signed_with_it_and_the_passphrase_stays_secret(
    tmp_path: Path,
) -> None:
    import os

    secret = "correct horse battery staple 律师"
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('[service]\nkey_passphrase_env = "EVD_USER_KEYS"\n', encoding="utf-8")
    signer, plain = token_of(home, "张律师", "depositor"), token_of(home, "李律师", "depositor")
    os.environ["EVD_USER_KEYS"] = secret  # read by the CLI below and by the server it starts
    try:
        made = run_cli(home, "users", "key", "张律师", "--generate")
        assert made.returncode == 0, made.stderr
        assert secret not in made.stdout + made.stderr
        key_file = home / "service" / "keys"
        [key] = key_file.glob("*.key.pem")
        assert b"ENCRYPTED" in key.read_bytes() and key.stat().st_mode & 0o077 == 0
        srv = start_server(home)
    finally:
        del os.environ["EVD_USER_KEYS"]
    try:
        signed = post_deposit(srv, signer, [("a.txt", b"signed by zhang\n")]).json()
        unsigned = post_deposit(srv, plain, [("b.txt", b"not signed\n")]).json()
        reports = {}
        for name, doc, token in (("signed", signed, signer), ("unsigned", unsigned, plain)):
            package = requests.get(srv.url + doc["package_url"], headers=bearer(token), timeout=60)
            (tmp_path / f"{name}.evp").write_bytes(package.content)
            done = run_cli(home, "verify", tmp_path / f"{name}.evp", "--json")
            reports[name] = {c["check"]: c for c in json.loads(done.stdout)["checks"]}
        check = reports["signed"]["signature:manifest"]
        assert check["status"] == "PASSED" and "张律师" in check["detail"], check
        assert "signature:manifest" not in reports["unsigned"]
    finally:
        srv.stop()
    stderr = srv.proc.stderr.read() if srv.proc.stderr else ""
    assert secret not in stderr and secret not in json.dumps(_custody(home), ensure_ascii=False)
    assert next((e["event"], e["actor"][:6]) for e in _custody(home) if e["event"] == "user-key") == (
        "user-key",
        "local:",
    )


def test_a_key_the_server_cannot_open_is_one_line_without_the_passphrase_and_nothing_is_deposited(
    tmp_path: Path,
) -> None:
    import os

    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('[service]\nkey_passphrase_env = "EVD_USER_KEYS2"\n', encoding="utf-8")
    token = token_of(home, "张律师", "depositor")
    os.environ["EVD_USER_KEYS2"] = "the right passphrase, long enough"
    try:
        assert run_cli(home, "users", "key", "张律师", "--generate").returncode == 0
        os.environ["EVD_USER_KEYS2"] = "a wrong passphrase, long enough"
        srv = start_server(home)
    finally:
        del os.environ["EVD_USER_KEYS2"]
    try:
        answer = post_deposit(srv, token, [("a.txt", b"x")])
        doc = problem(answer, 500, "internal")
        assert "张律师" in doc["detail"] and "passphrase, long" not in answer.text and "\n" not in doc["detail"]
        assert not list((home / "service" / "deposits").glob("*.evp"))
    finally:
        srv.stop()


def test_a_hash_only_deposit_keeps_the_original_out_of_the_package(service: tuple[Server, dict[str, str]]) -> None:
    import zipfile
    from io import BytesIO

    srv, tokens = service
    original = b"a medical record that must not travel with the package\n"
    answer = post_deposit(srv, tokens["张律师"], [("record.txt", original)], hash_only="true")
    assert answer.status_code == 201, answer.text
    package = requests.get(srv.url + answer.json()["package_url"], headers=bearer(tokens["张律师"]), timeout=60)
    with zipfile.ZipFile(BytesIO(package.content)) as archive:
        assert not any(original in archive.read(n) for n in archive.namelist())
    problem(post_deposit(srv, tokens["张律师"], [("x.txt", b"x")], hash_only="maybe"), 422, "invalid-request")
