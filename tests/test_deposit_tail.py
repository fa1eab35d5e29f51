"""The serial tail of a deposit made cheaper (the proofs, the registry, the workers' stop) refuses what it
refused before and writes what it wrote before."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from asn1crypto import tsp
from postgres_server import Target

from evidencectl import Context
from evidencectl import workers as workers_module
from evidencectl.anchor.ledger import EmbeddedLedger
from evidencectl.crypto.keys import generate_key
from evidencectl.deposit import warmup
from evidencectl.errors import ServiceError
from evidencectl.registry import ItemRow, Registry
from evidencectl.registry.sqlite import ROWS_A_STATEMENT
from evidencectl.timestamp.authority import EmbeddedTSA
from evidencectl.timestamp.request import build_request, check_own_response, check_response

DIGEST = hashlib.sha256(b"exhibit").digest()


def _without_signature(response: bytes) -> bytes:
    """The response with its signature value emptied (ECDSA and SM2 signatures differ on every signing)."""
    parsed = tsp.TimeStampResp.load(response)
    parsed["time_stamp_token"]["content"]["signer_infos"][0]["signature"] = b""
    return bytes(parsed.dump(force=True))


def _facts(response: bytes) -> tuple[int, object, int]:
    info = tsp.TimeStampResp.load(response)["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    return info["serial_number"].native, info["gen_time"].native, info["nonce"].native


@pytest.mark.parametrize("algorithm", ["ecdsa-p256", "sm2"])
@pytest.mark.parametrize("hash_name", ["sha256", "sm3"])
def test_an_own_token_is_the_token_the_der_request_gave(evidencectl_home: Path, algorithm: str, hash_name: str) -> None:
    """No DER request is built and parsed again inside the process: the token is byte for byte the one
    ``respond`` makes from that request (same time, serial and nonce; the signature aside)."""
    tsa = EmbeddedTSA.open(Context(evidencectl_home), algorithm)
    digest = hashlib.new(hash_name, b"exhibit").digest()
    direct = tsa.timestamp(digest, hash_name)
    serial, moment, nonce = _facts(direct)
    request = tsp.TimeStampReq.load(build_request(digest, hash_name, nonce=nonce))
    token = tsa._token(request["message_imprint"], nonce, True, serial=serial, now=moment)
    through_request = bytes(tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump())
    assert _without_signature(direct) == _without_signature(through_request)
    check_response(direct, digest=digest, hash_name=hash_name, nonce=nonce, source="test")


@pytest.fixture
def issued(evidencectl_home: Path) -> tuple[EmbeddedTSA, bytes, int]:
    """A TSA already warmed up (its first token checked in full) and one more token it made, with its nonce."""
    tsa = EmbeddedTSA.open(Context(evidencectl_home))
    tsa.warm_up()
    response = tsa.timestamp(DIGEST, "sha256")
    return tsa, response, _facts(response)[2]


def test_an_own_token_passes_the_checks_kept_for_it(issued: tuple[EmbeddedTSA, bytes, int]) -> None:
    tsa, response, nonce = issued
    check_own_response(response, digest=DIGEST, hash_name="sha256", nonce=nonce, certificate=tsa.tsa_cert, source="t")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"digest": hashlib.sha256(b"other exhibit").digest()}, "another imprint"),
        ({"hash_name": "sha384"}, "another imprint"),
        ({"nonce": 12345}, "nonce"),
    ],
    ids=["other-digest", "other-hash", "other-nonce"],
)
def test_an_own_token_over_another_imprint_or_nonce_is_refused(
    issued: tuple[EmbeddedTSA, bytes, int], change: dict[str, object], words: str
) -> None:
    tsa, response, nonce = issued
    asked: dict[str, object] = {"digest": DIGEST, "hash_name": "sha256", "nonce": nonce, **change}
    with pytest.raises(ServiceError, match=words):
        check_own_response(response, certificate=tsa.tsa_cert, source="local", **asked)  # type: ignore[arg-type]


def test_an_own_token_signed_by_a_key_other_than_the_certificates_is_refused(
    issued: tuple[EmbeddedTSA, bytes, int],
) -> None:
    """A TSA whose key no longer matches its certificate (its key swapped after the first token was
    checked) issues no token the deposit keeps."""
    tsa, _, _ = issued
    tsa.key = generate_key("ecdsa-p256")
    with pytest.raises(ServiceError, match="signature does not verify"):
        tsa.timestamp(DIGEST, "sha256")


def test_an_own_token_checked_against_another_tsas_certificate_is_refused(
    issued: tuple[EmbeddedTSA, bytes, int], tmp_path: Path
) -> None:
    tsa, response, nonce = issued
    other = EmbeddedTSA.open(Context(tmp_path / "other-home"))
    with pytest.raises(ServiceError, match="certificate"):
        check_own_response(
            response, digest=DIGEST, hash_name="sha256", nonce=nonce, certificate=other.tsa_cert, source="local"
        )


def test_an_own_token_altered_after_signing_is_refused(issued: tuple[EmbeddedTSA, bytes, int]) -> None:
    """One changed byte of the TSTInfo (its serial number) no longer matches the signed messageDigest."""
    tsa, response, nonce = issued
    parsed = tsp.TimeStampResp.load(response)
    encap = parsed["time_stamp_token"]["content"]["encap_content_info"]
    info = encap["content"].parsed
    info["serial_number"] = info["serial_number"].native + 1
    encap["content"] = tsp.TSTInfo.load(info.dump(force=True))
    altered = bytes(parsed.dump(force=True))
    assert altered != response
    with pytest.raises(ServiceError, match="messageDigest"):
        check_own_response(
            altered, digest=DIGEST, hash_name="sha256", nonce=nonce, certificate=tsa.tsa_cert, source="local"
        )


def test_the_first_token_of_a_tsa_whose_key_is_not_its_certificates_is_refused(evidencectl_home: Path) -> None:
    """Not warmed up, the first token is checked in full: a key file replaced on disk is caught there."""
    ctx = Context(evidencectl_home)
    EmbeddedTSA.open(ctx)
    key_path = ctx.tsa_dir / "ecdsa-p256" / "tsa.key"
    key_path.unlink()
    key_path.write_bytes(generate_key("ecdsa-p256").private_key_pem(None))
    tsa = EmbeddedTSA.open(ctx)
    with pytest.raises(ServiceError, match="local returned an unusable token"):
        tsa.timestamp(DIGEST, "sha256")
    with pytest.raises(Exception, match="signature does not verify"):
        tsa.warm_up()
    with pytest.raises(ServiceError):  # never marked checked: still the full check
        tsa.timestamp(DIGEST, "sha256")


def _folder(tmp_path: Path, count: int = 600) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(count):  # above intake.MIN_FILES: the workers run, and the warm-up with them
        (folder / f"{i:03}.txt").write_text(f"exhibit {i}\n")
    return folder


def test_a_deposit_whose_tsa_key_is_not_its_certificates_stays_pending(
    cli, evidencectl_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The warm-up fails silently, the deposit's own first token is refused: nothing is published."""
    ctx = Context(evidencectl_home)
    EmbeddedTSA.open(ctx)
    key_path = ctx.tsa_dir / "ecdsa-p256" / "tsa.key"
    key_path.unlink()
    key_path.write_bytes(generate_key("ecdsa-p256").private_key_pem(None))
    monkeypatch.setattr(workers_module, "worker_count", lambda: 2)
    out = tmp_path / "p.evp"
    res = cli("deposit", _folder(tmp_path), "-o", out)
    assert res.code == 5 and "local" in res.err and not out.exists()
    registry = Registry.open(ctx)
    try:
        assert len(registry.deposits("pending")) == 1
    finally:
        registry.close()


def test_warming_up_never_creates_an_embedded_ledger(tmp_path: Path) -> None:
    """Creating the ledger's key and id is the deposit's own job: an empty data directory stays empty."""
    warmed: dict[str, object] = {}
    warmup.preload_services(Context(tmp_path), [], warmed, ["local"])
    assert list(tmp_path.iterdir()) == [] and warmed == {}


def test_a_ledger_half_made_is_left_to_the_deposit_to_finish(evidencectl_home: Path) -> None:
    """A ledger database without its id (a creation killed half-way) is not opened by the warm-up: the
    deposit's own open finishes it (and trusts its node key)."""
    ctx = Context(evidencectl_home)
    ctx.ledger_dir.mkdir(parents=True)
    (ctx.ledger_dir / "node-key.pem").write_bytes(generate_key("sm2").private_key_pem(None))
    sqlite3.connect(ctx.ledger_db).execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    assert EmbeddedLedger.open_existing(ctx) is None
    assert EmbeddedLedger.open(ctx).ledger_id


def test_the_ledger_warmed_up_is_the_one_that_anchors(
    cli, evidencectl_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    ctx = Context(evidencectl_home)
    ledger = EmbeddedLedger.open(ctx)
    warmed: dict[str, object] = {}
    warmup.preload_services(ctx, [], warmed, ["local"])
    opened = warmed[warmup.anchor_key("local")]
    assert isinstance(opened, EmbeddedLedger) and opened.ledger_id == ledger.ledger_id
    assert opened.key.public_key_der() == ledger.key.public_key_der()
    # The deposit anchors through the one warmed up: the ledger is not opened again in its tail.
    from evidencectl.anchor import backends

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the ledger was opened again")

    monkeypatch.setattr(workers_module, "worker_count", lambda: 2)
    monkeypatch.setattr(backends, "anchor_from_spec", refuse)
    out = tmp_path / "p.evp"
    assert cli("deposit", _folder(tmp_path), "-o", out).code == 0
    assert cli("verify", out).code == 0
    assert len(ledger.blocks()) == 1


def _rows(deposit_id: str, count: int, salt: str = "") -> list[ItemRow]:
    return [
        (deposit_id, i, f"证据/{i:05}{salt}.bin", "file", i * 7, hashlib.new("sm3", f"{salt}{i}".encode()).hexdigest(),
         hashlib.sha256(f"{salt}{i}".encode()).hexdigest())
        for i in range(1, count + 1)
    ]  # fmt: skip


def test_the_items_of_a_deposit_are_recorded_as_given_in_statements_of_many_rows(target: Target) -> None:
    """Two full statements and a remainder (SQLite), in order, every field; staged again, each row is
    replaced, none added. PostgreSQL records the same."""
    count = 2 * ROWS_A_STATEMENT + 44
    rows = _rows("EVD-1", count)
    row = {"deposit_id": "EVD-1", "created": "2026-12-02T10:00:00Z", "status": "pending", "item_count": count}
    reg = target.open()
    try:
        reg.stage_deposit(row, iter(rows))
        got = [
            tuple(r[f] for f in ("deposit_id", "item_id", "name", "kind", "size", "sm3", "sha256"))
            for r in reg.items("EVD-1")
        ]
        assert got == rows
        again = _rows("EVD-1", count, salt="x")
        reg.stage_deposit(row, iter(again))
        assert [r["name"] for r in reg.items("EVD-1")] == [r[2] for r in again]
        assert reg.lookup("sha256", again[-1][6])[0]["item_id"] == count
    finally:
        reg.close()


def test_an_item_row_of_the_wrong_width_records_nothing(tmp_path: Path) -> None:
    """Rows go several to a statement: one value short must not shift the values of every row after it."""
    from evidencectl.registry.sqlite import SQLiteRegistry

    rows: list[tuple[object, ...]] = list(_rows("EVD-1", ROWS_A_STATEMENT))
    rows[3] = rows[3][:6]
    reg = SQLiteRegistry(tmp_path / "registry.sqlite")
    try:
        with pytest.raises(ValueError, match="7 values"):
            reg.stage_deposit({"deposit_id": "EVD-1", "created": "x", "status": "pending", "item_count": 1}, rows)  # type: ignore[arg-type]
        assert reg.deposits() == [] and reg.items("EVD-1") == []
    finally:
        reg.close()


def test_a_forked_process_never_uses_the_serial_connection_it_inherited(evidencectl_home: Path) -> None:
    """The embedded TSA keeps its serial-number connection open; a process forked after it was opened
    (the deposit's workers, a server's children) opens its own, and both go on issuing unique serials."""
    import os

    tsa = EmbeddedTSA.open(Context(evidencectl_home))
    first = _facts(tsa.timestamp(DIGEST, "sha256"))[0]
    with tsa._db.lock:
        inherited = tsa._db.get()
    pid = os.fork()
    if pid == 0:  # the child: its own connection, its own serial
        code = 1
        try:
            with tsa._db.lock:
                own = tsa._db.get() is not inherited
            code = 0 if own and _facts(tsa.timestamp(DIGEST, "sha256"))[0] == first + 1 else 1
        finally:
            os._exit(code)
    assert os.waitpid(pid, 0)[1] == 0
    assert _facts(tsa.timestamp(DIGEST, "sha256"))[0] == first + 2
    with tsa._db.lock:
        assert tsa._db.get() is inherited


def test_ctrl_c_in_the_tail_leaves_no_worker_and_no_staging_file(
    cli, evidencectl_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The workers are being stopped in a thread when Ctrl-C lands in the proofs: the deposit still returns
    only once they are gone, and removes its staging file."""
    import multiprocessing

    from evidencectl.deposit import pipeline

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(workers_module, "worker_count", lambda: 2)
    monkeypatch.setattr(pipeline, "obtain_proofs", interrupted)
    out = tmp_path / "p.evp"
    res = cli("deposit", _folder(tmp_path), "-o", out)
    assert res.code == 130 and "interrupted" in res.err
    assert multiprocessing.active_children() == []
    assert not out.exists() and not list(tmp_path.glob(".p.evp.*"))
    registry = Registry.open(Context(evidencectl_home))
    try:
        assert registry.deposits() == []
    finally:
        registry.close()


def test_closers_are_waited_for_through_ctrl_c_and_their_errors_raised() -> None:
    """A deposit returns only once every closer it started is done: a Ctrl-C while it waits is raised
    after them, and what a closer raised is raised by the deposit."""
    import signal
    import threading
    import time

    from evidencectl.deposit.background import Closing

    done = threading.Event()

    def slow() -> None:
        time.sleep(0.3)
        done.set()

    closing = Closing()
    closing.start(slow, "slow")
    previous = signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    try:
        with pytest.raises(KeyboardInterrupt):
            closing.join()
        assert done.is_set()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

    def broken() -> None:
        raise OSError("cannot close")

    closing.start(broken, "broken")
    with pytest.raises(OSError, match="cannot close"):
        closing.join()


def test_after_a_deposit_every_database_is_whole_in_its_file(evidencectl_home: Path, tmp_path: Path) -> None:
    """The TSA's serials and the ledger keep their connections open during a deposit; by its end (a real
    process, which leaves by ``os._exit``) they are closed, their WAL checkpointed: a copy of
    ``ledger.sqlite`` alone holds the new block, as when each write closed its connection."""
    import os
    import shutil
    import subprocess
    import sys

    folder = _folder(tmp_path)
    for n in (1, 2):
        done = subprocess.run(
            [sys.executable, "-m", "evidencectl", "deposit", str(folder), "-o", str(tmp_path / f"p{n}.evp")],
            capture_output=True, text=True, env=dict(os.environ, EVIDENCECTL_HOME=str(evidencectl_home)), check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in evidencectl_home.rglob("*-wal")) == []
    ctx = Context(evidencectl_home)
    copy = tmp_path / "copy" / "ledger.sqlite"
    copy.parent.mkdir()
    shutil.copy(ctx.ledger_db, copy)
    assert sqlite3.connect(copy).execute("SELECT COUNT(*) FROM blocks").fetchone()[0] == 2
