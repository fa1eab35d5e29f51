"""The verification report: the verdict first, then every check with its facts and how to redo it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..checks import Status
from .art17 import art17_blocks
from .itemlist import CHECKS_CSV, checks_csv, checks_shown
from .labels import labels
from .model import Attachment, Cell, Document, Fields, Heading, Paragraph, Table, t
from .pageone import page_one, qr_block
from .sentences import check_cell, fact_rows, json_hint
from .timing import time_rows


def _manifest_sm3(report: Any) -> str:
    """SM3 of manifest.json: the package's exact bytes, else the canonical form of the parsed manifest."""
    from ..package.reader import PackageReader

    try:
        with PackageReader(Path(report.package)) as reader:
            return hashlib.new("sm3", reader.read("manifest.json")).hexdigest()
    except Exception:  # noqa: BLE001 - the package may have moved since it was verified
        pass
    if report.manifest is None:
        return "—"
    from ..package.canonical import canonical_json

    return hashlib.new("sm3", canonical_json(report.manifest)).hexdigest()


def _capture(report: Any) -> Any:
    """The capture facts of the verified package, or None (not a capture, or the package is gone)."""
    from ..package.reader import PackageReader
    from .capture import read_capture

    if not isinstance(report.manifest, dict):
        return None
    try:
        with PackageReader(Path(report.package)) as reader:
            return read_capture(reader, report.manifest)
    except Exception:  # noqa: BLE001 - the checks below already say what is wrong with the package
        return None


def _receipts(report: Any) -> list[dict[str, Any]]:
    """The package's anchor receipts for the QR payload (none when the package is gone or unreadable)."""
    from ..package.reader import PackageReader

    try:
        with PackageReader(Path(report.package)) as reader:
            names = sorted(n for n in reader.names() if n.startswith("proofs/anchors/") and n.endswith(".json"))
            return [r for r in (reader.read_json(n) for n in names) if isinstance(r, dict)]
    except Exception:  # noqa: BLE001 - the QR then carries the manifest's facts only
        return []


def source_kind(anchor: dict[str, str], L: dict[str, str]) -> str:
    """Where a trust anchor came from, without the verifier's local paths."""
    source = anchor.get("source", "")
    if source.startswith("catalogue "):
        return L["src_catalogue"].format(name=source.split(":", 1)[0][len("catalogue ") :])
    name = source.replace("\\", "/").rsplit("/", 1)[-1]
    if anchor.get("operator") == "own" or name.startswith(("own-", "ledger-node-")):
        return L["src_own"]
    if "/trust/" in source.replace("\\", "/"):
        return L["src_store"]
    return L["src_run"]


def _check_block(c: Any, lang: str, L: dict[str, str]) -> Fields:
    rows: list[tuple[str, Cell]] = [
        (L["col_check"], [t(c.check, mono=True)]),
        (L["col_status"], [t(L[c.status.value], bold=c.status is not Status.PASSED), *check_cell(c, lang, L)]),
        *fact_rows(c, lang, L),
    ]
    if c.reproduce:
        rows.append((L["reproduce"], [t(c.reproduce, mono=True)]))
    return Fields(rows)


def build_verification(report: Any, lang: str, settings: dict[str, str] | None = None) -> Document:
    """The verification report of ``report`` (a VerificationReport) as a document: page one is the answer
    (:mod:`.pageone`), then every check in words with its facts in labelled rows."""
    L = labels(lang)
    settings = settings or {}
    doc = Document(
        title=L["report_title"],
        lang=lang,
        deposit_id=report.deposit_id or "—",
        manifest_sm3=_manifest_sm3(report),
        page_label=L["page"],
        footer_labels=(L["f_deposit"], L["f_manifest"]),
    )
    manifest = report.manifest if isinstance(report.manifest, dict) else {"deposit_id": report.deposit_id or ""}
    qr = qr_block(manifest, doc.manifest_sm3, _receipts(report), settings, L)
    for block in page_one(report, lang, L, settings, qr, doc.manifest_sm3):
        doc.add(block)
    doc.add(Heading(L["appendix"]))
    verdict = report.verdict
    counts = {s: sum(1 for c in report.checks if c.status is s) for s in Status}
    tally = " · ".join(f"{L[s.value]} {counts[s]}" for s in Status)
    st = (report.manifest or {}).get("statement", {})
    doc.add(
        Fields(
            [
                (L["verdict"], [t(f"{L[verdict.value]}  ({tally})", bold=True)]),
                (L["package"], [t(Path(report.package).name)]),
                (L["deposit_id"], [t(report.deposit_id or "—", mono=True), t(L["p_id_date"])]),
                (L["case"], [t(st.get("case") or "—")]),
                (L["depositor"], [t(st.get("depositor") or "—")]),
                *time_rows(report, L),
                (L["created"], [t(st.get("created") or "—", mono=True)]),
                ("manifest.json SM3", [t(doc.manifest_sm3, mono=True)]),
                (L["verified_at"], [t(report.verified_at, mono=True)]),
                (L["verified_by"], [t(report.tool)]),
            ]
        )
    )
    for block in art17_blocks(report, L, settings, None):
        doc.add(block)
    capture = _capture(report)
    if capture is not None:
        from .capture import summary_fields

        doc.add(Heading(L["capture"]))
        doc.add(summary_fields(capture, L))
    doc.add(Heading(L["checks"]))
    doc.add(Paragraph([t(json_hint(lang))]))
    shown, left = checks_shown(report.checks)
    if left:
        doc.attachments.append(
            Attachment(
                CHECKS_CSV, checks_csv(report.checks), "text/csv", L["csv_checks"].format(count=len(report.checks))
            )
        )
        doc.add(Paragraph([t(L["checks_note"].format(n=left, name=CHECKS_CSV), bold=True)]))
    for c in shown:
        doc.add(_check_block(c, lang, L))
    doc.add(Heading(L["trust_anchors"]))
    anchors: list[list[Cell]] = [
        [
            [t(a.get("role", ""))],
            [t(a.get("subject", ""))],
            [t(a.get("fingerprint", ""), mono=True)],
            [t(source_kind(a, L))],
        ]
        for a in report.trust_anchors
    ]
    if anchors:
        doc.add(Table([L["role"], L["subject"], L["fingerprint"], L["source"]], anchors, [0.1, 0.3, 0.4, 0.2]))
    else:
        doc.add(Paragraph([t(L["none"])]))
    return doc
