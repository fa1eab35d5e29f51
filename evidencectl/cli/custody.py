"""Helpers of the registry commands: ``log --verify --against PKG…`` (the custody heads packages vouch for,
checked against the log) and the proven time that ``inspect`` and ``cases`` show."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ..i18n import _

if TYPE_CHECKING:
    from ..context import Context


def against_usage(packages: list[Path], against: bool, verify: bool) -> None:
    """Packages go with ``--verify --against`` only."""
    if bool(packages) != against or (against and not verify):
        from ..errors import UsageError

        raise UsageError(_("give packages with --verify --against: log --verify --against PACKAGE..."))


def against_heads(ctx: Context, registry: Any, packages: list[Path], doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Add ``doc["against"]`` and print (unless JSON is wanted later) each vouched-for entry now missing."""
    if not packages:
        return []
    from ..crypto.trust import TrustStore
    from ..display import visible
    from ..heads import missing_heads, package_heads

    stored = {int(e["seq"]): str(e["hash"]) for e in registry.custody()}
    heads, refused = package_heads(packages, TrustStore.for_verification(ctx))
    problems = missing_heads(heads, "custody", stored)
    doc["against"] = {"packages": len(packages), "heads": sum(h.log == "custody" for h in heads), "problems": problems}
    doc["against"]["not_counted"] = refused
    for skipped in refused:
        typer.echo(visible(f"{skipped['package']}: {skipped['reason']}"), err=True)
    for problem in problems:
        typer.echo(_("custody log REWRITTEN: {problem}").format(problem=problem["problem"]), err=True)
    return problems


def _attested(package: Path, ctx: Context, known: dict[str, Any] | None = None) -> Any:
    from ..crypto.trust import TrustStore
    from ..verify import attested_time

    # The trust `verify` uses: a time that verify proves is the time shown here.
    return attested_time(package, TrustStore.for_verification(ctx), known)


def proven_time_line(package: Path, ctx: Context) -> str:
    """``Time      <who attests the time, proven time in Beijing time and UTC>`` for ``inspect``."""
    from rich.markup import escape

    from ..display import visible
    from ..i18n import language

    summary = escape(visible(_attested(package, ctx).time_summary(language())))  # it names TSAs: theirs
    return _("Time      {summary}").format(summary=summary)


def add_proven_times(rows: list[dict[str, Any]], ctx: Context, registry_rows: list[dict[str, Any]]) -> None:
    """Give each ``cases`` row ``proven_time`` and ``independent_time`` from its package (None when the package
    is gone or unreadable: the registry's ``created`` is only what the depositor's clock said)."""
    import json

    from ..errors import EvidenceError

    for row, stored in zip(rows, registry_rows, strict=True):
        row["proven_time"], row["independent_time"] = None, False
        if row.get("package") and row.get("status") == "complete" and Path(row["package"]).is_file():
            try:
                # The roots the registry recorded: a manifest of 200,000 items is not read for one line.
                known = {"deposit_id": row["deposit_id"], "roots": json.loads(stored.get("roots") or "null")}
                # The statement's created, as registered: an own time before it is not counted (verify/timecheck.py).
                known["statement"] = {"created": stored.get("created")}
                report = _attested(Path(row["package"]), ctx, known)
            except (EvidenceError, OSError, ValueError):
                continue
            row["proven_time"], row["independent_time"] = report.proven_time, report.independent_time
