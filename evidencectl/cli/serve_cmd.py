"""``evidencectl serve``: the evidence service (HTTP API) on this data directory's registry and trust store."""

from __future__ import annotations

import typer

from ..config import home
from ..errors import UsageError
from ..i18n import _


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the top-level command."""
    app.command("serve")(serve)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (put a TLS proxy in front)."),
    port: int = typer.Option(8080, "--port", help="TCP port."),
    workers: int = typer.Option(1, "--workers", help="Server processes."),
    max_upload: int = typer.Option(512, "--max-upload", metavar="MIB", help="Largest upload accepted, MiB."),
    idle_timeout: float = typer.Option(30.0, "--upload-idle-timeout", help="Seconds an upload may stall."),
    verify_rate: int = typer.Option(
        60, "--verify-rate", help="Verifications a window from one address, all workers together (0: no limit)."
    ),
    verify_window: float = typer.Option(60.0, "--verify-window", help="Seconds of the --verify-rate window."),
    upload_timeout: float = typer.Option(600.0, "--upload-timeout", help="Seconds a whole upload may take."),
    resume_interval: float = typer.Option(
        60.0, "--resume-interval", help="Seconds between retries of pending deposits (0: never)."
    ),
) -> None:
    """Serve the evidence API (deposits, verification, lookup; GET /openapi.json) until interrupted.

    Example: evidencectl serve --host 127.0.0.1 --port 8080 --workers 4
    """
    if (
        workers < 1
        or max_upload < 1
        or idle_timeout <= 0
        or upload_timeout <= 0
        or verify_rate < 0
        or verify_window <= 0
        or resume_interval < 0
    ):
        raise UsageError(
            _(
                "--workers and --max-upload must be at least 1, --upload-idle-timeout, --upload-timeout and "
                "--verify-window above 0, --verify-rate and --resume-interval 0 or more"
            )
        )
    # Imported here: the web stack costs ~0.1 s that no other command should pay.
    from ..context import Context
    from ..service import ServiceSettings
    from ..service import serve as run

    settings = ServiceSettings(
        ctx=Context(home()),
        max_upload=max_upload << 20,
        idle_timeout=idle_timeout,
        verify_rate=verify_rate,
        verify_window=verify_window,
        upload_timeout=upload_timeout,
        resume_interval=resume_interval,
    )
    typer.echo(
        _("evidencectl service on http://{host}:{port}/ ({workers} worker(s))").format(
            host=host, port=port, workers=workers
        ),
        err=True,
    )
    run(settings, host=host, port=port, workers=workers)
