"""The evidence service: an HTTP API over the public library face (imported only by ``evidencectl serve``).

Starlette on uvicorn: an established ASGI stack whose request bodies arrive as a stream (so uploads go to
disk chunk by chunk), with worker processes built in (``--workers``). Its imports (~0.1 s) are paid only by
``serve``; the CLI never imports this package otherwise.
"""

from __future__ import annotations

from .app import app_from_environment, create_app
from .settings import ServiceSettings

__all__ = ["ServiceSettings", "app_from_environment", "create_app", "serve"]


def serve(settings: ServiceSettings, host: str = "127.0.0.1", port: int = 8080, workers: int = 1) -> None:
    """Serve until interrupted; ``workers`` > 1 runs that many processes on one listening socket."""
    import os

    import uvicorn

    common: dict[str, object] = {"host": host, "port": port, "log_level": "warning", "server_header": False}
    if workers > 1:
        os.environ.update(settings.to_environment())  # each worker builds its app from these
        uvicorn.run("evidencectl.service.app:app_from_environment", factory=True, workers=workers, **common)  # type: ignore[arg-type]
    else:
        uvicorn.run(create_app(settings), **common)  # type: ignore[arg-type]
