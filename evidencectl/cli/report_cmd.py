"""``evidencectl report``: the deposit certificate (存证证明) of a package, as PDF or HTML."""

from __future__ import annotations

from pathlib import Path

import typer


def report(
    package: Path = typer.Argument(..., help="The evidence package (.evp)."),
    out: Path | None = typer.Option(
        None, "-o", "--output", help="The certificate to write (default: PACKAGE with .pdf or .html)."
    ),
    lang: str = typer.Option("zh", "--lang", help="Language: zh or en."),
    fmt: str | None = typer.Option(None, "--format", help="pdf or html (default: from the output name, else pdf)."),
    trust: list[str] = typer.Option(
        None,
        "--trust",
        help="Trust FILE for one role this run: tsa:FILE, signer:FILE, ledger:FILE or chain:FILE; repeatable.",
    ),
    public_tsa_roots: bool = typer.Option(
        False, "--public-tsa-roots", help="Also trust public root CAs as TSA roots (as verify does)."
    ),
    data: list[Path] = typer.Option(
        None, "--data", help="An original of a --hash-only deposit (as verify --data); repeatable."
    ),
    force: bool = typer.Option(
        False, "--force", help="Write a certificate even when verification does not pass (it says so)."
    ),
) -> None:
    """Verify a package and write its deposit certificate (存证证明).

    A package that fails verification is refused with exit 1 (3 when indeterminate) unless --force.
    Example: evidencectl report case-42.evp -o case-42.pdf --lang zh
    """
    from ..config import home
    from ..crypto.trust import TrustStore
    from ..errors import UsageError
    from ..report import write_deposit_certificate
    from ..report.output import wants_html

    if fmt is None:
        fmt = "html" if out is not None and wants_html(out) else "pdf"
    if fmt not in ("pdf", "html"):
        raise UsageError(f"unknown --format {fmt!r}: use pdf or html")
    if lang not in ("zh", "en"):
        raise UsageError(f"unknown --lang {lang!r}: use zh or en")
    if out is None:
        out = package.with_suffix(f".{fmt}")
    from .registry_view import record_event
    from .render import progress_callback

    # The same trust as `verify`: a package verify passes must not be refused here.
    store = TrustStore.for_verification(home(), list(trust or []), public_tsa_roots=public_tsa_roots)
    with progress_callback("verifying") as progress:
        deposit_id = write_deposit_certificate(
            package, out, lang=lang, fmt=fmt, force=force, trust=store, data=list(data or []), progress=progress
        )
    record_event(deposit_id, "report", {"package": str(package), "output": str(out), "format": fmt, "lang": lang})
    typer.echo(f"Wrote {out}")


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to the top-level application."""
    app.command(name="report")(report)
