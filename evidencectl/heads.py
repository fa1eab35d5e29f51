"""Heads of the custody log and the embedded ledger, recorded in each deposit's statement, and the audit that
uses them to show deletions.

Both logs are hash chains kept by the depositor, who can delete an entry and re-link everything after it:
the chain then checks out. A statement records the heads (sequence or height, and hash) at the moment of
the deposit; the statement is under the deposit's timestamps, so a package is a witness that the log held
that entry then. ``log --verify --against PKG…`` and ``ledger verify --against PKG…`` compare the log with
every head the packages vouch for: a head that is missing or has another hash means entries at or before
it were removed or rewritten.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .context import Context
from .errors import BadInputError, EvidenceError
from .i18n import _


def current_heads(ctx: Context, registry: Any) -> dict[str, Any]:
    """``{"custody": {"seq", "hash"}, "ledger": {"ledger_id", "height", "hash"}}`` now, each only if that log
    has an entry (read only: nothing is created)."""
    heads: dict[str, Any] = {}
    head = registry.custody_head()
    if head is not None:
        heads["custody"] = {"seq": head[0], "hash": head[1]}
    db_path = ctx.ledger_db
    if db_path.is_file():
        with contextlib.suppress(sqlite3.Error), contextlib.closing(sqlite3.connect(db_path, timeout=30)) as db:
            meta = db.execute("SELECT value FROM meta WHERE key = 'ledger_id'").fetchone()
            last = db.execute("SELECT height, block_hash FROM blocks ORDER BY height DESC LIMIT 1").fetchone()
            if meta is not None and last is not None:
                heads["ledger"] = {"ledger_id": str(meta[0]), "height": int(last[0]), "hash": str(last[1])}
    return heads


@dataclass(frozen=True)
class VouchedHead:
    """One head a package vouches for."""

    package: str
    """The package that holds it."""
    log: str
    """``custody`` or ``ledger``."""
    position: int
    """Sequence number (custody) or block height (ledger)."""
    hash: str
    """The entry's or block's hash."""
    ledger_id: str | None = None
    """For a ledger head: which ledger."""


def package_heads(paths: Sequence[Path], trust: Any) -> tuple[list[VouchedHead], list[dict[str, str]]]:
    """Every head the packages vouch for (the statement's ``heads`` and the blocks of their ledger receipts),
    and the packages not counted, each with why.

    A package vouches only for what it proves: it is verified with ``trust`` first, and counts only when no
    check FAILED and a trusted timestamp or anchor attests its roots; a receipt's block counts only when its
    anchor check PASSED. Otherwise anyone could write a package naming a head the log never held, and
    ``--against`` would report the genuine log as rewritten.
    """
    from .package.reader import PackageReader
    from .verify.verifier import verify_package

    out: list[VouchedHead] = []
    refused: list[dict[str, str]] = []
    for path in paths:
        try:
            report = verify_package(Path(path), trust=trust)
            with PackageReader(path) as reader:
                manifest = reader.read_json("manifest.json")
                receipts = {
                    n: reader.read_json(n)
                    for n in reader.names()
                    if n.startswith("proofs/anchors/") and n.endswith(".json")
                }
        except EvidenceError:
            raise
        except (OSError, ValueError) as exc:
            raise BadInputError(_("cannot read the package: {exc}").format(exc=exc), path=path) from exc
        if report.verdict.value == "FAILED" or report.proven_time is None:
            why = "it does not verify" if report.verdict.value == "FAILED" else "no trusted timestamp or anchor"
            refused.append({"package": str(path), "reason": f"not counted: {why}, so it vouches for no head"})
            continue
        anchored = {
            c.facts.get("member") for c in report.checks if c.check.startswith("anchor:") and c.status.value == "PASSED"
        }
        statement = manifest.get("statement") if isinstance(manifest, dict) else None
        heads = statement.get("heads") if isinstance(statement, dict) else None
        heads = heads if isinstance(heads, dict) else {}
        custody, ledger = heads.get("custody"), heads.get("ledger")
        # A custody head names no installation: only a package this installation's own TSA or ledger attests
        # speaks of this log (another installation's genuine package holds the heads of its own log).
        ours = any(
            c.status.value == "PASSED"
            and c.check.startswith(("timestamp:", "anchor:"))
            and c.facts.get("operator") == "own"
            for c in report.checks
        )
        if isinstance(custody, dict) and isinstance(custody.get("seq"), int):
            if ours:
                out.append(VouchedHead(str(path), "custody", custody["seq"], str(custody.get("hash"))))
            else:
                refused.append(
                    {"package": str(path), "reason": "custody head not counted: no service of this installation "
                     "attests the package, so its heads may be another installation's log"}
                )  # fmt: skip
        if isinstance(ledger, dict) and isinstance(ledger.get("height"), int):
            out.append(
                VouchedHead(
                    str(path), "ledger", ledger["height"], str(ledger.get("hash")), str(ledger.get("ledger_id"))
                )
            )
        for name, receipt in receipts.items():
            block = receipt.get("block") if isinstance(receipt, dict) and receipt.get("type") == "ledger" else None
            header = block.get("header") if isinstance(block, dict) else None
            if name not in anchored or not isinstance(block, dict) or not isinstance(header, dict):
                continue
            if not isinstance(header.get("height"), int):
                continue
            ledger_id = str(header.get("ledger_id"))
            out.append(VouchedHead(str(path), "ledger", header["height"], str(block.get("hash")), ledger_id))
    return _well_formed(out), refused


def missing_heads(
    heads: Iterable[VouchedHead], log: str, stored: dict[int, str], ledger_id: str | None = None
) -> list[dict[str, Any]]:
    """The heads of ``log`` that the stored entries (position -> hash) no longer hold, newest first."""
    problems: list[dict[str, Any]] = []
    for head in heads:
        if head.log != log or (ledger_id is not None and head.ledger_id not in (None, ledger_id)):
            continue
        now = stored.get(head.position)
        if now == head.hash:
            continue
        what = "is gone" if now is None else f"now has hash {now[:16]}…"
        problems.append(
            {
                "package": head.package,
                "position": head.position,
                "vouched_hash": head.hash,
                "stored_hash": now,
                "problem": f"{head.package} vouches for {log} entry {head.position} with hash {head.hash[:16]}…, "
                f"which {what}: entries up to {head.position} were removed or rewritten",
            }
        )
    return sorted(problems, key=lambda p: -int(p["position"]))


def _well_formed(heads: list[VouchedHead]) -> list[VouchedHead]:
    """Heads whose hash is 64 lower-case hex digits (a package's text reaches the terminal: nothing else)."""
    return [h for h in heads if re.fullmatch(r"[0-9a-f]{64}", h.hash) and h.position >= 0]
