"""The verification report: the verdict first, then every check with its facts and how to redo it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..checks import Status
from .labels import labels
from .model import Cell, Document, Fields, Heading, Paragraph, Table, t
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


def _fact_text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _check_cells(check: Any, L: dict[str, str]) -> list[Cell]:
    detail: Cell = [t(check.detail)]
    for key, value in check.facts.items():
        text = _fact_text(value)
        # Hex digests and identifiers go in monospace; prose facts stay in the sans face.
        detail.append(t(f"{key}: {text}", mono=" " not in text))
    if check.reproduce:
        detail.append(t(f"{L['reproduce']}:", bold=True))
        detail.append(t(check.reproduce, mono=True))
    status = L[check.status.value]
    return [[t(check.check, mono=True)], [t(status, bold=check.status is not Status.PASSED)], detail]


def build_verification(report: Any, lang: str) -> Document:
    """The verification report of ``report`` (a VerificationReport) as a document."""
    L = labels(lang)
    doc = Document(
        title=L["report_title"],
        lang=lang,
        deposit_id=report.deposit_id or "—",
        manifest_sm3=_manifest_sm3(report),
        page_label=L["page"],
        footer_labels=(L["f_deposit"], L["f_manifest"]),
    )
    verdict = report.verdict
    counts = {s: sum(1 for c in report.checks if c.status is s) for s in Status}
    tally = " · ".join(f"{L[s.value]} {counts[s]}" for s in Status)
    doc.add(Heading(f"{L['verdict']}: {L[verdict.value]}  ({tally})"))
    if verdict is not Status.PASSED:
        doc.add(
            Paragraph(
                [
                    t(f"{c.check} — {L[c.status.value]}: {c.detail}", bold=True)
                    for c in report.checks
                    if c.status is not Status.PASSED
                ]
                or [t(L["no_checks"], bold=True)],
                alert=True,
            )
        )
    st = (report.manifest or {}).get("statement", {})
    doc.add(
        Fields(
            [
                (L["package"], [t(report.package)]),
                (L["deposit_id"], [t(report.deposit_id or "—", mono=True)]),
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
    capture = _capture(report)
    if capture is not None:
        from .capture import summary_fields

        doc.add(Heading(L["capture"]))
        doc.add(summary_fields(capture, L))
    doc.add(Heading(L["checks"]))
    rows = [_check_cells(c, L) for c in report.checks]
    doc.add(Table([L["col_check"], L["col_status"], L["col_detail"]], rows, [0.24, 0.1, 0.66]))
    doc.add(Heading(L["trust_anchors"]))
    anchors: list[list[Cell]] = [
        [[t(a.get(k, ""), mono=k == "fingerprint")] for k in ("role", "subject", "fingerprint", "source")]
        for a in report.trust_anchors
    ]
    if anchors:
        doc.add(Table([L["role"], L["subject"], L["fingerprint"], L["source"]], anchors, [0.1, 0.2, 0.57, 0.13]))
    else:
        doc.add(Paragraph([t(L["none"])]))
    return doc
