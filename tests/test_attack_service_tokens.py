"""Attacks on the service's API tokens: read from the registry file, kept after their user is removed (in any
of four worker processes), or smuggled in Authorization headers the service should not accept.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from service_server import Server, run_cli, start_server

DIGEST = "0" * 64


def _issued(home: Path, *args: str) -> dict[str, str]:
    done = run_cli(home, "users", *args, "--json")
    assert done.returncode == 0, done.stderr
    doc: dict[str, str] = json.loads(done.stdout)
    return doc


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    """Four worker processes on one SQLite registry; a depositor, an auditor and a second auditor token."""
    home = tmp_path_factory.mktemp("tokens") / "home"
    home.mkdir()
    tokens = {
        "depositor": _issued(home, "add", "张律师", "--role", "depositor")["token"],
        "auditor": _issued(home, "add", "审计", "--role", "auditor")["token"],
    }
    tokens["auditor2"] = _issued(home, "token", "审计")["token"]
    srv = start_server(home, "--workers", "4", "--verify-rate", "0", "--resume-interval", "0")
    yield srv, tokens
    srv.stop()


def _lookup(srv: Server, headers: list[tuple[str, str]]) -> int:
    host, port = srv.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.putrequest("GET", f"/api/v1/lookup?sha256={DIGEST}")
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        conn.close()


def test_no_token_is_in_the_registry_files_in_clear(service: tuple[Server, dict[str, str]]) -> None:
    import hashlib

    srv, tokens = service
    assert _lookup(srv, [("Authorization", f"Bearer {tokens['auditor']}")]) == 200
    stored = b"".join(p.read_bytes() for p in srv.home.glob("registry.sqlite*"))
    for token in tokens.values():
        secret = token.rsplit("_", 1)[-1] if token.count("_") == 2 else token.split("_", 2)[2]
        assert token.encode() not in stored and secret.encode() not in stored
        assert secret[:16].encode() not in stored  # not even a prefix of the secret
        assert hashlib.sha256(token.encode()).hexdigest().encode() in stored  # what is kept instead


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("bearer {t}", 200),  # RFC 9110 §11.1: the scheme is case-insensitive
        ("BEARER {t}", 200),
        ("Bearer  {t}", 200),  # extra spaces around the token are trimmed, nothing else
        ("Bearer {t} ", 200),
        ("Bearer {t} extra", 401),
        ("Bearer{t}", 401),
        ("Bearer", 401),
        ("Bearer {t}\t", 200),
        ("Token {t}", 401),
        ("Basic {t}", 401),
        ("{t}", 401),
        ("Bearer {t}, Bearer {t}", 401),
        ("Bearer {t}x", 401),
        ("Bearer x{t}", 401),
    ],
)
def test_authorization_header_variants(service: tuple[Server, dict[str, str]], header: str, status: int) -> None:
    srv, tokens = service
    assert _lookup(srv, [("Authorization", header.format(t=tokens["auditor"]))]) == status


def test_two_authorization_headers_are_refused_whichever_comes_first(service: tuple[Server, dict[str, str]]) -> None:
    """A depositor's and an auditor's token together: which one counts would depend on the hop that reads
    them (a proxy may keep the last, the service the first). RFC 9110 makes Authorization a single field;
    the request is refused rather than guessed at."""
    srv, tokens = service
    for first, second in (("depositor", "auditor"), ("auditor", "depositor"), ("auditor", "auditor2")):
        headers = [("Authorization", f"Bearer {tokens[first]}"), ("Authorization", f"Bearer {tokens[second]}")]
        assert _lookup(srv, headers) == 401, (first, second)


def test_a_token_in_the_query_string_is_not_accepted(service: tuple[Server, dict[str, str]]) -> None:
    srv, tokens = service
    answer = requests.get(
        f"{srv.url}/api/v1/lookup", params={"sha256": DIGEST, "access_token": tokens["auditor"]}, timeout=30
    )
    assert answer.status_code == 401


def test_a_removed_users_tokens_are_refused_at_once_by_all_four_workers(service: tuple[Server, dict[str, str]]) -> None:
    srv, _ = service
    issued = _issued(srv.home, "add", "临时审计", "--role", "auditor")
    second = _issued(srv.home, "token", "临时审计")["token"]
    # New connections each time: the kernel spreads them over the four processes.
    assert {_lookup(srv, [("Authorization", f"Bearer {t}")]) for t in (issued["token"], second) * 12} == {200}
    assert run_cli(srv.home, "users", "remove", "临时审计").returncode == 0
    assert {_lookup(srv, [("Authorization", f"Bearer {t}")]) for t in (issued["token"], second) * 20} == {401}
    # A new user of the same name gets new tokens; the old ones stay dead.
    _issued(srv.home, "add", "临时审计", "--role", "auditor")
    assert {_lookup(srv, [("Authorization", f"Bearer {t}")]) for t in (issued["token"], second) * 6} == {401}
