"""``evidencectl report``: the deposit certificate (存证证明) of a package, as PDF or HTML."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..i18n import _

if TYPE_CHECKING:
    from ..context import Context


def report(
    package: Path = typer.Argument(..., help="The evidence package (.evp)."),
    out: Path | None = typer.Option(
        None, "-o", "--output", help="The certificate to write (default: PACKAGE with .pdf or .html)."
    ),
    lang: str | None = typer.Option(
        None, "--lang", help="Language of the certificate and messages: zh or en (default zh, else as the messages)."
    ),
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
    sign: bool = typer.Option(
        False, "--sign", help="Sign the PDF (PAdES): with --sign-key/--sign-cert, else this installation's seal."
    ),
    sign_key: Path | None = typer.Option(None, "--sign-key", help="PEM private key (ECDSA or RSA) for --sign."),
    sign_cert: Path | None = typer.Option(None, "--sign-cert", help="PEM certificate of --sign-key."),
    sign_tsa: str | None = typer.Option(
        None, "--sign-tsa", help="RFC 3161 TSA URL for the signature timestamp (PAdES B-T)."
    ),
    passphrase_env: str | None = typer.Option(
        None, "--passphrase-env", help="Environment variable holding the passphrase of --sign-key."
    ),
    force: bool = typer.Option(
        False, "--force", help="Write a certificate even when verification does not pass (it says so)."
    ),
) -> None:
    """Verify a package and write its deposit certificate (存证证明).

    A package that fails verification is refused with exit 1 (3 when indeterminate) unless --force.
    Example: evidencectl report case-42.evp -o case-42.pdf --lang zh
    """
    from .. import Context, TrustStore, verify
    from ..config import report_settings
    from ..errors import UsageError
    from ..report import check_certificate, write_certificate
    from ..report.output import wants_html

    if fmt is None:
        fmt = "html" if out is not None and wants_html(out) else "pdf"
    if fmt not in ("pdf", "html"):
        raise UsageError(_("unknown --format {fmt!r}: use pdf or html").format(fmt=fmt))
    from ..i18n import document_language

    lang = document_language(lang)
    if lang not in ("zh", "en"):
        raise UsageError(_("unknown --lang {lang!r}: use zh or en").format(lang=lang))
    if out is None:
        out = package.with_suffix(f".{fmt}")
    from .registry_view import record_event
    from .render import progress_callback

    # The same trust as `verify`: a package verify passes must not be refused here.
    ctx = Context.default()
    store = TrustStore.for_verification(ctx, list(trust or []), public_tsa_roots=public_tsa_roots)
    seal = _seal(ctx, sign, sign_key, sign_cert, sign_tsa, passphrase_env) if sign else None
    check_certificate(out, lang=lang, fmt=fmt, seal=seal)
    with progress_callback("verifying") as progress:
        result = verify(package, trust=store, data=list(data or []), context=ctx, progress=progress)
        deposit_id = write_certificate(
            result,
            package,
            out,
            lang=lang,
            fmt=fmt,
            force=force,
            seal=seal,
            progress=progress,
            settings=report_settings(ctx.config),
        )
    record_event(ctx, deposit_id, "report", {"package": str(package), "output": str(out), "format": fmt, "lang": lang})
    typer.echo(_("Wrote {out}").format(out=out))


def _seal(ctx: Context, sign: bool, key: Path | None, cert: Path | None, tsa: str | None, env: str | None) -> object:
    """The signing options of ``--sign``: the given key and certificate, or the installation's seal."""
    import os

    from ..errors import UsageError
    from ..report.seal import SealOptions, installation_seal

    if (key is None) != (cert is None):
        raise UsageError(_("--sign-key and --sign-cert go together"))
    if key is None or cert is None:
        key, cert = installation_seal(ctx)
    passphrase = None
    if env:
        if env not in os.environ:
            raise UsageError(_("--passphrase-env {env}: the variable is not set").format(env=env))
        passphrase = os.environ[env].encode()
    return SealOptions(key, cert, passphrase, tsa)


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to the top-level application."""
    app.command(name="report")(report)
