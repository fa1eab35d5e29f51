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
from .interface import GENESIS, OPENER, SCHEMA_VERSION, CustodyAudit, ItemRow, Registry, custody_hash, now_iso
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


def connect(url: str, context: Context | Path) -> Registry:
    """The registry at ``url``: ``postgresql://…`` (or ``postgres://…``), ``sqlite:///PATH``, or empty for
    ``registry.sqlite`` in the data directory ``context`` (a :class:`~evidencectl.context.Context` or its
    path)."""
    if not url:
        return SQLiteRegistry.open(context)
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from .postgres import PostgresRegistry
        except ImportError as exc:
            raise BadInputError(_("a PostgreSQL registry needs psycopg: pip install 'evidencectl[postgres]'")) from exc
        return PostgresRegistry(url)
    if url.startswith("sqlite:///"):
        return SQLiteRegistry(Path(url.removeprefix("sqlite://")))
    raise BadInputError(_("[registry] url must start with postgresql://, postgres:// or sqlite:///"))


def open_registry(ctx: Context) -> Registry:
    """The registry configured for the data directory of ``ctx``."""
    from ..config import registry_url

    return connect(registry_url(ctx.config), ctx)


OPENER.append(open_registry)  # Registry.open() of the interface: the configured backend
