"""Court-ready reports: the deposit certificate (存证证明) and the verification report, as PDF or HTML.

Both consume a package or a :class:`~evidencectl.verify.verifier.VerificationReport` and nothing else.
reportlab and segno are imported only when a report is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import BadInputError, UsageError
from .labels import labels
from .model import Document
from .output import check_writable, wants_html, write_atomic

__all__ = ["write_deposit_certificate", "write_verification_report"]

FORMATS = ("pdf", "html")


def _render(doc: Document, fmt: str) -> bytes:
    if fmt == "html":
        from .html import render_html

        return render_html(doc)
    from .pdf import render_pdf

    return render_pdf(doc)


def _settings(settings: dict[str, str] | None) -> dict[str, str]:
    """``[report]`` of the configuration unless given (issuer, operator, filing, licence, verify_url)."""
    if settings is not None:
        return settings
    from ..config import report_settings

    return report_settings()


def write_verification_report(
    report: Any, out: Path, *, lang: str = "zh", settings: dict[str, str] | None = None
) -> None:
    """Write the report of a verification to ``out``: HTML when it ends with .html/.htm, else PDF.

    ``settings``: ``[report]`` of the configuration (read from config.toml when None)."""
    from .verification import build_verification

    labels(lang)
    check_writable(out)
    doc = build_verification(report, lang, _settings(settings))
    write_atomic(out, _render(doc, "html" if wants_html(out) else "pdf"))


def write_deposit_certificate(
    package: Path,
    out: Path,
    *,
    lang: str = "zh",
    fmt: str = "pdf",
    force: bool = False,
    trust: Any = None,
    settings: dict[str, str] | None = None,
    progress: Any = None,
) -> str:
    """Verify ``package`` and write its deposit certificate to ``out`` (``fmt`` pdf or html); returns the
    deposit id. ``progress`` follows the verification (:mod:`evidencectl.progress`).

    ``trust`` is a :class:`~evidencectl.crypto.trust.TrustStore` (default: the local one). A package that
    does not PASS is refused (BadInputError, exit 4) unless ``force``; the certificate then says so in
    bold on page one.
    """
    from ..checks import Status
    from ..verify.verifier import verify_package
    from .certificate import build_certificate
    from .facts import read_facts

    labels(lang)
    if fmt not in FORMATS:
        raise UsageError(f"unknown report format {fmt!r}: use pdf or html")
    check_writable(out)
    if trust is None:
        from ..config import home
        from ..crypto.trust import TrustStore

        trust = TrustStore.for_verification(home())
    report = verify_package(package, trust=trust, progress=progress)
    if report.verdict is not Status.PASSED and not force:
        bad = [c.check for c in report.checks if c.status is not Status.PASSED]
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise BadInputError(
            f"verification {report.verdict.value} ({shown}); no certificate written (--force writes one that says so)",
            path=package,
        )
    from ..progress import phase

    phase(progress, f"writing {out.name}")
    doc = build_certificate(read_facts(package), report, package, lang, _settings(settings))
    write_atomic(out, _render(doc, fmt))
    return str(report.deposit_id)
