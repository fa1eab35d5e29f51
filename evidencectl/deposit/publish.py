"""Stage: publish. A deposit whose proofs are all had is published and recorded complete; one that still
needs a service is recorded pending, its work kept in the staging file for ``deposit --resume``.

``items`` is the registry rows of a new deposit, None when :mod:`.resume` finishes one the registry knows.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from ..errors import OutputExistsError
from ..i18n import _
from ..package.writer import PackageWriter
from ..registry import ItemRow, Registry
from .options import DepositResult
from .state import ResumeState, ServiceFailure

ABANDONED = "abandoned"
"""Registry status of a deposit that was staged but could not be published (its staging file is gone)."""


def still_needed(failed: list[ServiceFailure], tsas_ok: int, quorum: int, warnings: list[str]) -> list[ServiceFailure]:
    """The failed services a deposit must still have: every anchor, and the TSAs while the quorum is not met.

    TSAs that failed while the quorum was still met are not retried: the deposit is complete without them
    (a warning in ``warnings`` says so)."""
    tsa_failed = [p for p in failed if p.kind == "tsa"]
    needed = [p for p in failed if p.kind == "anchor"] + (tsa_failed if tsas_ok < quorum else [])
    for p in failed:
        if p not in needed:
            warnings.append(
                _("TSA {spec} did not answer ({error}); the quorum was met without it").format(
                    spec=p.spec, error=p.error
                )
            )
    return needed


def finish(
    registry: Registry,
    writer: PackageWriter,
    result: DepositResult,
    state: ResumeState,
    row: dict[str, Any],
    items: Iterable[ItemRow] | None,
) -> DepositResult:
    """Publish the deposit when ``state.retry`` is empty, else record it pending."""
    result.pending = [p.to_json() for p in state.retry]
    if state.retry:
        return record_pending(registry, writer, result, state, row, items)
    return publish(registry, writer, result, state, row, items)


def record_pending(
    registry: Registry,
    writer: PackageWriter,
    result: DepositResult,
    state: ResumeState,
    row: dict[str, Any],
    items: Iterable[ItemRow] | None,
) -> DepositResult:
    """Keep the staging file and record the deposit pending with what resuming needs; the result says so
    (``status`` ``pending``, the staging file, the failed services)."""
    writer.close()
    result.status, result.package, result.staging = "pending", writer.staging, writer.staging
    staging = os.path.abspath(writer.staging)  # resumed from any folder
    row.update(status="pending", staging=staging, pending=state.to_json())
    detail = {"pending": result.pending, "staging": staging}
    if items is not None:
        registry.record_deposit(row, items, "deposit-pending", detail)
    else:
        registry.update_deposit(row["deposit_id"], {"pending": row["pending"]}, "resume-pending", detail)
    return result


def publish(
    registry: Registry,
    writer: PackageWriter,
    result: DepositResult,
    state: ResumeState,
    row: dict[str, Any],
    items: Iterable[ItemRow] | None,
) -> DepositResult:
    """Move the staging file to the output and record the deposit complete."""
    if items is not None:
        # Known to the registry before it is published: a kill between the two is completed by resume().
        # The items are written while the staging file is flushed; they are committed once it is on disk.
        synced = writer.close_then_sync()
        staging = os.path.abspath(writer.staging)
        registry.stage_deposit(
            {**row, "status": "pending", "staging": staging, "pending": state.to_json()}, items, before_commit=synced
        )
    try:
        writer.commit(force=state.force)
    except (OutputExistsError, OSError) as exc:
        # Another deposit took the output first (or it cannot be written): this one is given up, not left
        # pending, since its staging file goes with it and no --resume could finish it. (An interrupt here
        # leaves it pending: resume() finds out whether the package was published.)
        registry.update_deposit(
            row["deposit_id"],
            {"status": ABANDONED, "staging": None, "pending": None},
            "deposit-abandoned",
            {"reason": str(exc) or type(exc).__name__},
        )
        raise
    result.status, result.package = "complete", writer.out
    row.update(status="complete", staging=None, pending=None, package=str(writer.out.resolve()))
    detail = {"package": str(writer.out.resolve()), "timestamps": result.timestamps, "anchors": result.anchors}
    if items is not None:
        registry.record_deposit(row, (), "deposit", detail)  # the items were recorded when staged
    else:
        registry.update_deposit(
            row["deposit_id"],
            {k: row[k] for k in ("status", "staging", "pending", "package")},
            "resume-complete",
            detail,
        )
    return result
