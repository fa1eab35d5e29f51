"""The proven time of a package without verifying its evidence: only its timestamp and anchor checks.

Apart from verify/timecheck.py (which verify/services.py uses), so that no two modules import each other.
"""

from __future__ import annotations

from typing import Any

from ..checks import VerificationReport


def attested_time(path: Any, trust: Any, known: dict[str, Any] | None = None) -> VerificationReport:
    """A report holding only the timestamp and anchor checks of the package at ``path`` (for ``inspect`` and
    ``cases``, which show the proven time without verifying the evidence); raises EvidenceError for a package
    that cannot be read. ``known``: the deposit id and roots from the registry, so that a large package's
    manifest need not be read."""
    from ..package.reader import PackageReader
    from .services import check_anchors, check_timestamps
    from .timecheck import set_aside_own_times_before_created

    with PackageReader(path) as reader:
        manifest = known if known is not None else reader.read_json("manifest.json")
        report = VerificationReport(str(path), manifest.get("deposit_id"), manifest=manifest)
        if isinstance(manifest.get("roots"), dict) and isinstance(manifest.get("deposit_id"), str):
            times_from = len(report.checks)
            check_timestamps(report, reader, manifest, trust)
            check_anchors(report, reader, manifest, trust, False)
            set_aside_own_times_before_created(report, manifest, times_from)
    return report
