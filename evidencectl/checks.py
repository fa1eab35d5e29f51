"""The vocabulary every checker speaks: named checks with a status each, and their bottom line.

This is the ground floor: crypto, timestamp, anchor, capture, verify and report all produce or read these
types, so this module imports nothing of evidencectl but the exit codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from .errors import ExitCode
from .version import __version__


class Status(StrEnum):
    """Outcome of one check, in ETSI EN 319 102-1 terms."""

    PASSED = "PASSED"
    FAILED = "FAILED"
    INDETERMINATE = "INDETERMINATE"

    @property
    def severity(self) -> int:
        """Order used to pick the worst status: PASSED < INDETERMINATE < FAILED."""
        return {"PASSED": 0, "INDETERMINATE": 1, "FAILED": 2}[self.value]

    @property
    def exit_code(self) -> ExitCode:
        """Process exit code for a verdict of this status."""
        return {
            "PASSED": ExitCode.OK,
            "INDETERMINATE": ExitCode.INDETERMINATE,
            "FAILED": ExitCode.FAILED,
        }[self.value]


@dataclass(frozen=True)
class CheckResult:
    """One named check of a verification."""

    check: str
    """Stable identifier, e.g. ``digest:evidence/a.pdf`` or ``timestamp:sha256:local``."""
    status: Status
    """PASSED, FAILED or INDETERMINATE."""
    detail: str
    """One human sentence: what was checked and what was found."""
    facts: dict[str, Any] = field(default_factory=dict)
    """Machine-readable facts (TSA name, genTime, serial, block height, tx hash…)."""
    reproduce: str | None = None
    """How to redo the check with standard tools, where that is possible."""
    reason: str | None = None
    """Stable machine reason (``FORMAT``, ``DIGEST_MISMATCH``, ``SIGNATURE``, ``NO_TRUST_ANCHOR``,
    ``NOT_INDEPENDENT``, …) for scripts; ``None`` where the status says all."""

    def to_json(self) -> dict[str, Any]:
        """JSON form used by ``verify --json`` (schemas/verification.schema.json)."""
        out: dict[str, Any] = {
            "check": self.check,
            "status": self.status.value,
            "detail": self.detail,
            "facts": self.facts,
        }
        if self.reproduce:
            out["reproduce"] = self.reproduce
        if self.reason:
            out["reason"] = self.reason
        return out


def parse_utc(text: Any) -> datetime | None:
    """An ISO 8601 UTC time (``…Z`` or ``+00:00``) as an aware datetime, or None when it is not one."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def beijing_and_utc(text: str | None) -> str:
    """``2026-03-01 18:00:00 北京时间 (UTC+8) / 2026-03-01T10:00:00Z UTC`` for a UTC time, ``-`` for None."""
    moment = parse_utc(text)
    if moment is None:
        return "-"
    beijing = moment.astimezone(timezone(timedelta(hours=8)))
    return f"{beijing.strftime('%Y-%m-%d %H:%M:%S')} 北京时间 (UTC+8) / {moment.strftime('%Y-%m-%dT%H:%M:%SZ')} UTC"


_TIME_CHECKS = ("timestamp:", "anchor:")


def latest_bound(facts: dict[str, Any]) -> datetime | None:
    """The latest moment a check's attested time may stand for: genTime plus the accuracy its TSA declares
    (RFC 3161 §2.4.2: the time is genTime ± accuracy), rounded up to the second, since the proven time says
    the evidence existed *no later than* this."""
    moment = parse_utc(facts.get("gen_time") or facts.get("time"))
    if moment is None:
        return None
    accuracy = facts.get("accuracy")
    if isinstance(accuracy, int | float) and not isinstance(accuracy, bool) and accuracy > 0:
        moment += timedelta(seconds=float(accuracy))
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


def worst(statuses: list[Status]) -> Status:
    """The bottom line of a list of statuses; an empty list is INDETERMINATE, never PASSED."""
    if not statuses:
        return Status.INDETERMINATE
    return max(statuses, key=lambda s: s.severity)


@dataclass
class VerificationReport:
    """The outcome of verifying one package."""

    package: str
    """Path of the package verified."""
    deposit_id: str | None
    """Deposit number from the manifest."""
    checks: list[CheckResult] = field(default_factory=list)
    """Every check, in the order run."""
    trust_anchors: list[dict[str, str]] = field(default_factory=list)
    """The trust anchors the verifier used (role, subject, fingerprint, source)."""
    verified_at: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    """When the verification ran (UTC)."""
    tool: str = f"evidencectl {__version__}"
    """The verifying tool and version."""
    manifest: dict[str, Any] | None = None
    """The parsed manifest (for reports)."""

    @property
    def verdict(self) -> Status:
        """The worst status of all checks; no checks is INDETERMINATE, never PASSED."""
        return worst([c.status for c in self.checks])

    def _time_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status is Status.PASSED and c.check.startswith(_TIME_CHECKS)]

    @property
    def independent_time(self) -> bool:
        """True when at least one PASSED timestamp or anchor comes from a service the depositor does not
        operate (fact ``independent``); an embedded TSA or ledger never counts, whoever trusts it."""
        return any(c.facts.get("independent") is True for c in self._time_checks())

    @property
    def proven_time(self) -> str | None:
        """The earliest PASSED genTime or block time from a trusted service (ISO UTC), or None. When the time is
        independent, only independent services count: a depositor's own TSA beside a public one must not lend
        its (freely set) earlier time to the sentence "attested by a service independent of the depositor"."""
        passed = self._time_checks()
        independent = [c for c in passed if c.facts.get("independent") is True]
        times = [moment for c in independent or passed if (moment := latest_bound(c.facts)) is not None]
        if not times:
            return None
        return min(times).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def time_summary(self, lang: str = "en") -> str:
        """One sentence saying who attests the time and whether it proves anything to a third party."""
        proven = self.proven_time
        if proven is None:
            return (
                "没有经验证的时间证明：无法证明证据存在的时间"
                if lang == "zh"
                else ("no verified timestamp or anchor: nothing proves when the evidence existed")
            )
        when = beijing_and_utc(proven)
        if self.independent_time:
            if lang == "zh":
                return f"经证明的时间 {when}，由独立于存证人的第三方服务证明"
            return f"proven time {when}, attested by a service independent of the depositor"
        if lang == "zh":
            return f"时间仅由存证人自己的内置时间戳服务或账本证明（{when}）：对第三方不具证明力"
        return f"time attested only by the depositor's own embedded TSA: proves nothing to a third party ({when})"

    def add(self, check: CheckResult) -> None:
        """Record one check as it is. Its detail is kept exact, line breaks included (an item name may hold
        one, and JSON must say which item): every human-readable output shows details through
        :func:`evidencectl.display.visible`, which writes a line break as ``<U+000A>``."""
        self.checks.append(check)

    def to_json(self) -> dict[str, Any]:
        """JSON form (schemas/verification.schema.json)."""
        return self.json_form([c.to_json() for c in self.checks])

    def json_form(self, checks: Any) -> dict[str, Any]:
        """:meth:`to_json` with ``checks`` in the place of the list of checks (a writer that streams the
        checks one by one passes a stand-in: evidencectl.verify.compact.write_json)."""
        counts = {s.value: sum(1 for c in self.checks if c.status is s) for s in Status}
        return {
            "package": self.package,
            "deposit_id": self.deposit_id,
            "verdict": self.verdict.value,
            "counts": counts,
            "checks": checks,
            "trust_anchors": self.trust_anchors,
            "independent_time": self.independent_time,
            "proven_time": self.proven_time,
            "verified_at": self.verified_at,
            "tool": self.tool,
        }
