"""RFC 9457 problem details: every error the service returns, with a stable ``type`` and never a traceback."""

from __future__ import annotations

from typing import Any

PROBLEM_TYPE = "application/problem+json"
_BASE = "urn:evidencectl:problem:"

TITLES = {
    "unauthorized": (401, "A valid API token is needed"),
    "forbidden": (403, "This user's role does not allow it"),
    "not-found": (404, "No such resource"),
    "method-not-allowed": (405, "Method not allowed here"),
    "not-ready": (409, "The deposit is not complete yet"),
    "request-timeout": (408, "The upload stalled"),
    "payload-too-large": (413, "The upload is larger than this service accepts"),
    "unsupported-media-type": (415, "This content type is not accepted here"),
    "unprocessable-package": (422, "The package cannot be read"),
    "invalid-request": (422, "The request's parameters are not valid"),
    "too-many-requests": (429, "Too many requests; retry later"),
    "service-unavailable": (503, "A service this request needs is unavailable"),
    "internal": (500, "The request failed inside the service"),
}
"""Problem name -> (HTTP status, title). The names, and so the ``type`` URIs, never change once published."""


class Problem(Exception):
    """An error answered as ``application/problem+json``."""

    def __init__(self, name: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        if name not in TITLES:
            raise ValueError(f"unknown problem {name!r}")
        super().__init__(detail)
        self.name, self.detail, self.extra = name, detail, extra
        self.headers = headers or {}
        """HTTP headers the answer must carry (``WWW-Authenticate`` on a 401)."""

    @property
    def status(self) -> int:
        """The HTTP status code."""
        return TITLES[self.name][0]

    def document(self, instance: str | None = None) -> dict[str, Any]:
        """The problem details object (RFC 9457 §3)."""
        doc: dict[str, Any] = {
            "type": _BASE + self.name,
            "title": TITLES[self.name][1],
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            doc["instance"] = instance
        doc.update(self.extra)
        return doc
