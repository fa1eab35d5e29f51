"""The answer a judge reads first, drawn from a verification alone: verdict, proven time, who attests it,
what is deposited, who deposited and how that is known, and what the verdict rests on.

Both documents build their page one from :func:`answer_of`, so the certificate and the verification
report of the same package say the same thing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, timedelta, timezone
from typing import Any

from ..checks import CheckResult, Status, VerificationReport, parse_utc

FIRST_ITEMS = 5
"""Items named on page one; the rest are in the appendix (and, beyond a limit, in the attached CSV)."""


@dataclass(frozen=True)
class Attester:
    """A service whose PASSED timestamp or anchor proves when the roots existed."""

    name: str
    """Readable name: the TSA certificate's common name, or the ledger / chain id."""
    kind: str
    """``timestamp`` or ``anchor``."""
    own: bool
    """Operated by the depositor (an embedded TSA or ledger): never independent."""


@dataclass
class Answer:
    """What page one says, as facts."""

    verdict: Status
    """The bottom line of the verification."""
    proven_time: str | None
    """Earliest PASSED genTime or block time (ISO UTC), or None."""
    independent: bool
    """At least one attester is a third party."""
    attesters: list[Attester] = field(default_factory=list)
    """Distinct attesters, third parties first."""
    item_count: int = 0
    """Number of items deposited."""
    total_size: int = 0
    """Sum of their sizes in bytes."""
    first_items: list[str] = field(default_factory=list)
    """Names of the first items."""
    hash_only: bool = False
    """Deposited without the originals."""
    depositor: str = ""
    """The depositor's name as the statement declares it."""
    identity: str = "unsigned"
    """``trusted``, ``self_signed``, ``untrusted``, ``bad`` or ``unsigned``."""
    signer_subject: str = ""
    """Subject of the signing certificate, when signed."""
    case: str = ""
    """Case number of the statement."""
    anchors_total: int = 0
    """Trust anchors the verifier held."""
    anchors_own: int = 0
    """Of which this installation's own embedded services."""
    captured_url: str = ""
    """The page a web capture recorded (``capture:environment``), else ""."""
    capture_start: str = ""
    """When that capture started, by the capturing machine's clock."""


def _cn(subject: str) -> str:
    """The common name of an RFC 4514 subject (``CN=…``), else the subject itself."""
    m = re.search(r"(?:^|,\s*)CN\s*=\s*([^,]+)", subject)
    return m.group(1).strip() if m else subject


def attester_of(check: CheckResult) -> Attester:
    """Who a timestamp or anchor check says attests the time."""
    f = check.facts
    own = f.get("operator") == "own" or f.get("independent") is False
    if check.check.startswith("timestamp:"):
        return Attester(_cn(str(f.get("tsa") or check.check)), "timestamp", own)
    if f.get("anchor") == "ledger" or "ledger_id" in f:
        return Attester(f"ledger {f.get('ledger_id', '?')}", "anchor", own)
    return Attester(f"chain {f.get('chain_id', '?')}", "anchor", own)


def _identity(report: VerificationReport) -> tuple[str, str]:
    sig = next((c for c in report.checks if c.check.startswith("signature:")), None)
    if sig is None:
        return "unsigned", ""
    subject = str(sig.facts.get("signer") or "")
    if sig.status is Status.PASSED:
        return "trusted", subject
    if sig.status is Status.FAILED:
        return "bad", subject
    if subject and subject == sig.facts.get("issuer"):
        return "self_signed", subject
    return "untrusted", subject


def answer_of(report: VerificationReport) -> Answer:
    """The facts of page one for ``report`` (its manifest included)."""
    manifest: dict[str, Any] = report.manifest or {}
    st: dict[str, Any] = manifest.get("statement") or {}
    items = [i for i in manifest.get("items") or [] if isinstance(i, dict)]
    seen: dict[str, Attester] = {}
    for c in report.checks:
        if c.status is Status.PASSED and c.check.startswith(("timestamp:", "anchor:")):
            a = attester_of(c)
            seen.setdefault(a.name, a)
    identity, subject = _identity(report)
    env = next((c for c in report.checks if c.check == "capture:environment"), None)
    env_facts = env.facts if env is not None else {}
    own = sum(1 for a in report.trust_anchors if a.get("operator") == "own" or _own_source(a))
    return Answer(
        verdict=report.verdict,
        proven_time=report.proven_time,
        independent=report.independent_time,
        attesters=sorted(seen.values(), key=lambda a: (a.own, a.kind != "timestamp", a.name)),
        item_count=len(items),
        total_size=sum(i.get("size", 0) for i in items if isinstance(i.get("size"), int)),
        first_items=[str(i.get("name", "?")) for i in items[:FIRST_ITEMS]],
        hash_only=bool(st.get("hash_only")),
        depositor=str(st.get("depositor") or ""),
        identity=identity,
        signer_subject=subject,
        case=str(st.get("case") or ""),
        anchors_total=len(report.trust_anchors),
        anchors_own=own,
        captured_url=str(env_facts.get("url") or ""),
        capture_start=str(env_facts.get("start") or ""),
    )


def _own_source(anchor: dict[str, str]) -> bool:
    """A trust anchor this installation made for its own services (``own-…`` / ``ledger-node-…`` files)."""
    name = anchor.get("source", "").replace("\\", "/").rsplit("/", 1)[-1]
    return name.startswith(("own-", "ledger-node-"))


def beijing(text: str | None, L: dict[str, str]) -> str:
    """``2026-12-02 04:35:32 北京时间（UTC 2026-12-01 20:35:32）`` for an ISO UTC time; ``—`` for None."""
    moment = parse_utc(text)
    if moment is None:
        return "—"
    bj = moment.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")
    return L["beijing"].format(bj=bj, utc=moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"))


def size_text(n: int, lang: str) -> str:
    """A byte count a reader grasps: ``1.2 MB (1,234,567 字节)``."""
    unit = "字节" if lang == "zh" else "bytes"
    if n < 1024:
        return f"{n} {unit}"
    for suffix, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {suffix} ({n:,} {unit})"
    return f"{n} {unit}"  # pragma: no cover - unreachable


def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1] or name


def summary_sentence(report: VerificationReport, L: dict[str, str]) -> str:
    """One sentence for the whole verification, e.g. 该文件在存证后被修改；其余 8 项与存证一致；时间戳与锚定有效。"""
    checks = report.checks
    if not checks:
        return L["s_none"] + L["s_end"]
    digests = [c for c in checks if c.check.startswith("digest:")]
    changed = [c for c in digests if c.status is Status.FAILED and "expected" in c.facts]
    missing = [c for c in digests if c.status is Status.FAILED and "expected" not in c.facts]
    hash_only = [c for c in digests if c.status is Status.INDETERMINATE]
    ok = [c for c in digests if c.status is Status.PASSED]
    parts: list[str] = []

    def names(cs: list[CheckResult]) -> str:
        shown = L["list_sep"].join(L["quoted"].format(_short(str(c.facts.get("item", c.check[7:])))) for c in cs[:3])
        return shown + (f" +{len(cs) - 3}" if len(cs) > 3 else "")

    if changed:
        parts.append(L["s_changed"].format(names=names(changed)))
    if missing:
        parts.append(L["s_missing"].format(names=names(missing)))
    if hash_only:
        parts.append(L["s_hashonly"].format(n=len(hash_only)))
    if ok:
        key = "s_items_rest" if (changed or missing or hash_only) else "s_items_ok"
        parts.append(L[key].format(n=len(ok)))
    parts.extend(_service_phrases(checks, L))
    sig = [c for c in checks if c.check.startswith("signature:")]
    if sig:
        parts.append(L[{"PASSED": "s_sig_ok", "FAILED": "s_sig_bad"}.get(sig[0].status.value, "s_sig_undecided")])
    rest = [c for c in checks if not c.check.startswith(("digest:", "timestamp:", "anchor:", "signature:"))]
    bad = sum(1 for c in rest if c.status is Status.FAILED)
    undecided = sum(1 for c in rest if c.status is Status.INDETERMINATE)
    if bad:
        parts.append(L["s_other_bad"].format(n=bad))
    if undecided:
        parts.append(L["s_other_undecided"].format(n=undecided))
    text = L["s_join"].join(parts) + L["s_end"]
    return text[:1].upper() + text[1:]


def _service_phrases(checks: list[CheckResult], L: dict[str, str]) -> list[str]:
    def state(prefix: str) -> str | None:
        cs = [c for c in checks if c.check.startswith(prefix) and c.check != "anchor"]
        if not cs:
            return None
        if any(c.status is Status.FAILED for c in cs):
            return "bad"
        if any(c.status is Status.INDETERMINATE for c in cs):
            return "undecided"
        return "ok"

    ts, an = state("timestamp:"), state("anchor:")
    if ts == "ok" and an == "ok":
        return [L["s_ts_anchor_ok"]]
    out = []
    if ts is not None:
        out.append(L[f"s_ts_{ts}"])
    if an is not None:
        out.append(L[f"s_anchor_{an}"])
    return out
