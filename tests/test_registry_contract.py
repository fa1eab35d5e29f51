"""The registry's contract, run against both backends: SQLite (a file) and PostgreSQL (a real server).

Each test gets an empty registry of each kind; the PostgreSQL cluster is started once per session by
``postgres_server.py`` from Debian's binaries.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from postgres_server import PostgresServer, Target

from evidencectl.errors import UsageError
from evidencectl.registry import GENESIS, SCHEMA_VERSION, User, acting_as, connect, custody_hash
from evidencectl.registry.interface import REMOVED_OWNER
from evidencectl.registry.shared import claim, count_hit, release

ROOT = Path(__file__).resolve().parent.parent
SHA_A, SM3_A = "a" * 64, "b" * 64


def _row(deposit_id: str, **changes: Any) -> dict[str, Any]:
    row = {
        "deposit_id": deposit_id,
        "created": "2026-12-01T10:00:00Z",
        "case_no": "（2026）渝0103民初1234号",
        "depositor": "张律师",
        "note": None,
        "package": f"/cases/{deposit_id}.evp",
        "staging": None,
        "status": "complete",
        "roots": json.dumps({"sha256": SHA_A}),
        "item_count": 2,
        "pending": None,
    }
    row.update(changes)
    return row


def _items(deposit_id: str) -> list[tuple[str, int, str, str, int, str, str]]:
    return [
        (deposit_id, 0, "contract.pdf", "file", 5_000_000_000, SM3_A, SHA_A),
        (deposit_id, 1, "证据/照片.jpg", "image", 7, "c" * 64, "d" * 64),
    ]


def test_a_deposit_its_items_and_its_event_are_read_back_as_written(target: Target) -> None:
    reg = target.open()
    reg.record_deposit(_row("EVD-1"), _items("EVD-1"), "deposit", {"package": "/cases/EVD-1.evp"})
    assert reg.deposit("EVD-1") == _row("EVD-1") | {
        "owner": None,
        "owner_id": None,
    }  # made at the CLI: no service user's
    assert reg.deposit("EVD-2") is None
    # A size past 2 GiB survives (a BIGINT in PostgreSQL); a Unicode item name comes back unchanged.
    assert [(i["name"], i["size"]) for i in reg.items("EVD-1")] == [
        ("contract.pdf", 5_000_000_000),
        ("证据/照片.jpg", 7),
    ]
    reg.update_deposit("EVD-1", {"status": "superseded"}, "supersede", {"by": "EVD-9"}, actor="auditor-1")
    assert [r["status"] for r in reg.deposits()] == ["superseded"]
    assert reg.deposits("complete") == []
    entries = reg.custody("EVD-1")
    assert [(e["event"], e["actor"], e["detail"]) for e in entries] == [
        ("deposit", None, {"package": "/cases/EVD-1.evp"}),
        ("supersede", "auditor-1", {"by": "EVD-9"}),
    ]
    reg.close()


def test_staging_that_fails_before_commit_leaves_no_row(target: Target) -> None:
    reg = target.open()

    def disk_full() -> None:
        raise OSError("No space left on device")

    with pytest.raises(OSError):
        reg.stage_deposit(_row("EVD-1", status="pending"), _items("EVD-1"), before_commit=disk_full)
    assert reg.deposits() == [] and reg.items("EVD-1") == [] and reg.custody() == []
    reg.close()


def test_lookup_by_digest_finds_every_deposit_holding_the_bytes(target: Target) -> None:
    reg = target.open()
    reg.record_deposit(_row("EVD-1"), _items("EVD-1"), "deposit", {})
    reg.record_deposit(_row("EVD-2", created="2026-12-02T10:00:00Z"), _items("EVD-2")[:1], "deposit", {})
    found = reg.lookup("sha256", SHA_A.upper())  # hex in either case
    assert [(f["deposit_id"], f["name"], f["status"]) for f in found] == [
        ("EVD-1", "contract.pdf", "complete"),
        ("EVD-2", "contract.pdf", "complete"),
    ]
    assert [f["deposit_id"] for f in reg.lookup("sm3", "c" * 64)] == ["EVD-1"]
    assert reg.lookup("sm3", "e" * 64) == []
    with pytest.raises(UsageError):
        reg.lookup("md5", "e" * 32)
    with pytest.raises(UsageError):
        reg.lookup("sha256", "' OR 1=1 --" + "0" * 53)
    reg.close()


def test_custody_log_links_every_entry_to_the_one_before(target: Target) -> None:
    reg = target.open()
    for n in range(5):
        reg.log_event(None, "verify", {"n": n, "text": "核验"}, actor=None if n % 2 else "张律师")
    entries = reg.custody()
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0]["prev_hash"] == GENESIS
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(entries, entries[1:], strict=False))
    assert all(custody_hash(e) == e["hash"] for e in entries)
    audit = reg.verify_custody()
    assert (audit.ok, audit.entries) == (True, 5)
    reg.close()


@pytest.mark.parametrize(
    ("tamper", "first_break"),
    [
        ("UPDATE custody SET detail = '{\"n\": 9}' WHERE seq = 3", 3),
        ("UPDATE custody SET actor = 'someone else' WHERE seq = 2", 2),
        ("UPDATE custody SET actor = NULL WHERE seq = 4", 4),
        ("DELETE FROM custody WHERE seq = 2", 3),
    ],
)
def test_a_custody_entry_edited_or_deleted_behind_the_registry_is_found(
    target: Target, tamper: str, first_break: int
) -> None:
    reg = target.open()
    for n in range(5):
        reg.log_event("EVD-1", "verify", {"n": n}, actor="auditor")
    target.raw(tamper)
    audit = reg.verify_custody()
    assert not audit.ok and audit.first_break == first_break, audit
    reg.close()


_APPENDER = """
import sys, time
from pathlib import Path
from evidencectl.registry import connect
url, base, worker, count, go = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), Path(sys.argv[5])
reg = connect(url, base)
(go.parent / f"ready-{worker}").touch()
while not go.exists():
    time.sleep(0.005)
for n in range(count):
    reg.log_event(None, "verify", {"worker": worker, "n": n}, actor=f"worker-{worker}")
    time.sleep(0.003)  # yield between appends, so that on a loaded machine the writers still overlap
reg.close()
"""


def test_concurrent_appends_from_four_processes_keep_one_unbroken_chain(target: Target, tmp_path: Path) -> None:
    target.open().close()  # migrated once before the race: this test is about appends
    go, workers, count = tmp_path / "go", 4, 50
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _APPENDER, target.url, str(target.base), str(w), str(count), str(go)], env=env
        )
        for w in range(workers)
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{w}").exists() for w in range(workers)):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "a writer did not start"
        time.sleep(0.01)
    go.touch()  # all four append at once
    assert [p.wait(timeout=120) for p in procs] == [0] * workers
    reg = target.open()
    audit = reg.verify_custody()
    assert (audit.ok, audit.entries) == (True, workers * count), audit
    seen = [(e["detail"]["worker"], e["detail"]["n"]) for e in reg.custody()]
    assert sorted(seen) == [(str(w), n) for w in range(workers) for n in range(count)]  # none lost or doubled
    # The writers really interleaved: otherwise the test proved nothing about concurrency.
    assert [w for w, _ in seen] != sorted(w for w, _ in seen)
    reg.close()


def test_an_empty_database_is_migrated_to_the_current_version(target: Target) -> None:
    reg = target.open()
    assert reg.schema_version() == SCHEMA_VERSION
    reg.close()
    reg = target.open()  # opening again changes nothing
    assert reg.schema_version() == SCHEMA_VERSION and reg.custody() == []
    reg.close()


def test_a_registry_of_before_users_migrates_keeping_rows_and_chain(target: Target) -> None:
    old = target.open(upto=3)
    assert old.schema_version() == 3
    old.close()
    # Written as an older release wrote it: no actor, the hash over the six fields.
    target.raw(
        "INSERT INTO deposits (deposit_id, created, status, item_count) VALUES (?,?,?,?)",
        ("EVD-OLD", "2026-01-01T00:00:00Z", "complete", 1),
    )
    target.raw("INSERT INTO items VALUES (?,?,?,?,?,?,?)", ("EVD-OLD", 0, "old.txt", "file", 3, SM3_A, SHA_A))
    entry = {"seq": 1, "time": "2026-01-01T00:00:00Z", "deposit_id": "EVD-OLD", "event": "deposit",
             "detail": {"package": "old.evp"}, "prev_hash": GENESIS}  # fmt: skip
    old_hash = custody_hash(entry)
    target.raw(
        "INSERT INTO custody (seq, time, deposit_id, event, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?)",
        (1, entry["time"], "EVD-OLD", "deposit", json.dumps(entry["detail"]), GENESIS, old_hash),
    )
    target.raw(
        "INSERT INTO users (name, role, created) VALUES (?,?,?)", ("张律师", "depositor", "2026-01-01T00:00:00Z")
    )
    reg = target.open()
    assert reg.schema_version() == SCHEMA_VERSION
    assert reg.deposit("EVD-OLD") is not None and [f["deposit_id"] for f in reg.lookup("sha256", SHA_A)] == ["EVD-OLD"]
    # Version 4: a deposit from before has no owner (no depositor finds it), a user from before no key;
    # version 5: the user a random id of its own.
    user = reg.user("张律师")
    assert user is not None and user.user_id is not None and len(user.user_id) == 32
    assert reg.deposit("EVD-OLD")["owner_id"] is None and reg.lookup("sha256", SHA_A, owner_id=user.user_id) == []  # type: ignore[index]
    assert user == User("张律师", "depositor", "2026-01-01T00:00:00Z", None, user.user_id)
    reg.add_user("审计员", "auditor", actor="admin")
    assert reg.custody()[0]["hash"] == old_hash  # the old entry keeps its hash
    audit = reg.verify_custody()
    assert (audit.ok, audit.entries) == (True, 2), audit
    reg.close()


def test_a_version_4_registry_gives_each_deposit_to_the_user_of_then_not_to_a_later_namesake(
    target: Target,
) -> None:
    """Version 4 knew owners by name only. After ``users remove alice`` + ``users add alice`` there, the
    deposits of the first alice (made before the second was added) must not become the second's."""
    old = target.open(upto=4)
    old.close()
    target.raw("INSERT INTO users (name, role, created) VALUES (?,?,?)", ("alice", "depositor", "2026-03-01T00:00:00Z"))
    target.raw("INSERT INTO users (name, role, created) VALUES (?,?,?)", ("bob", "depositor", "2026-01-01T00:00:00Z"))
    for deposit_id, created, owner in (
        ("EVD-FIRST-ALICE", "2026-02-01T00:00:00Z", "alice"),  # before today's alice existed
        ("EVD-ALICE", "2026-03-02T00:00:00Z", "alice"),
        ("EVD-BOB", "2026-01-02T00:00:00Z", "bob"),
        ("EVD-GONE", "2026-01-03T00:00:00Z", "carol"),  # carol was removed
        ("EVD-CLI", "2026-01-04T00:00:00Z", None),
    ):
        target.raw(
            "INSERT INTO deposits (deposit_id, created, status, item_count, owner) VALUES (?,?,?,?,?)",
            (deposit_id, created, "complete", 1, owner),
        )
        target.raw("INSERT INTO items VALUES (?,?,?,?,?,?,?)", (deposit_id, 0, "x.txt", "file", 3, SM3_A, SHA_A))
    reg = target.open()
    assert reg.schema_version() == SCHEMA_VERSION
    alice, bob = reg.user("alice"), reg.user("bob")
    assert alice is not None and bob is not None and alice.user_id != bob.user_id
    owners = {d["deposit_id"]: (d["owner"], d["owner_id"]) for d in reg.deposits()}
    assert owners == {
        "EVD-FIRST-ALICE": ("alice", REMOVED_OWNER),
        "EVD-ALICE": ("alice", alice.user_id),
        "EVD-BOB": ("bob", bob.user_id),
        "EVD-GONE": ("carol", REMOVED_OWNER),
        "EVD-CLI": (None, None),
    }
    assert [r["deposit_id"] for r in reg.lookup("sha256", SHA_A, owner_id=alice.user_id)] == ["EVD-ALICE"]
    assert len(reg.lookup("sha256", SHA_A)) == 5  # an auditor's lookup: all of them
    reg.close()


def test_a_user_added_again_under_a_removed_users_name_is_another_user(target: Target) -> None:
    reg = target.open()
    first = reg.add_user("alice", "depositor").user
    reg.remove_user("alice")
    second = reg.add_user("alice", "depositor").user
    assert first.user_id and second.user_id and first.user_id != second.user_id
    added = [e["detail"]["user_id"] for e in reg.custody() if e["event"] == "user-add"]
    assert added == [first.user_id, second.user_id]  # the log tells the two apart
    reg.close()


_OPENER = """
import sys
from pathlib import Path
from evidencectl.registry import connect
connect(sys.argv[1], Path(sys.argv[2])).close()
"""


def test_four_processes_opening_an_old_registry_at_once_migrate_it_once(target: Target) -> None:
    target.open(upto=SCHEMA_VERSION - 1).close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _OPENER, target.url, str(target.base)], env=env, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    results = [(p.wait(timeout=60), p.stderr.read() if p.stderr else "") for p in procs]
    assert all(code == 0 for code, _ in results), results  # no "duplicate column" from a second migration
    reg = target.open()
    assert reg.schema_version() == SCHEMA_VERSION
    reg.close()


def test_sqlite_registry_written_by_the_previous_release_keeps_working(tmp_path: Path) -> None:
    """A real data directory from before users: it opens, migrates, verifies, and its chain goes on."""
    src = ROOT / "tests" / "assets" / "registry" / "v2" / "registry.sqlite"
    (tmp_path / "registry.sqlite").write_bytes(src.read_bytes())
    before = sqlite3.connect(tmp_path / "registry.sqlite").execute("SELECT seq, hash FROM custody").fetchall()
    reg = connect("", tmp_path)
    assert reg.schema_version() == SCHEMA_VERSION
    [row] = reg.deposits()
    assert (row["case_no"], row["depositor"], row["status"]) == ("（2026）渝0103民初1234号", "张律师", "complete")
    assert [i["name"] for i in reg.items(row["deposit_id"])] == ["contract.txt"]
    assert [(e["seq"], e["hash"]) for e in reg.custody()] == before
    reg.log_event(row["deposit_id"], "verify", {"verdict": "PASSED"}, actor="法官")
    audit = reg.verify_custody()
    assert (audit.ok, audit.entries) == (True, 3), audit
    reg.close()


def test_postgres_registry_goes_on_after_the_server_restarts(postgres: PostgresServer) -> None:
    """A connection that died while idle is replaced unseen, for reads and for writes."""
    reg = connect(postgres.new_database(), Path("/nonexistent"))
    reg.log_event(None, "verify", {"n": 1})
    postgres.restart()
    reg.log_event(None, "verify", {"n": 2})  # BEGIN fails on the dead connection, and is begun again
    postgres.restart()
    assert [e["detail"]["n"] for e in reg.custody()] == [1, 2]  # a read, asked again
    audit = reg.verify_custody()
    assert (audit.ok, audit.entries) == (True, 2), audit
    reg.close()


def test_postgres_connection_lost_inside_a_transaction_writes_nothing(postgres: PostgresServer) -> None:
    """Cut off after the deposit row and before its custody entry: neither is there, and no traceback."""
    from evidencectl.errors import ServiceError

    url = postgres.new_database()
    reg = connect(url, Path("/nonexistent"))
    killer = psycopg.connect(url, autocommit=True)
    pid = reg._query("SELECT pg_backend_pid() AS pid")[0]["pid"]
    original = reg._lock_custody

    def cut_then_lock() -> None:  # the registry's session is terminated between its two writes
        killer.execute("SELECT pg_terminate_backend(%s)", [pid])
        original()

    reg._lock_custody = cut_then_lock  # type: ignore[method-assign]
    with pytest.raises(ServiceError):
        reg.record_deposit(_row("EVD-1"), _items("EVD-1"), "deposit", {})
    reg._lock_custody = original  # type: ignore[method-assign]
    assert reg.deposits() == [] and reg.items("EVD-1") == [] and reg.custody() == []
    killer.close()
    reg.close()


def test_unreachable_postgres_is_a_service_error_naming_host_not_password(tmp_path: Path) -> None:
    from evidencectl.errors import ServiceError

    with pytest.raises(ServiceError) as err:
        connect("postgresql://evidencectl:s3cret@127.0.0.1:1/registry", tmp_path)
    assert "127.0.0.1:1/registry" in str(err.value) and "s3cret" not in str(err.value)


def test_unknown_registry_url_is_bad_input(tmp_path: Path) -> None:
    from evidencectl.errors import BadInputError

    with pytest.raises(BadInputError):
        connect("mysql://x", tmp_path)


class _InterruptAfterCommit:
    """A sqlite3 connection on which Ctrl-C lands the instant COMMIT has returned."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        cursor = self._conn.execute(sql, *args)
        if sql == "COMMIT":
            raise KeyboardInterrupt
        return cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def test_ctrl_c_just_after_commit_stays_an_interrupt_and_keeps_the_entry(tmp_path: Path) -> None:
    from evidencectl.registry.sqlite import SQLiteRegistry

    reg = SQLiteRegistry(tmp_path / "registry.sqlite")
    real = reg.conn
    reg.conn = _InterruptAfterCommit(real)  # type: ignore[assignment]
    with pytest.raises(KeyboardInterrupt):  # not "cannot rollback - no transaction is active"
        reg.log_event(None, "verify", {"n": 1})
    reg.conn = real
    assert [e["detail"] for e in reg.custody()] == [{"n": 1}] and reg.verify_custody().ok
    reg.close()


def test_a_deposit_made_for_a_service_user_is_theirs_and_its_entries_name_them(target: Target) -> None:
    reg = target.open()
    row = {"deposit_id": "EVD-API", "created": "2026-01-01T00:00:00Z", "status": "complete", "item_count": 1}
    zhang = reg.add_user("张律师", "depositor").user
    li = reg.add_user("李律师", "depositor").user
    with acting_as("api:张律师", owner=zhang):
        reg.record_deposit(row, [("EVD-API", 0, "a.txt", "file", 3, SM3_A, SHA_A)], "deposit", {})
    reg.log_event("EVD-API", "verify", {})  # outside: no actor, as the CLI writes
    recorded = reg.deposit("EVD-API")
    assert recorded is not None and (recorded["owner"], recorded["owner_id"]) == ("张律师", zhang.user_id)
    assert [e["actor"] for e in reg.custody("EVD-API")] == ["api:张律师", None]
    assert [r["deposit_id"] for r in reg.lookup("sha256", SHA_A, owner_id=zhang.user_id)] == ["EVD-API"]
    assert reg.lookup("sha256", SHA_A, owner_id=li.user_id) == []
    assert reg.verify_custody().ok
    reg.close()


def test_a_claim_is_held_by_one_process_at_a_time_and_lapses(target: Target) -> None:
    first, second = target.open(), target.open()  # two connections, as two server processes have
    assert claim(first, "EVD-1", "worker-a", 60)
    assert not claim(second, "EVD-1", "worker-b", 60)
    assert claim(first, "EVD-1", "worker-a", 60)  # renewed by its holder
    release(second, "EVD-1", "worker-b")  # not theirs: changes nothing
    assert not claim(second, "EVD-1", "worker-b", 60)
    release(first, "EVD-1", "worker-a")
    assert claim(second, "EVD-1", "worker-b", 0.2)
    time.sleep(0.3)
    assert claim(first, "EVD-1", "worker-a", 60)  # a holder that died frees it when the claim lapses
    first.close()
    second.close()


def test_the_rate_counter_is_one_count_for_every_connection(target: Target) -> None:
    regs = [target.open() for _ in range(3)]
    minute_start = (time.time() // 60) * 60
    counts = [count_hit(regs[i % 3], "verify:192.0.2.1", minute_start + 1)[0] for i in range(6)]
    assert counts == [1, 2, 3, 4, 5, 6]
    assert count_hit(regs[0], "verify:192.0.2.2", minute_start + 1)[0] == 1  # another address
    # Half-way into the next minute half of the previous one still counts: no doubling at the boundary.
    estimate, wait = count_hit(regs[1], "verify:192.0.2.1", minute_start + 90)
    assert estimate == pytest.approx(1 + 6 * 0.5) and wait == 30
    for reg in regs:
        reg.close()


def test_a_rate_window_of_an_hour_counts_requests_minutes_apart_together(target: Target) -> None:
    reg = target.open()
    start = (time.time() // 3600) * 3600
    bucket = "verify/3600s:192.0.2.1"
    counts = [count_hit(reg, bucket, start + 10 + 600 * i, window=3600)[0] for i in range(3)]
    assert counts == [1, 2, 3]  # ten minutes apart, one window
    estimate, wait = count_hit(reg, bucket, start + 3600 + 900, window=3600)
    assert estimate == pytest.approx(1 + 3 * 0.75) and wait == 2700
    reg.close()


def test_a_claim_whose_holder_is_known_to_have_ended_is_taken_at_once(target: Target) -> None:
    """A worker killed while resuming need not block its deposit until the claim lapses, when the next
    one can tell that the holder no longer runs (service/leftovers.py: a process of this machine)."""
    first, second = target.open(), target.open()
    assert claim(first, "EVD-1", "killed-worker", 600)
    assert not claim(second, "EVD-1", "worker-b", 600, gone=lambda holder: False)
    assert claim(second, "EVD-1", "worker-b", 600, gone=lambda holder: holder == "killed-worker")
    assert not claim(first, "EVD-1", "worker-c", 600, gone=lambda holder: holder == "killed-worker")
    first.close()
    second.close()
