"""The deposit certificate (存证证明): what was deposited, when, where it is anchored, how to check it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..checks import Status, VerificationReport
from ..package.private import declared_note
from .art17 import art17_blocks
from .capture import capture_blocks
from .facts import PackageFacts, anchor_coordinates
from .itemlist import item_blocks
from .labels import labels
from .model import Cell, Code, Document, Fields, Heading, Paragraph, t
from .pageone import page_one, qr_block
from .timing import time_rows


def _summary(doc: Document, facts: PackageFacts, report: VerificationReport, L: dict[str, str]) -> None:
    st = facts.manifest["statement"]
    key: Cell
    if facts.signer is not None:
        subject, cert_fp, key_fp = facts.signer
        key = [
            t(subject),
            t(f"{L['signer_cert_fp']}:"),
            t(cert_fp, mono=True),
            t(f"{L['signer_key_fp']}:"),
            t(key_fp, mono=True),
        ]
    elif facts.signed:
        key = [t("manifest.sig", mono=True)]
    else:
        key = [t(L["not_signed"])]
    rows: list[tuple[str, Cell]] = [
        (L["deposit_id"], [t(facts.manifest["deposit_id"], mono=True, bold=True), t(L["p_id_date"])]),
        (L["case"], [t(st.get("case") or "—")]),
        (L["depositor"], [t(st.get("depositor") or "—")]),
        (L["depositor_key"], key),
        *time_rows(report, L),
        (L["created"], [t(st.get("created", "—"), mono=True)]),
        (L["item_count"], [t(len(facts.manifest["items"]))]),
        (L["hash_only"], [t(L["yes"] if st.get("hash_only") else L["no"])]),
    ]
    note, withheld = declared_note(facts.manifest)
    if withheld:
        rows.append((L["note"], [t(L["note_withheld"])]))
    elif note:
        rows.append((L["note"], [t(note)]))
    rows += [
        (L["tool"], [t(st.get("tool", "—"))]),
        ("manifest.json SM3", [t(facts.manifest_sm3, mono=True)]),
        ("manifest.json SHA-256", [t(facts.manifest_sha256, mono=True)]),
        (L["verdict"], [t(L[report.verdict.value], bold=True)]),
        (L["verified_at"], [t(report.verified_at, mono=True)]),
        (L["verified_by"], [t(report.tool)]),
    ]
    doc.add(Fields(rows))


def _failure(doc: Document, report: VerificationReport, L: dict[str, str]) -> None:
    """The bold warning on page one of a certificate written with --force."""
    runs = [t(L["forced_failed"].format(verdict=L[report.verdict.value]), bold=True)]
    for c in report.checks:
        if c.status is not Status.PASSED:
            runs.append(t(f"{c.check} — {L[c.status.value]}: {c.detail}", bold=True))
    doc.add(Paragraph(runs, alert=True))


def _timestamps(doc: Document, facts: PackageFacts, L: dict[str, str]) -> None:
    doc.add(Heading(L["timestamps"]))
    if not facts.timestamps:
        doc.add(Paragraph([t(L["none"])]))
    for ts in facts.timestamps:
        f = ts.facts
        acc = f.get("accuracy")
        when = f["gen_time"] + ("" if acc is None else f" ± {acc} {L['seconds']}")
        doc.add(
            Fields(
                [
                    (L["member"], [t(ts.member, mono=True)]),
                    (L["tsa"], [t(f["tsa"])]),
                    (L["serial"], [t(f["serial"], mono=True)]),
                    (L["gen_time"], [t(when, mono=True)]),
                    (L["policy"], [t(f["policy"], mono=True)]),
                    (L["imprint_alg"], [t(f["hash_algorithm"])]),
                    (L["imprint"], [t(f["imprint"], mono=True)]),
                    (L["tsa_cert"], [t(ts.cert_subject or "—")]),
                    (L["tsa_fp"], [t(ts.cert_fingerprint or "—", mono=True)]),
                ]
            )
        )


def _anchors(doc: Document, facts: PackageFacts, L: dict[str, str]) -> None:
    doc.add(Heading(L["anchors"]))
    if not facts.anchors:
        doc.add(Paragraph([t(L["none"])]))
    for member, receipt in facts.anchors:
        c = anchor_coordinates(receipt)
        rows: list[tuple[str, Cell]] = [(L["member"], [t(member, mono=True)])]
        for key in ("anchor_type", "chain", "height", "block_hash", "tx_hash", "contract", "time"):
            value = c["type" if key == "anchor_type" else key]
            if value is not None:
                rows.append((L[key], [t(value, mono=True)]))
        for key in ("confirmations", "node_key"):
            if c[key] is not None:
                rows.append((L[key], [t(c[key], mono=True)]))
        doc.add(Fields(rows))


def _shell_name(package: Path) -> str:
    """The package's name as commands show it (a placeholder when it would need quoting)."""
    return package.name if package.name.isascii() and " " not in package.name else "PACKAGE.evp"


def _how(doc: Document, facts: PackageFacts, package: Path, L: dict[str, str]) -> None:
    doc.add(Heading(L["how"]))
    doc.add(Paragraph([t(L["how_text"])]))
    name = _shell_name(package)
    roots = facts.manifest["roots"]
    lines = [
        f"evidencectl verify {name} --trust tsa:TSA-ROOT.pem",
        f"unzip -p {name} manifest.json | openssl dgst -sm3",
        f"unzip -p {name} manifest.json | sha256sum",
    ]
    first = next((i for i in facts.manifest["items"] if i.get("path")), None)
    if first is not None:
        lines += [
            f"unzip -p {name} '{first['path']}' | openssl dgst -sm3",
            f"unzip -p {name} '{first['path']}' | sha256sum",
        ]
    for ts in facts.timestamps:
        alg = ts.facts["hash_algorithm"]
        lines.append(f"unzip -p {name} {ts.member} > token.tsr")
        lines.append(
            f"openssl ts -verify -digest {roots.get(alg, ts.facts['imprint'])} -in token.tsr "
            "-CAfile TSA-ROOT.pem -untrusted TSA-CHAIN.pem"
        )
    if first is not None:
        lines.append(f"python3 examples/verify_by_hand.py {name} '{first['name']}'")
    doc.add(Code(lines))
    doc.add(Paragraph([t(L["how_script"])]))


def build_certificate(
    facts: PackageFacts,
    report: VerificationReport,
    package: Path,
    lang: str,
    settings: dict[str, str] | None = None,
) -> Document:
    """The certificate of one deposit as a document (verification already run into ``report``).

    Page one is the answer (:mod:`.pageone`); the appendix holds the art. 17 facts and the technique.
    ``settings`` is ``[report]`` of the configuration (issuer, qualification numbers, verify_url).
    """
    L = labels(lang)
    settings = settings or {}
    m: dict[str, Any] = facts.manifest
    doc = Document(
        title=L["cert_title"],
        lang=lang,
        deposit_id=m["deposit_id"],
        manifest_sm3=facts.manifest_sm3,
        page_label=L["page"],
        footer_labels=(L["f_deposit"], L["f_manifest"]),
    )
    qr = qr_block(m, facts.manifest_sm3, [r for _, r in facts.anchors], settings, L)
    for block in page_one(report, lang, L, settings, qr, facts.manifest_sm3):
        doc.add(block)
    doc.add(Heading(L["appendix"]))
    if report.verdict is not Status.PASSED:
        _failure(doc, report, L)
    doc.add(Heading(L["summary"]))
    _summary(doc, facts, report, L)
    for block in art17_blocks(report, L, settings, facts.capture):
        doc.add(block)
    doc.add(Heading(L["roots"]))
    doc.add(
        Fields(
            [
                ("SM3", [t(m["roots"].get("sm3", "—"), mono=True)]),
                ("SHA-256", [t(m["roots"].get("sha256", "—"), mono=True)]),
                (L["tree_size"], [t(m.get("tree_size", "—"))]),
            ]
        )
    )
    if facts.capture is not None:
        for block in capture_blocks(facts.capture, lang, _shell_name(package)):
            doc.add(block)
    _timestamps(doc, facts, L)
    _anchors(doc, facts, L)
    items, attachment = item_blocks(m, lang, L)
    for block in items:
        doc.add(block)
    if attachment is not None:
        doc.attachments.append(attachment)
    _how(doc, facts, package, L)
    return doc
