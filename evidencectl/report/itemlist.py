"""The list of items, short at any size: detailed for a few items, compact up to a limit, and beyond it the
first rows plus the whole list as CSV (embedded in the PDF as a file attachment, written beside the HTML).

A 20,000-item deposit once gave a 2,002-page certificate; the appendix now stays a few pages long and the
CSV carries every item with its digests, for a spreadsheet or ``sha256sum -c``-style checks.
"""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Any

from .metadata import kind_text, metadata_lines
from .model import Attachment, Block, Cell, Heading, Paragraph, Table, t

DETAIL_LIMIT = 50
"""Up to this many items, each row shows its metadata (mail headers, DKIM, image facts)."""
TABLE_LIMIT = 200
"""Up to this many items the table lists them all (compact); beyond it, the first rows and the CSV."""
SHOWN_BEYOND = 50
"""Rows shown in the table when the CSV carries the list."""
ITEMS_CSV = "items.csv"
"""Name of the attached list of items."""
CHECKS_CSV = "checks.csv"
"""Name of the attached list of checks (verification report)."""


def items_csv(items: list[dict[str, Any]]) -> bytes:
    """Every item as a CSV row (UTF-8 with BOM, so spreadsheet programs read Chinese names right)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["id", "name", "kind", "media_type", "size", "sm3", "sha256", "package_member"])
    for n, item in enumerate(items):
        d = item.get("digests") or {}
        w.writerow(
            [
                item.get("id", n + 1),
                item.get("name", ""),
                item.get("kind", ""),
                item.get("media_type", ""),
                item.get("size", ""),
                d.get("sm3", ""),
                d.get("sha256", ""),
                item.get("path") or "",
            ]
        )
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _where(item: dict[str, Any], n: int, size: Any, L: dict[str, str]) -> str:
    index = item.get("proof", {}).get("sha256", {}).get("index")
    if index is not None:
        return f"manifest.json items[{n}].proof (leaf {index} / {size})"
    # a complete package: the proof is rebuilt from manifest.json; `extract` writes it out
    return f"{L['proof_rebuilt']} (leaf {item.get('id', n + 1)} / {size})"


def _row(item: dict[str, Any], n: int, size: Any, lang: str, L: dict[str, str], detail: bool) -> list[Cell]:
    kind = kind_text(item, lang)
    info: Cell = [
        t(item["name"], bold=True),
        t(f"{kind} · {item.get('media_type', '?')} · {item.get('size', '?')} {L['bytes']}"),
    ]
    if detail:
        info.append(t(f"{L['proof_at']}: {_where(item, n, size, L)}"))
        if item.get("parent") is not None:
            info.append(t(f"parent: {item['parent']}"))
        info += [t(line) for line in metadata_lines(item.get("metadata") or {}, lang)]
    digests = item.get("digests", {})
    return [
        [t(item.get("id", n + 1))],
        info,
        [t("SM3"), t(digests.get("sm3", "—"), mono=True), t("SHA-256"), t(digests.get("sha256", "—"), mono=True)],
    ]


def item_blocks(manifest: dict[str, Any], lang: str, L: dict[str, str]) -> tuple[list[Block], Attachment | None]:
    """The items section, and the CSV attachment when the list is too long to print."""
    items: list[dict[str, Any]] = manifest["items"]
    size = manifest.get("tree_size")
    count = len(items)
    detail = count <= DETAIL_LIMIT
    shown = items if count <= TABLE_LIMIT else items[:SHOWN_BEYOND]
    rows = [_row(item, n, size, lang, L, detail) for n, item in enumerate(shown)]
    blocks: list[Block] = [Heading(L["items"])]
    attachment = None
    if count > TABLE_LIMIT:
        data = items_csv(items)
        attachment = Attachment(ITEMS_CSV, data, "text/csv", L["csv_desc"].format(count=count))
        sha = hashlib.sha256(data).hexdigest()
        blocks.append(
            Paragraph(
                [
                    t(L["csv_note"].format(shown=len(shown), count=count, name=ITEMS_CSV), bold=True),
                    t(f"{ITEMS_CSV} SHA-256 {sha}", mono=True),
                ]
            )
        )
    blocks.append(Table([L["col_no"], L["col_item"], L["col_digests"]], rows, [0.07, 0.36, 0.57]))
    return blocks, attachment


def checks_csv(checks: list[Any]) -> bytes:
    """Every check as a CSV row: name, status, reason, item, digests found and expected, detail."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["check", "status", "reason", "item", "sm3", "sha256", "expected_sm3", "expected_sha256", "detail"])
    for c in checks:
        f = c.facts
        exp = f.get("expected") if isinstance(f.get("expected"), dict) else {}
        w.writerow(
            [
                c.check,
                c.status.value,
                c.reason or "",
                f.get("item", ""),
                f.get("sm3", ""),
                f.get("sha256", ""),
                exp.get("sm3", ""),
                exp.get("sha256", ""),
                c.detail,
            ]
        )
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def checks_shown(checks: list[Any]) -> tuple[list[Any], int]:
    """The checks a verification report lists one by one, and how many passed digest checks it leaves to
    the CSV: all of them up to :data:`TABLE_LIMIT`; beyond, every check that did not pass and every check
    that is not an item digest, plus the first passed digests."""
    if len(checks) <= TABLE_LIMIT:
        return checks, 0
    shown, passed_digests = [], 0
    for c in checks:
        if c.check.startswith("digest:") and c.status.value == "PASSED":
            passed_digests += 1
            if passed_digests > SHOWN_BEYOND:
                continue
        shown.append(c)
    return shown, max(0, passed_digests - SHOWN_BEYOND)
