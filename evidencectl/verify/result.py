"""Verification results as data: named checks with a status each, and their bottom line."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..errors import ExitCode


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
        return out


def worst(statuses: list[Status]) -> Status:
    """The bottom line of a list of statuses; an empty list is INDETERMINATE, never PASSED."""
    if not statuses:
        return Status.INDETERMINATE
    return max(statuses, key=lambda s: s.severity)
