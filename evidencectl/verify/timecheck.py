"""Who attests a deposit's time, whether that party is independent of the depositor, and the proven time.

DESIGN §4: only a party the depositor does not control can prove when the roots existed. Each timestamp and
anchor check gets the facts ``operator`` and ``independent``; :func:`check_time` then compares the
statement's ``created`` (what the depositor declares) with the proven time and, with
``require_independent``, makes time resting only on depositor-operated services INDETERMINATE.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ..checks import CheckResult, Status, VerificationReport, latest_bound, parse_utc

TIME_TOLERANCE = timedelta(minutes=5)
"""Clock difference forgiven between the depositor's machine, the TSA and the verifier (docs/format.md)."""


def _signer(der: bytes, fingerprint_hex: str, extra: Sequence[bytes]) -> Any:
    """The certificate of the token's signer, found by the fingerprint the verifier reported."""
    from asn1crypto import x509

    from ..timestamp.envelope import carried_certificates
    from ..timestamp.token import decode, fingerprint

    try:
        candidates = carried_certificates(decode(der)) + [x509.Certificate.load(d) for d in extra]
        return next((c for c in candidates if fingerprint(c.dump()) == fingerprint_hex), None)
    except Exception:  # noqa: BLE001 - the token was judged already; an unparsable one has no operator
        return None


def _anchor(facts: dict[str, Any], roots: Sequence[bytes]) -> Any:
    """The trust anchor that validated the path, found by the fingerprint in the ``trust_anchor`` fact."""
    import hashlib

    from asn1crypto import x509

    # The fingerprint is the fact's last word: the subject before it is the certificate's, so anyone's text
    # (a root naming "sha256 <a catalogue root's fingerprint>" in its CN must not pass for that root).
    found = re.search(r"\(sha256 ([0-9a-f]{64})\)\Z", str(facts.get("trust_anchor", "")))
    if found is None:
        return None
    for der in roots:
        if hashlib.sha256(der).hexdigest() == found.group(1):
            with contextlib.suppress(ValueError, TypeError):
                return x509.Certificate.load(der)
    return None


def timestamp_operator(
    facts: dict[str, Any], der: bytes, extra: Sequence[bytes], own: set[bytes], roots: Sequence[bytes] = ()
) -> dict[str, Any]:
    """``facts`` with ``operator`` and ``independent`` added, judged from the signer's certificate and the
    trust anchor (in ``roots``) its path led to: a depositor holding an embedded TSA's root key can issue a
    TSA certificate that declares nothing, but the root still declares whose it is."""
    from ..timestamp.operator import tsa_operator

    signer = _signer(der, str(facts.get("signer_fingerprint", "")), extra) if facts.get("signer_fingerprint") else None
    operator = tsa_operator(signer, facts.get("policy"), own, _anchor(facts, roots))
    return {**facts, "operator": operator, "independent": operator == "third-party"}


def not_in_future(result: CheckResult, moment_key: str, now: datetime) -> CheckResult:
    """A PASSED check whose attested time lies after ``now`` (beyond the tolerance) becomes INDETERMINATE (TIME):
    the service's clock was ahead, or this machine's clock is behind (a clerk's machine after a CMOS reset, a
    restored virtual machine); the verifier cannot tell which, and a genuine package is never FAILED for the
    verifier's own clock. A time that has not come yet proves nothing, so it gives no proven time either."""
    if result.status is not Status.PASSED:
        return result
    moment = parse_utc(result.facts.get(moment_key))
    if moment is None or moment <= now + TIME_TOLERANCE:
        return result
    return replace(
        result,
        status=Status.INDETERMINATE,
        reason="TIME",
        detail=f"the attested time {result.facts[moment_key]} is after this machine's clock "
        f"{now.strftime('%Y-%m-%dT%H:%M:%SZ')}: the service's clock was set ahead, or this clock is behind "
        "(check it with `date -u` and verify again)",
    )


def set_aside_own_times_before_created(report: VerificationReport, manifest: dict[str, Any], since: int = 0) -> None:
    """Make INDETERMINATE (reason ``TIME``) each PASSED timestamp or anchor of a depositor-operated service
    whose time lies before the statement's ``created`` (beyond the tolerance); call it before the proven
    time is read. Only ``report.checks[since:]`` are looked at: the caller passes where its timestamp and
    anchor checks begin, so that a verification of 200,000 items does not walk its digest checks again.

    Such a time proves nothing against the depositor: whoever runs an embedded TSA or ledger sets its clock,
    and tokens and receipts are not under the signature or the roots, so anyone who runs one (the other
    party in the case) can add one dated whenever they like to a genuine package. Counted, it became the
    proven time and made ``time:declared`` FAILED, blaming the depositor. A third-party service's time
    before ``created`` stays a contradiction of the package (:func:`check_time` fails it), since only the
    depositor's declaration can be wrong there."""
    created_text = manifest.get("statement", {}).get("created") if isinstance(manifest, dict) else None
    created = parse_utc(created_text)
    if created is None:
        return
    for n in range(since, len(report.checks)):
        check = report.checks[n]
        if check.status is not Status.PASSED or not check.check.startswith(("timestamp:", "anchor:")):
            continue
        if check.facts.get("independent") is True:
            continue
        bound = latest_bound(check.facts)
        if bound is None or created <= bound + TIME_TOLERANCE:
            continue
        moment = check.facts.get("gen_time") or check.facts.get("time")
        operator = check.facts.get("operator", "unknown")
        whose = "this installation's own" if operator == "own" else "a depositor-operated"
        report.checks[n] = replace(
            check,
            status=Status.INDETERMINATE,
            reason="TIME",
            detail=f"{check.facts.get('member', check.check)} dates the roots {moment}, before the statement's "
            f"created {created_text}: it comes from {whose} service (operator {operator}), whose clock is "
            "whoever runs it, and anyone who runs one can add such a token or receipt to a package; it proves "
            "nothing against the depositor and is not counted as proven time",
            facts={**check.facts, "before_created": True, "created": created_text},
        )


def check_time(report: VerificationReport, manifest: dict[str, Any], *, require_independent: bool) -> None:
    """Add ``time:declared`` (the statement's ``created`` against the proven time) and, when the time is
    independent or must be, ``time:independent``."""
    proven = parse_utc(report.proven_time)
    created_text = manifest.get("statement", {}).get("created")
    created = parse_utc(created_text)
    if proven is not None and created is not None:
        facts = {"created": created_text, "proven_time": report.proven_time, "tolerance_s": TIME_TOLERANCE.seconds}
        if created > proven + TIME_TOLERANCE:
            report.add(
                CheckResult(
                    "time:declared",
                    Status.FAILED,
                    f"the statement says it was created at {created_text}, after the proven time "
                    f"{report.proven_time}: the depositor's declared time contradicts the timestamps",
                    facts,
                    reason="TIME",
                )
            )
        else:
            report.add(
                CheckResult(
                    "time:declared",
                    Status.PASSED,
                    f"the time declared by the depositor ({created_text}) is not after the proven time",
                    facts,
                )
            )
    if report.independent_time:
        report.add(
            CheckResult(
                "time:independent",
                Status.PASSED,
                "the time is attested by a service the depositor does not operate",
                {"independent": True, "proven_time": report.proven_time},
            )
        )
    elif require_independent:
        report.add(
            CheckResult(
                "time:independent",
                Status.INDETERMINATE,
                "time attested only by the depositor's own services (embedded TSA or ledger), and an independent "
                "time is required: add a third-party TSA (deposit --tsa freetsa) to prove when it existed",
                {"independent": False, "proven_time": report.proven_time},
                reason="NOT_INDEPENDENT",
            )
        )


def now_utc() -> datetime:
    """The moment of verification (a function, so one place says what "now" means)."""
    return datetime.now(UTC)
