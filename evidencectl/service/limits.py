"""A per-client rate limit for the public endpoints: so many requests a minute from one address.

Counted in the registry (:func:`evidencectl.registry.shared.count_hit`), so that every worker process,
and every machine on one PostgreSQL, counts one client's requests together: with four workers a client
gets the limit, not four times it. Behind a reverse proxy the address is the proxy's unless uvicorn is
told to trust its forwarded headers. It is a brake on one client hogging the verifier, not an accounting
system: a fixed window of one minute.
"""

from __future__ import annotations

from ..errors import ServiceError
from .auth import Registries
from .problems import Problem


class RateLimit:
    """At most ``per_minute`` requests from one address in each clock minute, across processes."""

    def __init__(self, per_minute: int, registries: Registries, bucket: str = "verify") -> None:
        self.per_minute, self.registries, self.bucket = per_minute, registries, bucket

    def check(self, address: str) -> None:
        """Count a request from ``address``, or raise a 429 Problem (with Retry-After) if it is one too many.

        Blocking (a registry write): call it from a worker thread."""
        if self.per_minute <= 0:
            return
        from ..registry.shared import count_hit

        try:
            hits, wait = count_hit(self.registries.get(), f"{self.bucket}:{address}")
        except ServiceError as exc:
            raise Problem("service-unavailable", " ".join(str(exc).split())) from None
        if hits > self.per_minute:
            raise Problem(
                "too-many-requests",
                f"at most {self.per_minute} requests a minute from one address; retry in {wait} s",
                headers={"Retry-After": str(wait)},
            )
