"""The registry: deposits, items, an append-only hash-chained custody log, and the service's users.

:class:`Registry` is the one interface; :func:`open_registry` gives the backend that the data directory's
``config.toml`` names (``[registry] url = "postgresql://…"``), or the embedded SQLite file by default.
The PostgreSQL backend (and psycopg) is imported only when it is configured.
"""

from __future__ import annotations

from pathlib import Path

from ..context import Context
from ..errors import BadInputError
from ..i18n import _
from .accounts import now_iso
from .interface import GENESIS, OPENER, SCHEMA_VERSION, CustodyAudit, ItemRow, Registry, custody_hash
from .shared import set_sign_key
from .sqlite import SQLiteRegistry
from .users import ROLES, IssuedToken, User, acting_as, user_name

__all__ = [
    "GENESIS",
    "ROLES",
    "SCHEMA_VERSION",
    "CustodyAudit",
    "IssuedToken",
    "ItemRow",
    "Registry",
    "SQLiteRegistry",
    "User",
    "acting_as",
    "connect",
    "custody_hash",
    "set_sign_key",
    "user_name",
    "now_iso",
    "open_registry",
]


def connect(
    url: str, context: Context | Path, *, pool: int | None = None, pool_timeout: float | None = None
) -> Registry:
    """The registry at ``url``: ``postgresql://…`` (or ``postgres://…``), ``sqlite:///PATH``, or empty for
    ``registry.sqlite`` in the data directory ``context`` (a :class:`~evidencectl.context.Context` or its
    path). ``pool`` and ``pool_timeout`` bound a PostgreSQL registry's connections per process
    (``[registry] pool``, ``pool_timeout``; see :mod:`evidencectl.registry.pgpool`)."""
    if not url:
        return SQLiteRegistry.open(context)
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from .postgres import PostgresRegistry
        except ImportError as exc:
            raise BadInputError(_("a PostgreSQL registry needs psycopg: pip install 'evidencectl[postgres]'")) from exc
        from .pgpool import DEFAULT_SIZE, DEFAULT_TIMEOUT

        return PostgresRegistry(
            url,
            pool=DEFAULT_SIZE if pool is None else pool,
            pool_timeout=DEFAULT_TIMEOUT if pool_timeout is None else pool_timeout,
        )
    if url.startswith("sqlite:///"):
        return SQLiteRegistry(Path(url.removeprefix("sqlite://")))
    raise BadInputError(_("[registry] url must start with postgresql://, postgres:// or sqlite:///"))


def open_registry(ctx: Context) -> Registry:
    """The registry configured for the data directory of ``ctx``."""
    from ..config import registry_url

    config = ctx.config
    section = config.section("registry")
    pool, timeout = section.get("pool"), section.get("pool_timeout")
    if pool is not None and (type(pool) is not int or pool < 1):
        raise BadInputError(_("[registry] pool must be a whole number of connections, at least 1"), path=config.path)
    if timeout is not None and (type(timeout) not in (int, float) or timeout <= 0):
        raise BadInputError(_("[registry] pool_timeout must be a number of seconds above 0"), path=config.path)
    return connect(registry_url(config), ctx, pool=pool, pool_timeout=None if timeout is None else float(timeout))


OPENER.append(open_registry)  # Registry.open() of the interface: the configured backend
