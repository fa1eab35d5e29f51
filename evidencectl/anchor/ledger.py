"""The embedded ledger: an append-only chain of SM2-signed blocks in SQLite, one block per anchored deposit.

Each block header (height, previous block hash, SM3 Merkle root of its entries, time, node key id) is hashed
with SM3 and signed by the node key. A receipt carries the signed header, the node's public key and the
entry's inclusion proof, so it can be verified offline years later without this database.
"""

from __future__ import annotations

import base64
import contextlib
import json
import sqlite3
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..atomic import write_new_file
from ..context import Context
from ..crypto.keys import SigningKey, load_or_create_service_key
from ..errors import BadInputError, OutputExistsError, ServiceError
from ..i18n import _
from ..keptdb import KeptConnection
from .blockformat import GENESIS_PREVIOUS, canonical, entries_tree, entry_bytes, make_header, sm3_hex
from .ledger_audit import LedgerAudit, audit_rows
from .ledger_receipt import verify_ledger_receipt
from .receipt import check_roots

if TYPE_CHECKING:
    from ..checks import CheckResult
    from ..crypto.trust import TrustStore

BUSY_TIMEOUT_S = 30.0
"""How long a writer waits for another process's transaction before giving up."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
    height INTEGER PRIMARY KEY, header BLOB NOT NULL, block_hash TEXT NOT NULL, signature BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    height INTEGER NOT NULL, position INTEGER NOT NULL, deposit_id TEXT NOT NULL, entry BLOB NOT NULL,
    PRIMARY KEY (height, position));
CREATE INDEX IF NOT EXISTS entries_deposit ON entries (deposit_id);
"""
_OBJECTS = frozenset({"meta", "blocks", "entries", "entries_deposit"})
"""The tables and index :data:`_SCHEMA` makes."""


class EmbeddedLedger:
    """The ledger in ``ctx.ledger_dir``: ``ledger.sqlite`` (WAL) and the SM2 node key ``node-key.pem``."""

    kind: ClassVar[str] = "ledger"
    """The ``type`` of its receipts."""
    name = "local"
    """Anchor name used in ``--anchor local``."""

    def __init__(self, db_path: Path, key: SigningKey, ledger_id: str) -> None:
        self.db_path = db_path
        """The SQLite file."""
        self.key = key
        """The node's signing key."""
        self.ledger_id = ledger_id
        """Random identifier of this ledger, written into every header."""
        self._db = KeptConnection(lambda: _open(db_path))
        """The connection that appends blocks, kept open (:mod:`evidencectl.keptdb`)."""

    @classmethod
    def open(cls, ctx: Context) -> EmbeddedLedger:
        """Open (creating on first use) the ledger of the data directory ``ctx``; a new node key is trusted
        there."""
        folder = ctx.ledger_dir
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ServiceError(
                _("cannot create the ledger folder: {strerror}").format(strerror=exc.strerror), path=folder
            ) from exc
        db_path = ctx.ledger_db
        with _connect(db_path) as db, _immediate(db, db_path):
            # Key creation and ledger initialisation run under the database's write lock, so processes
            # starting together agree on one key and one ledger id.
            # Statement by statement: executescript() would commit the transaction that guards creation.
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            key = load_or_create_service_key(folder / "node-key.pem", "sm2")
            row = db.execute("SELECT value FROM meta WHERE key = 'ledger_id'").fetchone()
            if row is None:
                ledger_id = str(uuid.uuid4())
                db.execute("INSERT INTO meta VALUES ('ledger_id', ?)", (ledger_id,))
                db.execute("INSERT INTO meta VALUES ('node_key_id', ?)", (key.key_id,))
                _install_trust(ctx, key)
            else:
                ledger_id = str(row[0])
        return cls(db_path, key, ledger_id)

    @classmethod
    def open_existing(cls, ctx: Context) -> EmbeddedLedger | None:
        """The ledger of ``ctx`` as :meth:`open` gives it when it is already made (its tables, ledger id and
        node key in place), else None; it creates nothing (no folder, table, key or trust), so a deposit may
        open it while its workers hash (:mod:`evidencectl.deposit.warmup`): loading the SM2 node key takes
        ~10 ms, most of it the SM2 library's first import. A node key that cannot be loaded raises as in
        :meth:`open`."""
        key_path = ctx.ledger_dir / "node-key.pem"
        if not (ctx.ledger_db.is_file() and key_path.is_file()):
            return None
        try:
            with _connect(ctx.ledger_db) as db:
                names = {str(r[0]) for r in db.execute("SELECT name FROM sqlite_master")}
                row = None
                if "meta" in names:
                    row = db.execute("SELECT value FROM meta WHERE key = 'ledger_id'").fetchone()
        except (sqlite3.Error, ServiceError):
            return None
        if row is None or not names >= _OBJECTS:  # made by an older version, or half made: open() finishes it
            return None
        ledger = cls(ctx.ledger_db, load_or_create_service_key(key_path, "sm2"), str(row[0]))  # the key exists
        with ledger._writer():
            pass  # its connection opened now rather than for the first block
        return ledger

    @classmethod
    def from_spec(cls, spec: str, ctx: Context, *, contract: str | None = None) -> EmbeddedLedger:
        """The ledger of ``--anchor local`` (``contract`` is for chains and ignored)."""
        return cls.open(ctx)

    @staticmethod
    def verify_receipt(
        receipt: Mapping[str, Any], *, trust: TrustStore, online: bool, check: str, rpc_url: str | None
    ) -> CheckResult:
        """Offline, against the node keys in ``trust`` (role ``ledger``); with ``online``, and a store that
        names the verifier's data directory, its own ledger is asked whether the block is still there."""
        result = verify_ledger_receipt(receipt, trust=trust, check=check)
        ctx = getattr(trust, "context", None)  # the verifier's data directory: its own ledger
        if online and ctx is not None:
            from .ledger_online import check_still_in_ledger

            result = check_still_in_ledger(result, receipt, ctx)
        return result

    def anchor(self, deposit_id: str, roots: dict[str, str]) -> dict[str, Any]:
        """Append one block holding the entry of ``deposit_id`` and return its receipt."""
        clean = check_roots(roots)
        entry = entry_bytes(deposit_id, clean)
        tree = entries_tree([entry])
        try:
            with self._writer() as db, _immediate(db, self.db_path):
                last = db.execute("SELECT height, block_hash FROM blocks ORDER BY height DESC LIMIT 1").fetchone()
                height, previous = (0, GENESIS_PREVIOUS) if last is None else (int(last[0]) + 1, str(last[1]))
                header = make_header(
                    ledger_id=self.ledger_id,
                    height=height,
                    previous_hash=previous,
                    entries_root=tree.root.hex(),
                    entry_count=1,
                    time=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    node_key_id=self.key.key_id,
                )
                header_bytes = canonical(header)
                block_hash = sm3_hex(header_bytes)
                signature = self.key.sign(header_bytes)
                db.execute("INSERT INTO blocks VALUES (?, ?, ?, ?)", (height, header_bytes, block_hash, signature))
                db.execute("INSERT INTO entries VALUES (?, 0, ?, ?)", (height, deposit_id, entry))
        except sqlite3.Error as exc:
            raise ServiceError(_("cannot write the ledger: {exc}").format(exc=exc), path=self.db_path) from exc
        proof = tree.proof(0)
        return {
            "type": "ledger",
            "version": 1,
            "deposit_id": deposit_id,
            "roots": clean,
            "ledger_id": self.ledger_id,
            "block": {
                "header": header,
                "hash": block_hash,
                "signature": base64.b64encode(signature).decode("ascii"),
                "signature_algorithm": "sm2-sm3",
            },
            "node_public_key": base64.b64encode(self.key.public_key_der()).decode("ascii"),
            "inclusion": {
                "index": proof.leaf_index,
                "size": proof.tree_size,
                "path": [p.hex() for p in proof.path],
            },
        }

    def close(self) -> None:
        """Close the connection kept open for appending blocks (a later block opens it again)."""
        self._db.close()

    @contextmanager
    def _writer(self) -> Iterator[sqlite3.Connection]:
        """The connection that appends blocks, one thread at a time."""
        with self._db.lock:
            yield self._db.get()

    def blocks(self) -> list[dict[str, Any]]:
        """Every block, oldest first: height, hash, header, signature (hex) and entries."""
        out: list[dict[str, Any]] = []
        for height, header, block_hash, signature, entries in self._rows():
            try:
                parsed: Any = json.loads(header)
            except (ValueError, UnicodeDecodeError):
                parsed = None
            out.append(
                {
                    "height": height,
                    "hash": block_hash,
                    "header": parsed,
                    "signature": bytes(signature).hex(),
                    "entries": [_entry_json(e) for _, _, e in entries],
                }
            )
        return out

    def verify_chain(self) -> LedgerAudit:
        """Re-check every block's hash, link, signature and entries; report the first break."""
        return audit_rows(self._rows(), ledger_id=self.ledger_id, public_key=self.key.public_key_der())

    def _rows(self) -> list[tuple[int, bytes, str, bytes, list[tuple[int, str, bytes]]]]:
        try:
            with _connect(self.db_path) as db:
                blocks = db.execute(
                    "SELECT height, header, block_hash, signature FROM blocks ORDER BY height"
                ).fetchall()
                entries = db.execute(
                    "SELECT height, position, deposit_id, entry FROM entries ORDER BY height, position"
                )
                by_height: dict[Any, list[tuple[int, str, bytes]]] = {}
                for h, pos, dep, entry in entries.fetchall():
                    by_height.setdefault(h, []).append((pos, dep, entry))
        except sqlite3.Error as exc:
            raise BadInputError(_("cannot read the ledger: {exc}").format(exc=exc), path=self.db_path) from exc
        return [(h, hdr, bh, sig, by_height.pop(h, [])) for h, hdr, bh, sig in blocks] + [
            # Entries whose block row is gone are reported as a break at their height.
            (h, b"", "", b"", rest)
            for h, rest in by_height.items()
        ]


def _entry_json(entry: bytes) -> Any:
    try:
        return json.loads(entry)
    except (ValueError, UnicodeDecodeError, TypeError):
        return None


def _open(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL journal and a busy timeout."""
    try:
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        try:
            db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            db.execute("PRAGMA journal_mode = WAL")
        except BaseException:
            db.close()
            raise
    except sqlite3.Error as exc:
        raise ServiceError(_("cannot open the ledger: {exc}").format(exc=exc), path=path) from exc
    return db


@contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    """:func:`_open`, closed after the block."""
    db = _open(path)
    try:
        yield db
    finally:
        db.close()


@contextmanager
def _immediate(db: sqlite3.Connection, path: Path) -> Iterator[None]:
    """A write transaction taken up front (BEGIN IMMEDIATE): two writers never read the same head."""
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise ServiceError(_("the ledger is locked or unwritable: {exc}").format(exc=exc), path=path) from exc
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _install_trust(ctx: Context, key: SigningKey) -> None:
    """Trust the new node key on this machine: ``trust/ledger/ledger-node-<key id>.pem``."""
    folder = ctx.trust_folder("ledger")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"ledger-node-{key.key_id[:16]}.pem"
    if target.exists():
        return
    pem = key.public_key_pem()
    data = pem.encode("ascii") if isinstance(pem, str) else bytes(pem)
    with contextlib.suppress(OutputExistsError):  # another process trusted it first: the same key
        write_new_file(target, data, mode=0o644)
