"""The rows every report shows about time: the proven time (Beijing time and UTC) and who attests it."""

from __future__ import annotations

from ..checks import VerificationReport
from .answer import beijing
from .model import Cell, t


def time_rows(report: VerificationReport, L: dict[str, str]) -> list[tuple[str, Cell]]:
    """``proven time`` and ``attested by`` rows, in the document's language; own-services-only time is said in
    bold: it proves nothing to a third party (docs/security.md §2a)."""
    proven = report.proven_time
    if proven is None:
        who, bold = L["time_none"], True
    elif report.independent_time:
        who, bold = L["time_independent"], False
    else:
        who, bold = L["time_own"], True
    return [(L["proven_time"], [t(beijing(proven, L))]), (L["time_attested"], [t(who, bold=bold)])]
