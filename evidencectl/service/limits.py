"""A per-client rate limit for the public endpoints: so many requests a minute from one address.

Counted in the registry (:func:`evidencectl.registry.shared.count_hit`), so that every worker process,
and every machine on one PostgreSQL, counts one client's requests together: with four workers a client
gets the limit, not four times it. Behind a reverse proxy the address is the proxy's unless uvicorn is
told to trust its forwarded headers. It is a brake on one client hogging the verifier, not an accounting
system: fixed windows of ``window`` seconds (a minute unless ``serve --verify-window`` says otherwise),
the previous one weighted by how much of it is still inside the last ``window`` seconds.
"""

from __future__ import annotations

from ..errors import ServiceError
from .auth import Registries
from .problems import Problem


class RateLimit:
    """At most ``per_window`` requests from one address in any ``window`` seconds, across processes."""

    def __init__(self, per_window: int, registries: Registries, bucket: str = "verify", window: float = 60.0) -> None:
        self.per_window, self.registries, self.window = per_window, registries, window
        # The window's length is part of the bucket: windows of two lengths are numbered differently.
        self.bucket = bucket if window == 60.0 else f"{bucket}/{window:g}s"

    def check(self, address: str) -> None:
        """Count a request from ``address``, or raise a 429 Problem (with Retry-After) if it is one too many.

        Blocking (a registry write): call it from a worker thread."""
        if self.per_window <= 0:
            return
        from ..registry.shared import count_hit

        try:
            hits, wait = count_hit(self.registries.get(), f"{self.bucket}:{address}", window=self.window)
        except ServiceError as exc:
            raise Problem("service-unavailable", " ".join(str(exc).split())) from None
        if hits > self.per_window:
            span = "a minute" if self.window == 60.0 else f"{self.window:g} s"
            raise Problem(
                "too-many-requests",
                f"at most {self.per_window} requests in {span} from one address; retry in {wait} s",
                headers={"Retry-After": str(wait)},
            )
