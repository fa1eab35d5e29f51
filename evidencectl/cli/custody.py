"""``log --verify --against PKG…``: the custody heads packages vouch for, checked against the log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def against_usage(packages: list[Path], against: bool, verify: bool) -> None:
    """Packages go with ``--verify --against`` only."""
    if bool(packages) != against or (against and not verify):
        from ..errors import UsageError

        raise UsageError("give packages with --verify --against: log --verify --against PACKAGE...")


def against_heads(registry: Any, packages: list[Path], doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Add ``doc["against"]`` and print (unless JSON is wanted later) each vouched-for entry now missing."""
    if not packages:
        return []
    from ..heads import missing_heads, package_heads

    stored = {int(e["seq"]): str(e["hash"]) for e in registry.custody()}
    heads = package_heads(packages)
    problems = missing_heads(heads, "custody", stored)
    doc["against"] = {"packages": len(packages), "heads": sum(h.log == "custody" for h in heads), "problems": problems}
    for problem in problems:
        typer.echo(f"custody log REWRITTEN: {problem['problem']}", err=True)
    return problems
