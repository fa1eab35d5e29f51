"""The evidence service as an ASGI application (Starlette): routes, problem answers, settings.

Starlette, not FastAPI: the API is fixed and described by a hand-written OpenAPI document (openapi.py),
so FastAPI's generated one and its pydantic layer (~0.35 s of imports per worker here) would buy nothing.
Verification is blocking, CPU-bound work; it runs in Starlette's thread pool, several at once.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..context import Context
from ..errors import BadInputError, EvidenceError, ServiceError, UsageError
from . import deposits
from .auth import Registries, SingleAuthorization, authorize
from .limits import RateLimit
from .openapi import openapi_document
from .page import check_file
from .page import install as install_page
from .problems import PROBLEM_TYPE, Problem
from .resumer import lifespan
from .settings import ServiceSettings
from .uploads import declared_length, remove_spool, save_stream

PACKAGE_TYPES = ("application/vnd.evidencectl.package+zip", "application/zip", "application/octet-stream")
UPLOAD_NAME = "upload.evp"
"""The name a posted package is verified under (and so the ``package`` of the answer): never the client's."""

log = logging.getLogger("evidencectl.service")


def _verify_file(ctx: Context, path: Path) -> dict[str, Any]:
    # As `evidencectl verify --json` in this data directory: the same trust store, the same document.
    from ..config import require_independent_default
    from ..crypto.trust import TrustStore
    from ..verify.verifier import verify_package

    base = ctx.base
    store = TrustStore.for_verification(ctx)
    # A court's installation ([verify] require_independent) answers as its own CLI does.
    report = verify_package(path, trust=store, require_independent=require_independent_default(ctx.config))
    report.package = UPLOAD_NAME
    doc = report.to_json()
    # Where the server keeps its trust store is none of the client's business: sources relative to it.
    for anchor in doc.get("trust_anchors", []):
        source = anchor.get("source")
        if isinstance(source, str) and Path(source).is_relative_to(base):
            anchor["source"] = Path(source).relative_to(base).as_posix()
    return doc


async def verify(request: Request) -> Response:
    """``POST /api/v1/verify``: the body is a package; the answer is the ``verify --json`` document."""
    if "deposit" in request.query_params:  # one file checked against a deposit (page.py)
        return await check_file(request)
    settings: ServiceSettings = request.app.state.settings
    await run_in_threadpool(request.app.state.verify_limit.check, request.client.host if request.client else "?")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in PACKAGE_TYPES:
        raise Problem("unsupported-media-type", f"POST the package itself as {PACKAGE_TYPES[0]}")
    declared_length(request.headers.get("content-length"), settings.max_upload)
    path = await save_stream(
        request.stream(),
        settings.upload_dir,
        UPLOAD_NAME,
        settings.max_upload,
        settings.idle_timeout,
        settings.upload_timeout,
    )
    try:
        doc = await run_in_threadpool(_verify_file, settings.ctx, path)
    except BadInputError as exc:
        # The library's one line, without the spool path (the client knows its file by its own name).
        raise Problem("unprocessable-package", " ".join(str(exc).split()).replace(str(path), UPLOAD_NAME)) from None
    except ServiceError as exc:
        raise Problem("service-unavailable", " ".join(str(exc).split())) from None
    except EvidenceError as exc:
        raise Problem("unprocessable-package", " ".join(str(exc).split())) from None
    finally:
        remove_spool(path)
    return JSONResponse(doc)


def _lookup(registries: Registries, authorization: str | None, asked: list[tuple[str, str]]) -> dict[str, Any]:
    registry = registries.get()
    user = authorize(registry, authorization, ("depositor", "auditor", "admin"))  # who asks, before what
    if len(asked) != 1:
        raise Problem("invalid-request", "give exactly one of sha256=HEX or sm3=HEX")
    algorithm, digest = asked[0]
    # A depositor finds only their own deposits: one client's deposits are not another's to find.
    try:
        mine = (user.user_id or "-") if user.role == "depositor" else None  # a user without an id owns nothing
        found = registry.lookup(algorithm, digest, owner_id=mine)
    except UsageError as exc:
        raise Problem("invalid-request", str(exc)) from None
    deposits: dict[str, dict[str, Any]] = {}
    for row in found:
        entry = deposits.setdefault(
            row["deposit_id"],
            {k: row[k] for k in ("deposit_id", "case_no", "status", "created")} | {"items": []},
        )
        entry["items"].append({k: row[k] for k in ("item_id", "name", "kind", "size", "sm3", "sha256")})
    return {"algorithm": algorithm, "digest": digest.lower(), "deposits": list(deposits.values())}


async def lookup(request: Request) -> Response:
    """``GET /api/v1/lookup?sha256=…`` (or ``sm3=…``): the deposits holding an item with that digest."""
    asked = [(k, v) for k, v in request.query_params.multi_items() if k in ("sha256", "sm3")]
    registries: Registries = request.app.state.registries
    doc = await run_in_threadpool(_lookup, registries, request.headers.get("authorization"), asked)
    return JSONResponse(doc)


async def openapi(request: Request) -> Response:
    """``GET /openapi.json``: the API's description."""
    return JSONResponse(openapi_document())


def _problem_response(problem: Problem, request: Request) -> Response:
    return JSONResponse(
        problem.document(request.url.path), status_code=problem.status, media_type=PROBLEM_TYPE, headers=problem.headers
    )


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return _problem_response(exc, request)


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    names = {404: "not-found", 405: "method-not-allowed"}
    name = names.get(exc.status_code, "not-found" if exc.status_code < 500 else "internal")
    # Starlette's 405 carries the Allow header RFC 9110 requires; keep it (and any other it sets).
    return _problem_response(Problem(name, str(exc.detail), headers=dict(exc.headers or {})), request)


async def _on_service(request: Request, exc: Exception) -> Response:
    # The registry or a service it needs is down or busy (PostgreSQL restarted, its connection pool
    # exhausted): the client may try again, so 503 wherever it happens, never a 500.
    return _problem_response(Problem("service-unavailable", " ".join(str(exc).split())), request)


async def _on_error(request: Request, exc: Exception) -> Response:
    # The traceback goes to the server's log, never to the client.
    log.exception("unexpected error answering %s %s", request.method, request.url.path)
    return _problem_response(Problem("internal", f"unexpected {type(exc).__name__}; see the server's log"), request)


def create_app(settings: ServiceSettings) -> Starlette:
    """The service's ASGI application for ``settings``."""
    app = Starlette(
        routes=[
            Route("/api/v1/verify", verify, methods=["POST"]),
            Route("/api/v1/lookup", lookup, methods=["GET"]),
            Route("/api/v1/deposits", deposits.create_deposit, methods=["POST"]),
            Route("/api/v1/deposits/{deposit_id}", deposits.get_deposit, methods=["GET"]),
            Route("/api/v1/deposits/{deposit_id}/package", deposits.get_package, methods=["GET"]),
            Route("/api/v1/deposits/{deposit_id}/certificate.pdf", deposits.get_certificate, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
        ],
        exception_handlers={
            Problem: _on_problem,
            HTTPException: _on_http,
            ServiceError: _on_service,
            Exception: _on_error,
        },
        middleware=[Middleware(SingleAuthorization)],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.registries = Registries(settings.ctx)
    app.state.verify_limit = RateLimit(settings.verify_rate, app.state.registries, window=settings.verify_window)
    install_page(app)  # GET/POST /v/{id}: the QR code's verification page
    return app


def app_from_environment() -> Starlette:
    """The application of a worker process, from the variables :meth:`ServiceSettings.to_environment` set."""
    env = os.environ
    return create_app(
        ServiceSettings(
            ctx=Context(Path(env["EVIDENCECTL_HOME"])),
            max_upload=int(env.get("EVIDENCECTL_SERVICE_MAX_UPLOAD", 512 << 20)),
            idle_timeout=float(env.get("EVIDENCECTL_SERVICE_IDLE_TIMEOUT", 30.0)),
            verify_rate=int(env.get("EVIDENCECTL_SERVICE_VERIFY_RATE", 60)),
            verify_window=float(env.get("EVIDENCECTL_SERVICE_VERIFY_WINDOW", 60.0)),
            upload_timeout=float(env.get("EVIDENCECTL_SERVICE_UPLOAD_TIMEOUT", 600.0)),
            resume_interval=float(env.get("EVIDENCECTL_SERVICE_RESUME_INTERVAL", 60.0)),
        )
    )
