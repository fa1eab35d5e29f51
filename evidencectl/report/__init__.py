"""Court-ready reports: the deposit certificate (存证证明) and the verification report, as PDF or HTML.

Both consume a package or a :class:`~evidencectl.verify.verifier.VerificationReport` and nothing else.
reportlab and segno are imported only when a report is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import IndeterminateError, UsageError, VerificationError
from ..i18n import _
from .labels import labels
from .model import Document
from .output import check_writable, wants_html, write_atomic

__all__ = ["check_certificate", "write_certificate", "write_deposit_certificate", "write_verification_report"]

FORMATS = ("pdf", "html")


def _write(doc: Document, fmt: str, out: Path, seal: Any = None) -> None:
    """Render and write ``doc``; an HTML report's attachments are written beside it as ``OUT-STEM.NAME``;
    a PDF is signed with ``seal`` (:class:`~evidencectl.report.seal.SealOptions`) when given."""
    if fmt == "html":
        from .html import render_html

        beside = {a.name: f"{out.stem}.{a.name}" for a in doc.attachments}
        for a in doc.attachments:
            write_atomic(out.with_name(beside[a.name]), a.data)
        write_atomic(out, render_html(doc, beside))
        return
    from .pdf import render_pdf

    pdf = render_pdf(doc)
    if seal is not None:
        from .seal import seal_pdf

        pdf = seal_pdf(pdf, seal)
    write_atomic(out, pdf)


def _settings(settings: dict[str, str] | None) -> dict[str, str]:
    """``[report]`` of the configuration unless given (issuer, operator, filing, licence, verify_url): the
    default data directory's when None (the CLI passes its context's, so config.toml is read once)."""
    if settings is not None:
        return settings
    from ..config import report_settings
    from ..context import Context

    return report_settings(Context.default().config)


def write_verification_report(
    report: Any, out: Path, *, lang: str = "zh", settings: dict[str, str] | None = None
) -> None:
    """Write the report of a verification to ``out``: HTML when it ends with .html/.htm, else PDF.

    ``settings``: ``[report]`` of the configuration (read from config.toml when None)."""
    from .verification import build_verification

    labels(lang)
    check_writable(out)
    doc = build_verification(report, lang, _settings(settings))
    _write(doc, "html" if wants_html(out) else "pdf", out)


def check_certificate(out: Path, *, lang: str = "zh", fmt: str = "pdf", seal: Any = None) -> None:
    """Refuse, before any verification, a certificate that could not be written: an unknown ``fmt`` or
    ``lang``, a signed HTML one, an output that cannot be written (UsageError, BadInputError)."""
    labels(lang)
    if fmt not in FORMATS:
        raise UsageError(_("unknown report format {fmt!r}: use pdf or html").format(fmt=fmt))
    if seal is not None and fmt != "pdf":
        raise UsageError(_("only a PDF report can be signed (--sign): use --format pdf"))
    check_writable(out)


def write_certificate(
    report: Any,
    package: Path,
    out: Path,
    *,
    lang: str = "zh",
    fmt: str = "pdf",
    force: bool = False,
    settings: dict[str, str] | None = None,
    seal: Any = None,
    progress: Any = None,
) -> str:
    """Write the deposit certificate of ``package`` from its verification ``report`` (a
    :class:`~evidencectl.checks.VerificationReport`, as :func:`evidencectl.verify` returns it); returns the
    deposit id. A package that did not PASS is refused unless ``force`` — VerificationError (exit 1) when
    FAILED, IndeterminateError (exit 3) when INDETERMINATE; the certificate then says so on page one.
    ``seal`` (:class:`~evidencectl.report.seal.SealOptions`) signs a PDF certificate (PAdES)."""
    from ..checks import Status
    from ..progress import phase
    from .certificate import build_certificate
    from .facts import read_facts

    check_certificate(out, lang=lang, fmt=fmt, seal=seal)
    if report.verdict is not Status.PASSED and not force:
        bad = [c.check for c in report.checks if c.status is not Status.PASSED]
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        # The package was read: refusing it is a verdict, not bad input (DESIGN §7).
        refusal = VerificationError if report.verdict is Status.FAILED else IndeterminateError
        raise refusal(
            f"verification {report.verdict.value} ({shown}); no certificate written (--force writes one that says so)",
            path=package,
        )
    phase(progress, f"writing {out.name}")
    doc = build_certificate(read_facts(package, report.manifest), report, package, lang, _settings(settings))
    _write(doc, fmt, out, seal)
    return str(report.deposit_id)


def write_deposit_certificate(
    package: Path,
    out: Path,
    *,
    lang: str = "zh",
    fmt: str = "pdf",
    force: bool = False,
    trust: Any = None,
    settings: dict[str, str] | None = None,
    data: Sequence[Path] = (),
    seal: Any = None,
    progress: Any = None,
) -> str:
    """Verify ``package`` (:func:`evidencectl.verify`) and write its deposit certificate to ``out``
    (:func:`write_certificate`; ``fmt`` pdf or html); returns the deposit id. ``progress`` follows the
    verification (:mod:`evidencectl.progress`).

    ``trust`` is a :class:`~evidencectl.crypto.trust.TrustStore` (default: what the data directory trusts,
    as for ``verify``). ``data``: the originals of a ``--hash-only`` deposit, as ``verify --data`` takes them.
    """
    from ..verify import verify

    check_certificate(out, lang=lang, fmt=fmt, seal=seal)
    report = verify(package, trust=trust, data=data, require_independent=False, progress=progress)
    return write_certificate(
        report, package, out, lang=lang, fmt=fmt, force=force, settings=settings, seal=seal, progress=progress
    )
