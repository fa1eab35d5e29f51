"""What the commands show of the local registry: the deposits table of ``cases`` (with the package file
checked against the registry), custody events of read-only commands, and the report formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..context import Context
from ..errors import UsageError
from ..i18n import _

REPORT_SUFFIXES = {".pdf": "pdf", ".html": "html", ".htm": "html"}


def report_format(out: Path) -> str:
    """``pdf`` or ``html`` from the name of a report to write; :class:`UsageError` (exit 2) for any other
    extension, so that ``--report v.docx`` does not quietly write a PDF under a Word name."""
    fmt = REPORT_SUFFIXES.get(out.suffix.lower())
    if fmt is None:
        raise UsageError(
            _("cannot write a report as {value}: name it .pdf or .html ({join})").format(
                value=out.suffix or "a file without extension", join=", ".join(REPORT_SUFFIXES)
            ),
            path=out,
        )
    return fmt


def record_event(ctx: Context, deposit_id: str | None, event: str, detail: dict[str, Any]) -> None:
    """Append a custody event for a command that reads a package (verify, report, extract), in the registry
    of the command's context (so config.toml is not read again).

    A read-only or missing data directory must not stop a court's verification: the event is then lost,
    silently, as the verification itself does not depend on it."""
    from ..registry import Registry

    try:
        registry = Registry.open(ctx)
        try:
            registry.log_event(deposit_id, event, detail)
        finally:
            registry.close()
    except Exception:  # noqa: BLE001 - see above
        pass


FULL_READ_LIMIT = 64 << 20
"""A manifest.json up to this size is read whole to compare its roots; a larger one (hundreds of thousands of
items) by its deposit id only, which canonical JSON puts first."""


def package_state(row: dict[str, Any]) -> str:
    """The registry's status of a deposit, corrected by what is at its package path now: ``missing`` (no
    file), ``overwritten`` (another package, or this one with other roots), ``unreadable``."""
    status = str(row["status"])
    if status != "complete" or not row.get("package"):
        return status
    import re

    from ..errors import EvidenceError
    from ..package.reader import PackageReader

    path = Path(row["package"])
    if not path.exists():
        return "missing"
    try:
        want = json.loads(row["roots"] or "{}")
        with PackageReader(path) as reader:
            if reader.infos["manifest.json"].file_size > FULL_READ_LIMIT:
                with reader.open_member("manifest.json") as f:
                    head = f.read(512).decode("utf-8", "replace")
                found = re.match(r'\{"deposit_id":"([^"\\]+)"', head)
                return status if found and found.group(1) == row["deposit_id"] else "overwritten"
            manifest = reader.read_json("manifest.json")
    except (EvidenceError, OSError, ValueError):
        return "unreadable"
    got = manifest.get("roots") if isinstance(manifest, dict) else None
    if not isinstance(got, dict) or got.get("sm3") != want.get("sm3"):
        return "overwritten"
    if manifest.get("deposit_id") != row["deposit_id"]:
        return "overwritten"
    return status


WIDE = 120
"""Below this many columns ``cases`` lists each deposit as a few lines instead of a table row."""


def _proven(row: dict[str, Any]) -> str:
    from ..checks import beijing_and_utc

    if not row.get("proven_time"):
        return "-"
    return beijing_and_utc(row["proven_time"]) + ("" if row.get("independent_time") else _(" (own only)"))


def deposit_table(rows: list[dict[str, Any]], width: int) -> Any:
    """The ``cases`` listing. The deposit id is the value people copy: it is never cut or wrapped. On a
    terminal narrower than :data:`WIDE`, each deposit gets its own short block of lines instead of a row
    squeezed into columns. Every value is shown through :func:`~evidencectl.display.visible` (case numbers
    and names are the depositor's, hidden characters included)."""
    from rich.markup import escape
    from rich.table import Table

    from ..display import visible

    if width < WIDE:
        from rich.console import Group
        from rich.text import Text

        lines: list[Any] = []
        for r in rows:
            head = Text(r["deposit_id"], style="bold", overflow="fold")
            line = _("  {status}  {n} item(s)  declared {created}")
            head.append(line.format(status=r["status"], n=r["item_count"], created=r["created"]), style="")
            lines.append(head)
            values = {_("proven"): _proven(r), _("case"): r.get("case_no"), _("depositor"): r.get("depositor")}
            values[_("package")] = r.get("package")
            for label, value in values.items():
                if value:
                    pad = " " * max(1, 11 - len(label.encode("gbk", "replace")))  # a Chinese character: 2 columns
                    lines.append(Text(f"  {label}{pad}{visible(value)}", overflow="fold"))
        return Group(*lines)
    table = Table(expand=False)
    table.add_column(_("deposit"), no_wrap=True, min_width=max(len(r["deposit_id"]) for r in rows))
    for name in (_("created (declared)"), _("proven time"), _("case"), _("depositor")):
        table.add_column(name, overflow="fold")
    table.add_column(_("items"), justify="right", no_wrap=True)
    table.add_column(_("status"), no_wrap=True)
    table.add_column(_("package"), overflow="fold")
    for r in rows:
        cells = (r["created"], _proven(r), r["case_no"], r["depositor"], r["item_count"], r["status"], r["package"])
        table.add_row(r["deposit_id"], *(escape(visible("" if c is None else c)) for c in cells))
    return table
