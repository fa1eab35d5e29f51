"""What the server processes of one registry share: who is resuming which pending deposit, and how often an
address asked a rate-limited endpoint.

Both live in the registry (SQLite or PostgreSQL) rather than in a process's memory, so that four workers,
or four machines on one PostgreSQL, resume a deposit once and count one client's requests together.
Each operation is one short write transaction; a claim is serialised by the same lock as the custody
log's head (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so two processes cannot both
take it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..i18n import _
from .interface import Registry


def claim(
    registry: Registry, deposit_id: str, holder: str, seconds: float, gone: Callable[[str], bool] | None = None
) -> bool:
    """Take deposit ``deposit_id`` (or another name, such as ``package:NAME``) for ``holder`` for
    ``seconds``; False if another holder has it.

    A claim lapses on its own (a process killed while resuming does not block the deposit for ever), and
    at once when ``gone(holder)`` says its holder no longer runs; the holder renews it by claiming again
    and gives it up with :func:`release`.
    """
    now = time.time()
    with registry._write():
        registry._lock_custody()
        rows = registry._query("SELECT holder, expires FROM claims WHERE deposit_id = ?", [deposit_id])
        other = rows[0]["holder"] if rows and rows[0]["holder"] != holder else None
        if other is not None and float(rows[0]["expires"]) > now and not (gone is not None and gone(str(other))):
            return False
        registry._execute(
            "INSERT INTO claims (deposit_id, holder, expires) VALUES (?,?,?) "
            "ON CONFLICT(deposit_id) DO UPDATE SET holder = excluded.holder, expires = excluded.expires",
            [deposit_id, holder, now + seconds],
        )
        return True


def release(registry: Registry, deposit_id: str, holder: str) -> None:
    """Give up ``holder``'s claim on ``deposit_id`` (nothing if it is not theirs any more)."""
    with registry._write():
        registry._execute("DELETE FROM claims WHERE deposit_id = ? AND holder = ?", [deposit_id, holder])


def claims(registry: Registry, prefix: str) -> dict[str, str]:
    """The claims not lapsed whose name starts with ``prefix``, as ``{name: holder}``."""
    rows = registry._query(
        "SELECT deposit_id, holder FROM claims WHERE deposit_id LIKE ? AND expires > ?", [f"{prefix}%", time.time()]
    )
    return {str(r["deposit_id"]): str(r["holder"]) for r in rows}


def count_hit(registry: Registry, bucket: str, now: float | None = None, window: float = 60.0) -> tuple[float, int]:
    """Count one request in ``bucket`` (e.g. ``verify:ADDRESS``); returns how many requests it has had in
    the last ``window`` seconds, this one included, and the seconds until one more would be counted less.

    One row a bucket and clock window (the ``minute`` column numbers windows of ``window`` seconds since
    the epoch), the same for every process that asks. The last ``window`` seconds are estimated as this
    window's count plus the previous one's weighted by how much of it is still inside (a sliding-window
    counter): a client cannot double its rate by straddling a window's end. Windows older than the
    previous one are removed as it goes. Callers that use several window lengths name them in ``bucket``.
    """
    now = time.time() if now is None else now
    minute = int(now // window)
    with registry._write():
        registry._execute(
            "INSERT INTO rate_hits (bucket, minute, hits) VALUES (?,?,1) "
            "ON CONFLICT(bucket, minute) DO UPDATE SET hits = rate_hits.hits + 1",
            [bucket, minute],
        )
        rows = registry._query(
            "SELECT minute, hits FROM rate_hits WHERE bucket = ? AND minute >= ?", [bucket, minute - 1]
        )
        hits = {int(r["minute"]): int(r["hits"]) for r in rows}
        if hits.get(minute) == 1:  # first of its minute: a good moment to forget the old ones
            registry._execute("DELETE FROM rate_hits WHERE minute < ?", [minute - 1])
    into = now / window - minute  # how far into this window, 0..1
    estimate = hits.get(minute, 0) + hits.get(minute - 1, 0) * (1 - into)
    return estimate, max(1, int((minute + 1) * window - now + 0.999))


def set_sign_key(registry: Registry, name: str, key: str | None, *, actor: str | None = None) -> None:
    """Record (or, with None, forget) user ``name``'s signing key file, and log it in the custody log."""
    from ..errors import UsageError
    from .users import user_name

    with registry._write():
        registry._lock_custody()
        user = registry.user(user_name(name))
        if user is None:
            raise UsageError(_("no user {name!r}").format(name=name))
        registry._execute("UPDATE users SET sign_key = ? WHERE name = ?", [key, user.name])
        registry._append_custody(None, "user-key", {"user": user.name, "key": key}, actor)
