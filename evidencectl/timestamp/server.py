"""The embedded TSA over HTTP: a WSGI application served by waitress."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..errors import UsageError
from ..i18n import _
from .authority import EmbeddedTSA
from .client import QUERY_TYPE, REPLY_TYPE

MAX_REQUEST = 64 * 1024
"""Largest request accepted; a TimeStampReq is under 200 bytes."""

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def _plain(start: StartResponse, status: str, text: str) -> list[bytes]:
    """A short text/plain answer for anything that is not a time-stamp reply."""
    body = (text + "\n").encode()
    start(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def make_app(tsa: EmbeddedTSA) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """WSGI app: POST ``application/timestamp-query`` to any path; ``GET /chain.pem`` gives the chain."""

    def app(environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "GET" and environ.get("PATH_INFO") in ("/chain.pem", "/cert"):
            body = tsa.chain_pem()
            start("200 OK", [("Content-Type", "application/x-pem-file"), ("Content-Length", str(len(body)))])
            return [body]
        if method != "POST":
            return _plain(start, "405 Method Not Allowed", "POST an RFC 3161 TimeStampReq")
        kind = str(environ.get("CONTENT_TYPE", "")).split(";")[0].strip().lower()
        if kind != QUERY_TYPE:
            return _plain(start, "400 Bad Request", f"Content-Type must be {QUERY_TYPE}")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _plain(start, "400 Bad Request", "bad Content-Length")
        if length > MAX_REQUEST:
            return _plain(start, "413 Payload Too Large", f"requests are limited to {MAX_REQUEST} bytes")
        body = environ["wsgi.input"].read(min(length, MAX_REQUEST)) if length else b""
        reply = tsa.respond(body)
        start("200 OK", [("Content-Type", REPLY_TYPE), ("Content-Length", str(len(reply)))])
        return [reply]

    return app


def serve(
    tsa: EmbeddedTSA, host: str = "127.0.0.1", port: int = 3161, *, listening: Callable[[], None] | None = None
) -> None:
    """Serve ``tsa`` until interrupted (waitress also caps the body at :data:`MAX_REQUEST`). The address is
    bound first: ``listening`` runs once it is (the command line says "serving" only then), and an address
    that cannot be had (in use, not this machine's, a port below 1024 without the right) is a UsageError
    naming it, exit 2."""
    from waitress.server import create_server  # type: ignore[import-untyped]

    try:
        server = create_server(
            make_app(tsa), host=host, port=port, max_request_body_size=MAX_REQUEST, ident="evidencectl"
        )
    except OSError as exc:
        raise UsageError(
            _("cannot listen on {host}:{port}: {reason}; give another --host or --port").format(
                host=host, port=port, reason=exc.strerror or exc
            )
        ) from exc
    if listening is not None:
        listening()
    server.run()
