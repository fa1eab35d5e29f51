"""``evidencectl capture``: record a web page with headless Chromium and deposit the record."""

from __future__ import annotations

from pathlib import Path

import typer

from ..context import Context
from ..display import visible
from ..i18n import _
from . import deposit_options as shared
from .render import console, err_console, print_deposit, print_json, stage_progress

_HELP = """Capture a web page as evidence (网页取证) and deposit it as one package.

Records a full-page screenshot, a WARC of every response, an MHTML snapshot, a PDF print, a HAR network
log, the TLS certificate chain, DNS answers, the response headers and an environment record, then
timestamps and anchors them like any deposit.

Example: evidencectl capture https://shop.example/item/123 -o item123.evp --case "（2026）渝0192民初88号"

Exit codes: 0 captured and deposited; 2 usage (bad URL, output exists); 4 bad input (host unreachable,
TLS error without --insecure, nothing to capture); 5 service (browser, TSA or anchor failed).
"""


def capture(
    url: str = typer.Argument(..., help="The http:// or https:// page to capture."),
    out: Path = typer.Option(..., "-o", "--output", help="The evidence package to write (.evp)."),
    case: str | None = shared.CASE,
    depositor: str | None = shared.DEPOSITOR,
    note: str | None = shared.NOTE,
    tsa: list[str] = shared.TSA,
    tsa_quorum: int = shared.TSA_QUORUM,
    anchor: list[str] = shared.ANCHOR,
    contract: str | None = shared.CONTRACT,
    sign: bool = shared.SIGN,
    key: Path | None = shared.KEY,
    passphrase_env: str | None = shared.PASSPHRASE_ENV,
    passphrase_file: Path | None = shared.PASSPHRASE_FILE,
    video: bool = typer.Option(False, "--video", help="Also record a video of the browser session."),
    scroll: bool = typer.Option(False, "--scroll", help="Scroll to the bottom first (lazy content)."),
    wait_for: str | None = typer.Option(None, "--wait-for", help="CSS selector to wait for before recording."),
    timeout: float = typer.Option(
        30.0, "--timeout", min=1.0, help="Seconds to wait for the page to load; it is then taken as it is."
    ),
    insecure: bool = typer.Option(False, "--insecure", help="Capture despite TLS errors (the error is recorded)."),
    browser: Path = typer.Option(Path("/usr/bin/chromium"), "--browser", help="Chromium executable."),
    force: bool = typer.Option(False, "--force", help="Replace an existing package."),
    as_json: bool = typer.Option(False, "--json", help="Print exactly one JSON document on stdout."),
) -> None:
    """Capture a web page as evidence and deposit it as one package."""
    from ..capture import CaptureOptions
    from ..capture import capture as run_capture

    ctx = Context.default()
    statement = shared.statement_options(
        ctx, case, depositor, note, sign=sign, key=key, passphrase_env=passphrase_env, passphrase_file=passphrase_file
    )
    opts = CaptureOptions(
        url=url,
        out=out,
        statement=statement,
        services=shared.service_options(tsa, anchor, tsa_quorum, contract),
        timeout=timeout,
        wait_for=wait_for,
        scroll=scroll,
        video=video,
        insecure=insecure,
        force=force,
        browser=str(browser),
    )
    with stage_progress(url) as progress:
        result = run_capture(opts, ctx, progress)
    if as_json:
        print_json(result.to_json())
        shared.exit_if_pending([result.deposit])
        return
    from rich.markup import escape

    for n in result.notes:
        err_console().print(_("[yellow]note:[/] {note}").format(note=escape(visible(n))))
    console().print(
        _("Captured {url} -> {final_url}").format(url=escape(visible(url)), final_url=escape(visible(result.final_url)))
    )
    for name in result.artefacts:
        console().print(f"  {escape(visible(name))}")
    print_deposit(result.deposit)
    shared.exit_if_pending([result.deposit])


def register(app: typer.Typer) -> None:
    """Add the top-level ``capture`` command to ``app``."""
    app.command("capture", help=_HELP)(capture)
