"""Users, roles and API tokens: what a token looks like, how it is stored, how a name is accepted.

A token is shown once, when it is issued, and only its SHA-256 is stored: a copy of the registry (a backup,
a dump sent to support) lets nobody act as a user. The token carries a short public id so that the stored
hash is found by an index lookup and then compared in constant time, never by a lookup on the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from ..errors import UsageError
from ..i18n import _

ROLES = ("depositor", "auditor", "admin")
"""depositor: deposits and reads its own deposits; auditor: reads every deposit and the log; admin: users."""

TOKEN_PREFIX = "evd"
_MAX_NAME = 100


@dataclass(frozen=True)
class User:
    """A person or system allowed to call the service."""

    name: str
    """The user's name, NFC-normalised (as given to ``users add``)."""
    role: str
    """One of :data:`ROLES`."""
    created: str
    """When the user was added (UTC, ISO 8601)."""
    sign_key: str | None = None
    """The user's own signing key (PEM file, relative to the data directory), or None."""
    user_id: str | None = None
    """Random, given when the user is added and never reused: what a deposit's ownership refers to."""


@dataclass(frozen=True)
class IssuedToken:
    """A token just issued: the secret exists only here and in what the caller shows the user."""

    user: User
    """Whom the token authenticates."""
    token_id: str
    """The token's public id (logged in the custody log, safe to show)."""
    token: str
    """The bearer token itself; never stored."""


def user_name(name: str) -> str:
    """The canonical form of a user name, or a UsageError saying what is wrong with it.

    NFC normalisation makes two spellings of 张律师 (or of é) one user; control characters and surrounding
    spaces are refused because a name is printed in the custody log and in reports.
    """
    canonical = unicodedata.normalize("NFC", name)
    if not canonical or canonical != canonical.strip():
        raise UsageError(_("a user name must not be empty or start or end with spaces"))
    if len(canonical) > _MAX_NAME:
        raise UsageError(_("a user name has at most {MAX_NAME} characters").format(MAX_NAME=_MAX_NAME))
    if any(unicodedata.category(c).startswith("C") for c in canonical):
        raise UsageError(_("a user name must not contain control or invisible format characters"))
    return canonical


def role_name(role: str) -> str:
    """``role`` if it is one of :data:`ROLES`, else a UsageError listing them."""
    if role not in ROLES:
        raise UsageError(_("unknown role {role!r}: choose one of {join}").format(role=role, join=", ".join(ROLES)))
    return role


def new_token() -> tuple[str, str]:
    """A fresh ``(token_id, token)``: 64 random bits of id and 256 random bits of secret."""
    token_id = secrets.token_hex(8)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")
    return token_id, f"{TOKEN_PREFIX}_{token_id}_{secret}"


def new_user_id() -> str:
    """A fresh user id: 128 random bits (hex), so that no two users, now or later, share one."""
    return secrets.token_hex(16)


def token_hash(token: str) -> str:
    """What the registry stores for a token: SHA-256 of its UTF-8 bytes, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_id_of(token: str) -> str | None:
    """The public id inside a token, or None when it does not have a token's shape."""
    parts = token.split("_", 2)  # the secret's base64url alphabet has "_" too
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or len(parts[1]) != 16 or len(parts[2]) != 43:
        return None
    try:
        int(parts[1], 16)
    except ValueError:
        return None
    return parts[1]


def token_matches(token: str, stored_hash: str) -> bool:
    """Whether ``token`` hashes to ``stored_hash``, compared in constant time."""
    return hmac.compare_digest(token_hash(token), stored_hash)


_ACTING: ContextVar[tuple[str | None, str | None, str | None]] = ContextVar(
    "evidencectl_acting", default=(None, None, None)
)


@contextmanager
def acting_as(actor: str, owner: User | None = None) -> Iterator[None]:
    """Within the block, custody entries written without an explicit actor carry ``actor``, and deposits
    recorded are owned by service user ``owner`` (by user id; the name is kept beside it for people).

    The service wraps each request's work in this, so that a deposit made through the library's
    ``deposit()`` (which knows nothing of users) is recorded as that user's, in the same transactions.
    A context variable: each thread and each asyncio task sees only its own request's user.
    """
    token = _ACTING.set((actor, owner.name if owner else None, owner.user_id if owner else None))
    try:
        yield
    finally:
        _ACTING.reset(token)


def acting() -> tuple[str | None, str | None, str | None]:
    """The ``(actor, owner name, owner id)`` set by :func:`acting_as`, or ``(None, None, None)``."""
    return _ACTING.get()
