"""What a capture is asked to do and what it recorded: options, HTTP exchanges, browser output."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..deposit.options import ServiceOptions, StatementOptions

DEFAULT_TIMEOUT = 30.0
"""Seconds a capture waits for the page's load event before taking it as it is."""
FOLDER = "capture"
"""Name of the folder deposited; every item is named ``capture/<artefact>``."""
ENVIRONMENT = f"{FOLDER}/environment.json"
"""Item name of the environment record; its presence marks a deposit as a web capture."""
STAGES = ("launching", "loading", "waiting", "screenshot", "archiving", "hashing", "timestamping", "anchoring")
"""The steps of a capture in order, as its progress reports them (:meth:`evidencectl.progress.Progress.phase`):
start Chromium, load the URL, wait for the page to settle, record screenshot/MHTML/PDF, write WARC and HAR,
then the deposit's hashing, timestamps and anchors."""


@dataclass
class CaptureOptions:
    """Everything a capture can be asked to do."""

    url: str
    """The page to capture (``http`` or ``https``)."""
    out: Path
    """Where the ``.evp`` package goes."""
    statement: StatementOptions = field(default_factory=StatementOptions)
    """Case, depositor, note and signing key of the deposit (as ``deposit``'s)."""
    services: ServiceOptions = field(default_factory=ServiceOptions)
    """TSAs (the first also measures the local clock offset), quorum, anchors and contract (as ``deposit``'s)."""
    timeout: float = DEFAULT_TIMEOUT
    """Seconds to wait for the load event (and for ``wait_for``); the page is then taken as it is."""
    wait_for: str | None = None
    """A CSS selector that must appear before the page is recorded."""
    scroll: bool = False
    """Scroll to the bottom first so that lazily loaded content is fetched."""
    video: bool = False
    """Record a video of the browser session (WebM)."""
    insecure: bool = False
    """Continue despite TLS errors (they are recorded in the environment record)."""
    force: bool = False
    """Replace an existing output."""
    browser: str = "/usr/bin/chromium"
    """The Chromium executable to drive."""


@dataclass
class Exchange:
    """One HTTP response the browser received, as served."""

    url: str
    """The requested URL."""
    method: str
    """Request method."""
    status: int
    """HTTP status code."""
    status_text: str
    """Reason phrase."""
    protocol: str
    """Protocol as the browser reports it (``http/1.1``, ``h2``…)."""
    request_headers: list[tuple[str, str]]
    """Request headers as sent, in order."""
    response_headers: list[tuple[str, str]]
    """Response headers as received, in order, duplicates kept."""
    body: bytes
    """The response payload (empty for redirects and bodiless responses)."""
    started: str
    """When the request started, ISO 8601 UTC with milliseconds."""
    timing: dict[str, float]
    """Resource timing in milliseconds relative to ``started`` (-1: not applicable)."""
    server_ip: str | None = None
    """Address of the server that answered."""
    server_port: int | None = None
    """Port of the server that answered."""
    resource_type: str = "other"
    """What the browser fetched it as (``document``, ``image``, ``script``…)."""


@dataclass
class BrowserCapture:
    """What one browser session produced."""

    exchanges: list[Exchange] = field(default_factory=list)
    """Completed responses in the order they finished."""
    screenshot: bytes | None = None
    """Full-page PNG."""
    pdf: bytes | None = None
    """The page printed to PDF."""
    mhtml: bytes | None = None
    """Single-file MHTML snapshot of the rendered page."""
    video: bytes | None = None
    """WebM video of the session, when asked."""
    download: tuple[str, bytes] | None = None
    """(suggested file name, bytes) when the URL was a download rather than a page."""
    final_url: str = ""
    """URL of the page after redirects."""
    browser_version: str = ""
    """Chromium version."""
    user_agent: str = ""
    """User-Agent the browser sent."""
    notes: list[str] = field(default_factory=list)
    """What did not go as a complete capture (timeout, pending requests, TLS errors ignored)."""
    incomplete: list[dict[str, Any]] = field(default_factory=list)
    """Requests that failed or had not finished when the page was recorded."""
    security: dict[str, Any] | None = None
    """TLS details of the main document as the browser saw them."""
