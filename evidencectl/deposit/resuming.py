"""``deposit --resume``: ask the failed services of pending deposits again and publish those that complete."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..context import Context
from ..errors import BadInputError, EvidenceError, ServiceError, UsageError
from ..i18n import _
from ..package.layout import MANIFEST
from ..package.manifest import check_complete
from ..package.writer import PackageWriter
from ..registry import Registry
from .options import DepositResult
from .proofs import obtain_proofs
from .publish import ABANDONED, finish, still_needed
from .state import ResumeState


def _sealed_problem(manifest: Any, row: dict[str, Any]) -> str | None:
    """None when ``manifest`` is the one the registry recorded for ``row`` (same deposit, same roots, and
    its records rebuild them), else what differs."""
    if not isinstance(manifest, dict) or manifest.get("deposit_id") != row["deposit_id"]:
        return "it is not this deposit's package"
    if manifest.get("roots") != json.loads(row["roots"]):
        return "its roots differ from those the registry recorded"
    try:
        return check_complete(manifest)
    except (KeyError, TypeError, ValueError) as exc:
        return f"its manifest is malformed ({exc})"


def _stored_problem(reader: Any, manifest: dict[str, Any]) -> str | None:
    """None when every original the records name is stored and hashes to its recorded digests, else which
    one differs: the manifest alone can be kept while an original beside it is edited."""
    from ..hashing import digest_stream

    for item in manifest.get("items", []):
        member = item.get("path") if isinstance(item, dict) else None
        if not member:
            continue  # --hash-only, or a part whose bytes live in its parent
        if member not in reader.infos:
            return f"member {member} is missing"
        with reader.open_member(member) as src:
            got = digest_stream(src)
        if got.size != item.get("size") or got.as_dict() != item.get("digests"):
            return f"member {member} is not the bytes that were hashed"
    return None


def _published(staging: Path, out: Path, row: dict[str, Any]) -> bool:
    """True when ``out`` is this deposit's package (as the registry recorded it) and the staging file is
    gone or is ``out`` itself."""
    from ..package.reader import PackageReader

    if not out.exists() or (staging.exists() and not os.path.samefile(staging, out)):
        return False
    try:
        with PackageReader(out) as reader:
            return _sealed_problem(reader.read_json(MANIFEST), row) is None
    except EvidenceError:
        return False


def _record_published(registry: Registry, row: dict[str, Any], staging: Path, out: Path) -> DepositResult:
    """The package was published but the registry was not told (the deposit was killed in between)."""
    staging.unlink(missing_ok=True)
    package = str(out.resolve())
    changes = {"status": "complete", "staging": None, "pending": None, "package": package}
    registry.update_deposit(row["deposit_id"], changes, "resume-complete", {"package": package})
    return DepositResult(row["deposit_id"], out, "complete", row["item_count"], json.loads(row["roots"]))


def _resume_one(registry: Registry, ctx: Context, row: dict[str, Any], state: ResumeState) -> DepositResult:
    """Ask the services ``state`` says are missing, then publish or record the deposit pending again."""
    from ..package.reader import PackageReader

    staging, out = Path(row["staging"]), Path(state.out)
    with PackageReader(staging) as reader:
        manifest = reader.read_json(MANIFEST)
        # Checked before anything is timestamped or published: a staging file swapped for another package,
        # or one whose originals were edited under an intact manifest, must not come out as this deposit,
        # complete.
        problem = _sealed_problem(manifest, row) or _stored_problem(reader, manifest)
    if problem is not None:
        raise BadInputError(
            _("not resumed: the staging file of {deposit_id} was changed: {problem}").format(
                deposit_id=row["deposit_id"], problem=problem
            ),
            path=staging,
        )
    roots = manifest["roots"]
    writer = PackageWriter(out, staging=staging, append=True)
    tsas = [p.spec for p in state.retry if p.kind == "tsa"]
    anchors = [p.spec for p in state.retry if p.kind == "anchor"]
    proofs = obtain_proofs(writer, ctx, row["deposit_id"], roots, tsas, anchors, state.labels, state.contract)
    result = DepositResult(
        row["deposit_id"], out, "pending", row["item_count"], roots, proofs.timestamps, proofs.anchors
    )
    state.tsas_ok += proofs.tsas_answered
    state.retry = still_needed(proofs.failed, state.tsas_ok, state.quorum, result.warnings)
    return finish(registry, writer, result, state, row, None)


def resume(ctx: Context, deposit_id: str | None = None) -> list[DepositResult]:
    """Retry the failed TSAs and anchors of pending deposits (all, or ``deposit_id``) and publish those that
    complete; returns one result a deposit, ``pending`` for those whose services are still down. Raises
    UsageError (exit 2) for an unknown ``deposit_id``, ServiceError (exit 5) for deposits that cannot be
    finished at all (staging file gone or unreadable)."""
    registry = Registry.open(ctx)
    results: list[DepositResult] = []
    errors: list[str] = []
    try:
        rows = registry.deposits("pending")
        if deposit_id:
            rows = [r for r in rows if r["deposit_id"] == deposit_id]
            if not rows:
                raise UsageError(_("no pending deposit {deposit_id}").format(deposit_id=deposit_id))
        for row in rows:
            try:
                state = ResumeState.from_json(row["pending"])
                if not isinstance(json.loads(row["roots"]), dict) or not isinstance(row["staging"], str):
                    raise ValueError("roots or staging path missing")
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                # An edited or damaged row: said for this deposit, the others are still resumed.
                why = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
                errors.append(f"{row['deposit_id']}: not resumed: its registry record is malformed ({why})")
                continue
            staging, out = Path(row["staging"]), Path(state.out)
            lock = _lock(ctx, row["deposit_id"])
            if lock == -1:
                errors.append(f"{row['deposit_id']}: not resumed: another deposit --resume is finishing it")
                continue
            try:
                pending_now = {r["deposit_id"] for r in registry.deposits("pending")} if lock is not None else None
                if pending_now is not None and row["deposit_id"] not in pending_now:
                    continue  # finished by the resume that held the lock until now
                _resume_row(registry, ctx, row, state, staging, out, results, errors)
            finally:
                if lock is not None:
                    os.close(lock)
    finally:
        registry.close()
    if errors:
        raise ServiceError(" | ".join(errors))
    return results


def _lock(ctx: Context, deposit_id: str) -> int | None:
    """A descriptor holding the exclusive lock of resuming ``deposit_id`` (released when closed); -1 when
    another process holds it; None where there are no locks. Two resumes of one deposit at once would both
    copy its staging file and rename their copy over it: the package published could be the other's
    half-written one. The lock file lives in ``ctx.resume_locks_dir`` (the staging file is renamed as it is
    finished, so it cannot carry the lock)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; resumes are not run concurrently there
        return None
    folder = ctx.resume_locks_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(deposit_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]  # any id, one file
        fd = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return -1
    return fd


def _resume_row(
    registry: Registry,
    ctx: Context,
    row: dict[str, Any],
    state: ResumeState,
    staging: Path,
    out: Path,
    results: list[DepositResult],
    errors: list[str],
) -> None:
    """Finish one pending deposit (its staging file locked by this process), or say why not."""
    if _published(staging, out, row):
        results.append(_record_published(registry, row, staging, out))
        return
    if not staging.exists():
        # Nothing is left to finish: said once, recorded abandoned, not retried forever.
        reason = f"staging file {staging} is gone"
        changes = {"status": ABANDONED, "staging": None, "pending": None}
        registry.update_deposit(row["deposit_id"], changes, "deposit-abandoned", {"reason": reason})
        errors.append(f"{row['deposit_id']}: {reason}; the deposit is recorded abandoned")
        return
    try:
        results.append(_resume_one(registry, ctx, row, state))
    except EvidenceError as exc:
        errors.append(exc.diagnostics())
