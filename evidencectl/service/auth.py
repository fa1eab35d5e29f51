"""Who is asking: bearer tokens checked against the registry, and the registry each worker thread uses.

Starlette runs blocking work in a pool of threads; a sqlite3 connection belongs to the thread that opened
it, so each thread keeps a registry of its own (opened on first use, reused after: a PostgreSQL
connection per request would cost more than a small lookup).
"""

from __future__ import annotations

import threading
from typing import Any

from ..context import Context
from ..errors import EvidenceError, ServiceError
from ..registry import Registry, User
from .problems import PROBLEM_TYPE, Problem

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="evidencectl"'}


class Registries:
    """One open registry per thread, for one data directory."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._local = threading.local()

    def get(self) -> Registry:
        """This thread's registry."""
        registry: Registry | None = getattr(self._local, "registry", None)
        if registry is None:
            try:
                registry = Registry.open(self.ctx)
            except ServiceError as exc:
                raise Problem("service-unavailable", " ".join(str(exc).split())) from None
            except EvidenceError as exc:
                raise Problem("internal", f"the registry cannot be opened: {' '.join(str(exc).split())}") from None
            self._local.registry = registry
        return registry


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer …`` header, or a 401 Problem."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem("unauthorized", "send the API token as 'Authorization: Bearer TOKEN'", headers=_CHALLENGE)
    return token.strip()


def authorize(registry: Registry, authorization: str | None, roles: tuple[str, ...]) -> User:
    """The user a request's token belongs to, if their role is one of ``roles``; else a 401 or 403 Problem."""
    try:
        user = registry.authenticate(bearer_token(authorization))
    except ServiceError as exc:
        raise Problem("service-unavailable", " ".join(str(exc).split())) from None
    if user is None:
        raise Problem("unauthorized", "the API token is not valid (mistyped, or its user was removed)",
                      headers=_CHALLENGE)  # fmt: skip
    if user.role not in roles:
        raise Problem("forbidden", f"the role {user.role!r} may not do this; it needs one of: {', '.join(roles)}")
    return user


class SingleAuthorization:
    """ASGI middleware: a request with two ``Authorization`` headers is refused (401) before any route.

    RFC 9110 makes Authorization a single field; with two (a depositor's token and an auditor's), which
    one counts would depend on the hop reading them (a proxy may keep the last, Starlette the first).
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and sum(name == b"authorization" for name, _ in scope["headers"]) > 1:
            from starlette.responses import JSONResponse

            problem = Problem("unauthorized", "send one Authorization header, not several", headers=_CHALLENGE)
            await JSONResponse(
                problem.document(scope.get("path")), 401, headers=problem.headers, media_type=PROBLEM_TYPE
            )(scope, receive, send)
            return
        await self.app(scope, receive, send)
