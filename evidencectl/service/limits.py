"""A per-client rate limit for the public endpoints: so many requests per minute from one address.

Kept in each worker process's memory (a sliding window of request times per address), so with N workers
a client gets up to N times the limit; behind a reverse proxy the address is the proxy's unless uvicorn
is told to trust its forwarded headers. It is a brake on one client hogging the verifier, not an
accounting system.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from .problems import Problem

WINDOW = 60.0


class RateLimit:
    """At most ``per_minute`` requests from one address in any 60 seconds."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, address: str) -> None:
        """Count a request from ``address``, or raise a 429 Problem (with Retry-After) if it is one too many."""
        if self.per_minute <= 0:
            return
        now = time.monotonic()
        with self._lock:
            seen = self._seen.setdefault(address, deque())
            while seen and now - seen[0] >= WINDOW:
                seen.popleft()
            if len(seen) >= self.per_minute:
                wait = max(1, math.ceil(WINDOW - (now - seen[0])))
                raise Problem(
                    "too-many-requests",
                    f"at most {self.per_minute} requests a minute from one address; retry in {wait} s",
                    headers={"Retry-After": str(wait)},
                )
            seen.append(now)
            if len(self._seen) > 10_000:  # forget idle addresses rather than grow without bound
                for key in [k for k, v in self._seen.items() if not v or now - v[-1] >= WINDOW]:
                    del self._seen[key]
