"""The part of the registry interface that keeps the service's users and their tokens, and what every
backend provides underneath (a write transaction, a lock on the custody log's head, statements).

A user has a name (what people type and read) and a **user id**: random, made with the user, never
reused. A deposit made through the service records both (``deposits.owner``, ``deposits.owner_id``), and
who may see it is decided by the id: after ``users remove alice`` and ``users add alice`` the new alice
is another user, and the old alice's deposits are not hers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from ..errors import UsageError
from ..i18n import _
from .users import (
    IssuedToken,
    User,
    new_token,
    new_user_id,
    role_name,
    token_hash,
    token_id_of,
    token_matches,
    user_name,
)

_USER_COLUMNS = "name, role, created, sign_key, user_id"


def now_iso() -> str:
    """Current UTC time, ISO 8601 with seconds and a Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Accounts(ABC):
    """Users and tokens, on the primitives a backend supplies."""

    # -- what a backend provides -------------------------------------------------------------------------

    @abstractmethod
    def _write(self) -> AbstractContextManager[None]:
        """A write transaction: committed when the block ends, rolled back when it raises."""

    @abstractmethod
    def _lock_custody(self) -> None:
        """Inside a write transaction: hold the custody log's head until the transaction ends."""

    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement."""

    @abstractmethod
    def _executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each row."""

    @abstractmethod
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a query, as dicts keyed by column name."""

    @abstractmethod
    def schema_version(self) -> int:
        """The schema version the database is at."""

    @abstractmethod
    def close(self) -> None:
        """Close the database."""

    @abstractmethod
    def _append_custody(self, deposit_id: str | None, event: str, detail: dict[str, Any], actor: str | None) -> None:
        """Inside a write transaction: append one custody entry (the registry's own, in interface.py)."""

    # -- users and tokens --------------------------------------------------------------------------------

    def _issue(self, user: User, actor: str | None, event: str) -> IssuedToken:
        token_id, token = new_token()
        self._execute(
            "INSERT INTO tokens (token_id, user_name, token_hash, created) VALUES (?,?,?,?)",
            (token_id, user.name, token_hash(token), now_iso()),
        )
        detail = {"user": user.name, "role": user.role, "token_id": token_id}
        if event == "user-add":
            detail["user_id"] = user.user_id or ""  # the log says which user of this name it was
        self._append_custody(None, event, detail, actor)
        return IssuedToken(user, token_id, token)

    def add_user(self, name: str, role: str, *, actor: str | None = None) -> IssuedToken:
        """Add a user with ``role`` and a new user id, and issue its first token (logged, with ``actor``)."""
        name, role = user_name(name), role_name(role)
        with self._write():
            self._lock_custody()  # before the check, so that two processes cannot both add the same name
            if self.user(name) is not None:
                raise UsageError(_("user {name!r} exists already").format(name=name))
            user = User(name, role, now_iso(), None, new_user_id())
            self._execute(
                "INSERT INTO users (name, role, created, user_id) VALUES (?,?,?,?)",
                (user.name, role, user.created, user.user_id),
            )
            return self._issue(user, actor, "user-add")

    def issue_token(self, name: str, *, actor: str | None = None) -> IssuedToken:
        """Issue another token for an existing user (the old ones stay valid until the user is removed)."""
        with self._write():
            self._lock_custody()
            user = self.user(user_name(name))
            if user is None:
                raise UsageError(_("no user {name!r}").format(name=name))
            return self._issue(user, actor, "token-issue")

    def remove_user(self, name: str, *, actor: str | None = None) -> User:
        """Remove a user and every token of theirs; the custody log keeps what they did, and their
        deposits stay theirs (by user id): no later user of the same name gets them."""
        with self._write():
            self._lock_custody()
            user = self.user(user_name(name))
            if user is None:
                raise UsageError(_("no user {name!r}").format(name=name))
            self._execute("DELETE FROM tokens WHERE user_name = ?", [user.name])
            self._execute("DELETE FROM users WHERE name = ?", [user.name])
            self._append_custody(None, "user-remove", {"user": user.name, "role": user.role}, actor)
            return user

    def user(self, name: str) -> User | None:
        """One user, or None."""
        rows = self._query(f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?", [name])
        return User(**rows[0]) if rows else None

    def users(self) -> list[User]:
        """Every user, by name."""
        return [User(**r) for r in self._query(f"SELECT {_USER_COLUMNS} FROM users ORDER BY name")]

    def authenticate(self, token: str) -> User | None:
        """The user a bearer token belongs to, or None for a wrong, malformed or revoked token."""
        token_id = token_id_of(token)
        rows = (
            self._query(
                "SELECT u.name, u.role, u.created, u.sign_key, u.user_id, t.token_hash "
                "FROM tokens t JOIN users u ON u.name = t.user_name WHERE t.token_id = ?",
                [token_id],
            )
            if token_id
            else []
        )
        # Compare against something even when the id is unknown, so that timing does not tell ids apart.
        stored = str(rows[0].pop("token_hash")) if rows else "0" * 64
        return User(**rows[0]) if token_matches(token, stored) and rows else None
