"""Page one of both documents: the answer in plain language, then a page break before the appendix.

Title line under it: who issues the document (``[report] issuer``). Then the verdict in a box with one
sentence of findings, and rows a reader needs without knowing the technique: proven time in Beijing time
(UTC beside it), who attests it and whether that is independent, what is deposited, who deposited and how
that is known, and what the verdict rests on. A QR code leads to the verification page (or holds the
plain payload offline).
"""

from __future__ import annotations

from typing import Any

from ..checks import Status, VerificationReport
from .answer import Answer, answer_of, beijing, size_text, summary_sentence
from .model import Block, Cell, Fields, PageBreak, Paragraph, QRCode, t
from .qr import qr_payload, verify_link


def issuer_text(settings: dict[str, str], L: dict[str, str]) -> str:
    """``出具方：…`` from ``[report] issuer`` (and ``operator``), or the plain installation when none."""
    issuer = settings.get("issuer") or L["issuer_none"]
    operator = settings.get("operator")
    if operator and operator != issuer:
        issuer = f"{issuer} · {operator}"
    return L["issuer_line"].format(issuer=issuer)


def _attested(a: Answer, L: dict[str, str]) -> Cell:
    if not a.attesters:
        return [t(L["att_none"], bold=True)]
    return [t(L["att_own" if x.own else "att_third"].format(name=x.name), bold=x.own) for x in a.attesters]


def _what(a: Answer, lang: str, L: dict[str, str]) -> Cell:
    sep = L["list_sep"]
    first = sep.join(L["quoted"].format(n) for n in a.first_items)
    if a.item_count > len(a.first_items):
        first += ("" if lang == "zh" else " ") + L["p_more"]
    text = L["p_what_text"].format(count=a.item_count, size=size_text(a.total_size, lang), first=first)
    return [t(text + (L["p_hash_only"] if a.hash_only else ""))]


def _capture_row(a: Answer, L: dict[str, str]) -> list[tuple[str, Cell]]:
    """A web capture: which page, and when by the capturing machine's own clock (not proven)."""
    if not a.captured_url:
        return []
    when = L["p_capture_when"].format(when=beijing(a.capture_start, L)) if a.capture_start else ""
    return [(L["p_capture"], [t(a.captured_url, mono=a.captured_url.isascii()), *([t(when)] if when else [])])]


def _identity(a: Answer, L: dict[str, str]) -> Cell:
    name = a.depositor or "—"
    key = {"self_signed": "id_self"}.get(a.identity, f"id_{a.identity}")
    return [t(L[key].format(name=name, subject=a.signer_subject or "—"), bold=a.identity != "trusted")]


def _basis(a: Answer, report: VerificationReport, L: dict[str, str]) -> Cell:
    third = [x.name for x in a.attesters if not x.own]
    if third:
        time = L["basis_time_third"].format(names=L["list_sep"].join(third))
    elif a.attesters:
        time = L["basis_time_own"]
    else:
        time = L["basis_time_none"]
    identity = L["basis_identity_trusted" if a.identity == "trusted" else "basis_identity_other"]
    store = L["basis_store"].format(
        tool=report.tool, when=beijing(report.verified_at, L), count=a.anchors_total, own=a.anchors_own
    )
    return [t(L["basis_integrity"]), t(time, bold=not third), t(identity), t(store)]


def qr_block(
    manifest: dict[str, Any],
    manifest_sm3: str,
    receipts: list[dict[str, Any]],
    settings: dict[str, str],
    L: dict[str, str],
) -> QRCode:
    """The QR code: the ``[report] verify_url`` link when configured, else the plain offline payload."""
    template = settings.get("verify_url")
    if template:
        url = verify_link(template, str(manifest.get("deposit_id", "")), manifest_sm3)
        return QRCode(url, L["qr_link"])
    return QRCode(qr_payload(manifest, manifest_sm3, receipts), L["qr_offline"])


def page_one(
    report: VerificationReport,
    lang: str,
    L: dict[str, str],
    settings: dict[str, str],
    qr: QRCode,
    manifest_sm3: str,
) -> list[Block]:
    """The blocks of page one, ending with the page break before the appendix."""
    a = answer_of(report)
    verdict = a.verdict
    box = [t(L[f"v_{verdict.value}"], bold=True), t(summary_sentence(report, L))]
    blocks: list[Block] = [
        Paragraph([t(issuer_text(settings, L), bold=True)]),
        Paragraph(box, alert=verdict is not Status.PASSED, ok=verdict is Status.PASSED),
    ]
    proven = beijing(a.proven_time, L) if a.proven_time else L["no_time"]
    rows: list[tuple[str, Cell]] = [
        # The id's date is the depositor's clock: said beside it, so nobody reads it as a proven time.
        (L["p_id"], [t(report.deposit_id or "—", mono=True, bold=True), t(L["p_id_date"])]),
    ]
    if a.case:
        rows.append((L["p_case"], [t(a.case)]))
    rows += [
        (L["p_time"], [t(proven, bold=True)]),
        (L["p_attested"], _attested(a, L)),
        (L["p_what"], _what(a, lang, L)),
        *_capture_row(a, L),
        (L["p_depositor"], _identity(a, L)),
        (L["p_basis"], _basis(a, report, L)),
        ("manifest.json SM3", [t(manifest_sm3, mono=True)]),
    ]
    blocks.append(Fields(rows))
    blocks.append(qr)
    blocks.append(PageBreak())
    return blocks
