"""Checks of what services and signers added to a package: timestamps, anchor receipts, the signature."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..checks import CheckResult, Status
from ..errors import EvidenceError
from ..hashing import ALGORITHMS
from ..package.canonical import parse_json
from ..package.reader import PackageReader

_ALGS = ALGORITHMS


def _extra_certs(reader: PackageReader) -> list[bytes]:
    from ..crypto.x509 import load_certificates

    certs: list[bytes] = []
    for name in reader.names():
        if name.startswith("certs/") and name.endswith(".pem"):
            try:
                certs.extend(load_certificates(reader.read(name, limit=1 << 20)))
            except (EvidenceError, ValueError):  # ValueError: bad base64 inside a PEM block (binascii.Error)
                continue  # chain-building material only; an unusable file just helps less
    return certs


def check_timestamps(report: Any, reader: PackageReader, manifest: dict[str, Any], trust: Any) -> datetime | None:
    """Verify every ``proofs/timestamps/<label>.<alg>.tsr`` against the root of its algorithm.

    Returns the earliest genTime of a PASSED token (the time the deposit is proven to have existed).
    """
    from ..timestamp.verifier import verify_timestamp

    names = sorted(n for n in reader.names() if n.startswith("proofs/timestamps/") and n.endswith(".tsr"))
    if not names:
        report.add(
            CheckResult(
                "timestamp",
                Status.INDETERMINATE,
                "the package holds no timestamp: nothing proves when the evidence existed",
                {},
            )
        )
        return None
    from ..timestamp.operator import own_tsa_certificates
    from .timecheck import not_in_future, now_utc, timestamp_operator

    extra = _extra_certs(reader)
    ctx = getattr(trust, "context", None)  # the verifier's data directory: its own embedded TSA
    own = own_tsa_certificates(ctx) if ctx is not None else set()
    now = now_utc()
    roots = list(trust.certificates("tsa"))
    earliest: datetime | None = None
    for name in names:
        alg = name.rsplit(".", 2)[-2] if name.count(".") >= 2 else ""
        check = f"timestamp:{name.removeprefix('proofs/timestamps/').removesuffix('.tsr')}"
        if alg not in _ALGS:
            report.add(CheckResult(check, Status.FAILED, f"{name}: file name does not say sm3 or sha256", {}))
            continue
        der = reader.read(name, limit=1 << 20)
        result = verify_timestamp(
            der,
            digest=bytes.fromhex(manifest["roots"][alg]),
            hash_name=alg,
            trust=trust,
            check=check,
            extra_certs=extra,
        )
        facts = timestamp_operator(dict(result.facts), der, extra, own, roots)
        facts["member"] = name
        reproduce = result.reproduce
        if reproduce:
            reproduce = f"unzip -p PACKAGE '{name}' > token.tsr && " + reproduce.replace("<file>", "token.tsr")
        result = not_in_future(
            CheckResult(result.check, result.status, result.detail, facts, reproduce, result.reason), "gen_time", now
        )
        report.add(result)
        if result.status is Status.PASSED and isinstance(facts.get("gen_time"), str):
            try:
                t = datetime.fromisoformat(facts["gen_time"].replace("Z", "+00:00"))
            except ValueError:
                continue
            earliest = t if earliest is None or t < earliest else earliest
    return earliest


def check_anchors(report: Any, reader: PackageReader, manifest: dict[str, Any], trust: Any, online: bool) -> None:
    """Verify every anchor receipt in ``proofs/anchors/``; each check says who operates the ledger or chain."""
    from ..anchor.backends import verify_receipt
    from .timecheck import not_in_future, now_utc

    now = now_utc()
    names = sorted(n for n in reader.names() if n.startswith("proofs/anchors/") and n.endswith(".json"))
    if not names:
        report.add(CheckResult("anchor", Status.INDETERMINATE, "the package holds no anchor receipt", {}))
        return
    for name in names:
        check = f"anchor:{name.removeprefix('proofs/anchors/').removesuffix('.json')}"
        try:
            receipt = parse_json(reader.read(name, limit=16 << 20))
        except (ValueError, UnicodeDecodeError) as exc:
            report.add(CheckResult(check, Status.FAILED, f"malformed receipt {name}: {exc}", {"member": name}))
            continue
        if not isinstance(receipt, dict):
            report.add(CheckResult(check, Status.FAILED, f"malformed receipt {name}: not an object", {}))
            continue
        result = verify_receipt(
            receipt,
            deposit_id=manifest["deposit_id"],
            roots=manifest["roots"],
            trust=trust,
            online=online,
            check=check,
        )
        facts = {**result.facts, "member": name}
        if "operator" not in facts and facts.get("anchor") == "evm":
            # No trusted entry pinned the chain (the check is not PASSED): a public or consortium chain by
            # default (DESIGN §4); a pinned chain's entry says who runs it (anchor/evm_receipt.py).
            facts.update(operator="third-party", independent=True)
        checked = CheckResult(result.check, result.status, result.detail, facts, result.reproduce, result.reason)
        report.add(not_in_future(checked, "time", now))


def check_signature(
    report: Any, reader: PackageReader, manifest_bytes: bytes, trust: Any, signing_time: datetime | None
) -> None:
    """Verify ``manifest.sig`` with ``certs/depositor.pem`` (leaf, then any intermediates).

    The sealed statement's ``signer`` names the key: a package whose statement names one but lacks
    ``manifest.sig``, or is signed by another key, is FAILED (stripping the signature must not turn an
    untrusted signer into an unsigned PASSED). ``trust.expect_signer`` (``verify --expect-signer``)
    asks for one signer: an unsigned package is then INDETERMINATE.
    """
    statement = (report.manifest or {}).get("statement", {})
    named = statement.get("signer") if isinstance(statement, dict) else None
    named_key = named.get("key_id") if isinstance(named, dict) and isinstance(named.get("key_id"), str) else None
    expected = getattr(trust, "expect_signer", None)
    if "manifest.sig" not in reader.infos:
        if named is not None and isinstance((report.manifest or {}).get("disclosure"), dict):
            # extract writes a new manifest.json, so the signature over the full one cannot travel with it:
            # not proof of its removal, and nothing to check here (the full package carries it).
            report.add(
                CheckResult(
                    "signature:manifest",
                    Status.INDETERMINATE,
                    f"a disclosure carries no signature: the sealed statement names signer key "
                    f"{str(named_key)[:16]}…, whose signature is over the full package's manifest; verify that "
                    "package to check it",
                    {"named_key_id": named_key, "disclosure": True},
                    reason="NOT_CHECKED",
                )
            )
        elif named is not None:
            report.add(
                CheckResult(
                    "signature:manifest",
                    Status.FAILED,
                    f"the sealed statement names signer key {str(named_key)[:16]}… but manifest.sig is missing: "
                    "the signature was removed",
                    {"named_key_id": named_key},
                    reason="SIGNATURE",
                )
            )
        elif expected:
            report.add(
                CheckResult(
                    "signature:manifest",
                    Status.INDETERMINATE,
                    f"the package is not signed; the expected signer {expected} did not sign it",
                    {"expected_signer": expected},
                    reason="SIGNER_MISMATCH",
                )
            )
        return
    from ..crypto.signature import verify_manifest_signature
    from ..crypto.x509 import load_certificates

    if "certs/depositor.pem" not in reader.infos:
        report.add(
            CheckResult(
                "signature:manifest",
                Status.FAILED,
                "manifest.sig is present but certs/depositor.pem is missing",
                {},
                reason="FORMAT",
            )
        )
        return
    try:
        certs = load_certificates(reader.read("certs/depositor.pem", limit=1 << 20))
    except (EvidenceError, ValueError) as exc:  # ValueError: bad base64 inside a PEM block
        report.add(CheckResult("signature:manifest", Status.FAILED, f"certs/depositor.pem: {exc}", {}, reason="FORMAT"))
        return
    sig = reader.read("manifest.sig", limit=4096)
    depositor = statement.get("depositor") if isinstance(statement, dict) else None
    report.add(
        verify_manifest_signature(
            sig,
            manifest_bytes,
            certs[0],
            trust,
            signing_time=signing_time,
            intermediates=certs[1:],
            named_key_id=named_key,
            expect_signer=expected,
            declared_depositor=depositor if isinstance(depositor, str) else None,
        )
    )
