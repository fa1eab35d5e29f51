"""What a certificate states, read from the package alone: manifest, tokens, receipts, signer."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BadInputError
from ..i18n import _
from ..package.reader import PackageReader
from ..timestamp.token import certificates_of, decode, find_signer, info_of, iso_utc, name_text
from .capture import CaptureFacts, read_capture


@dataclass(frozen=True)
class TimestampFacts:
    """One RFC 3161 token of the package."""

    member: str
    """Package member holding the response."""
    facts: dict[str, Any]
    """TSA, serial, gen_time, accuracy, policy, hash_algorithm, imprint (as TimestampInfo.facts())."""
    cert_subject: str | None
    """Subject of the TSA's signing certificate, when the token carries it."""
    cert_fingerprint: str | None
    """SHA-256 fingerprint of that certificate."""


@dataclass
class PackageFacts:
    """Everything the certificate prints, gathered without verifying anything."""

    manifest: dict[str, Any]
    """The parsed manifest."""
    manifest_sm3: str
    """SM3 of the exact bytes of manifest.json."""
    manifest_sha256: str
    """SHA-256 of the exact bytes of manifest.json."""
    timestamps: list[TimestampFacts] = field(default_factory=list)
    """Every token under proofs/timestamps/, in member order."""
    anchors: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Every receipt under proofs/anchors/ as (member, receipt), in member order."""
    signer: tuple[str, str, str] | None = None
    """Subject, certificate SHA-256 fingerprint and key fingerprint (SHA-256 of the SubjectPublicKeyInfo,
    as ``evidencectl keys show`` prints it) of certs/depositor.pem, when manifest.sig is present."""
    signed: bool = False
    """True when the package carries manifest.sig."""
    capture: CaptureFacts | None = None
    """The web capture the package holds (``evidencectl capture``), else None."""


def _timestamp(member: str, der: bytes, path: Path) -> TimestampFacts:
    try:
        parsed = decode(der)
        if parsed.content_info is None:
            raise ValueError("the response carries no token")
        info = info_of(parsed)
    except Exception as exc:  # noqa: BLE001 - any decoding failure is one line naming the member
        raise BadInputError(
            _("{member} is not a readable timestamp: {exc}").format(member=member, exc=exc), path=path
        ) from exc
    certs = certificates_of(parsed.signed_data)
    signer = find_signer(parsed.signed_data["signer_infos"][0]["sid"], certs) or (certs[0] if certs else None)
    facts = info.facts()
    facts["gen_time"] = iso_utc(info.gen_time)
    if signer is None:
        return TimestampFacts(member, facts, None, None)
    return TimestampFacts(member, facts, name_text(signer.subject), hashlib.sha256(signer.dump()).hexdigest())


def _certificate(pem: bytes, path: Path) -> tuple[str, str, str]:
    from asn1crypto import pem as asn1_pem
    from asn1crypto import x509

    try:
        __, __, der = asn1_pem.unarmor(pem)
        cert = x509.Certificate.load(der)
        spki = cert["tbs_certificate"]["subject_public_key_info"].dump()
        return name_text(cert.subject), hashlib.sha256(der).hexdigest(), hashlib.sha256(spki).hexdigest()
    except Exception as exc:  # noqa: BLE001
        raise BadInputError(
            _("certs/depositor.pem is not a readable certificate: {exc}").format(exc=exc), path=path
        ) from exc


def read_facts(path: Path, manifest: dict[str, Any] | None = None) -> PackageFacts:
    """Read a package's manifest, timestamps, anchor receipts and depositor certificate; ``manifest`` is its
    manifest as the verification just parsed it (parsing a large one again costs a second)."""
    with PackageReader(path) as reader:
        raw = reader.read("manifest.json")
        if manifest is None:
            manifest = reader.read_json("manifest.json")
        out = PackageFacts(
            manifest=manifest,
            manifest_sm3=hashlib.new("sm3", raw).hexdigest(),
            manifest_sha256=hashlib.sha256(raw).hexdigest(),
        )
        names = sorted(reader.names())
        for name in names:
            if name.startswith("proofs/timestamps/") and name.endswith(".tsr"):
                out.timestamps.append(_timestamp(name, reader.read(name), path))
            elif name.startswith("proofs/anchors/") and name.endswith(".json"):
                receipt = reader.read_json(name)
                if not isinstance(receipt, dict):
                    raise BadInputError(_("{name} is not an anchor receipt (JSON object)").format(name=name), path=path)
                out.anchors.append((name, receipt))
        out.signed = "manifest.sig" in names
        if out.signed and "certs/depositor.pem" in names:
            out.signer = _certificate(reader.read("certs/depositor.pem"), path)
        out.capture = read_capture(reader, manifest)
    return out


def anchor_coordinates(receipt: dict[str, Any]) -> dict[str, Any]:
    """The fields that locate an anchor: type, chain/ledger id, height, block hash, tx, contract, time."""
    raw_block = receipt.get("block")
    block: dict[str, Any] = raw_block if isinstance(raw_block, dict) else {}
    raw_header = block.get("header")
    header: dict[str, Any] = raw_header if isinstance(raw_header, dict) else {}
    kind = str(receipt.get("type", "?"))
    if kind == "ledger":
        return {
            "type": kind,
            "chain": receipt.get("ledger_id", header.get("ledger_id")),
            "height": header.get("height"),
            "block_hash": block.get("hash"),
            "tx_hash": None,
            "contract": None,
            "time": header.get("time"),
            "confirmations": None,
            "node_key": header.get("node_key_id"),
        }
    return {
        "type": kind,
        "chain": receipt.get("chain_id"),
        "height": receipt.get("block_number"),
        "block_hash": receipt.get("block_hash"),
        "tx_hash": receipt.get("tx_hash"),
        "contract": receipt.get("contract"),
        "time": receipt.get("time"),
        "confirmations": receipt.get("confirmations"),
        "node_key": None,
    }
