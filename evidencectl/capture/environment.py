"""The environment record: what machine, software, network and clock a capture was made with."""

from __future__ import annotations

import hashlib
import platform
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..context import Context
from ..version import __version__
from .browser import FLAGS
from .model import BrowserCapture, CaptureOptions
from .network import HOSTS_FILE, TlsRecord, hosts_file_sha256, proxy_settings

RECORD_FORMAT = "evidencectl-capture/1"
"""Value of the record's ``format`` field."""


def iso_now() -> str:
    """The current UTC time, ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _os_release() -> str | None:
    try:
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        return None
    return None


def _package_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def clock_check(spec: str, ctx: Context, url: str, start: str) -> tuple[dict[str, Any], bytes]:
    """Ask the TSA ``spec`` to timestamp the capture's opening statement and compare its genTime with the
    local clock; returns the facts and the TimeStampResp (kept as ``clock.tsr``).

    Raises ServiceError (exit 5) when the TSA does not answer.
    """
    from ..timestamp.client import tsa_from_spec
    from ..timestamp.token import iso_utc, parse_timestamp

    opening = f"evidencectl capture\n{url}\n{start}\n".encode()
    tsa = tsa_from_spec(spec, ctx)
    before = datetime.now(UTC)
    der = tsa.timestamp(hashlib.sha256(opening).digest(), "sha256")
    after = datetime.now(UTC)
    info = parse_timestamp(der)
    midpoint = before + (after - before) / 2
    offset = (info.gen_time - midpoint).total_seconds()
    # genTime is often whole seconds; the offset is only known to within that plus the round trip.
    resolution = 0.001 if info.gen_time.microsecond else 1.0
    uncertainty = (after - before).total_seconds() / 2 + resolution + (info.accuracy or 0.0)
    facts = {
        "tsa": spec,
        "tsa_name": info.tsa,
        "gen_time": iso_utc(info.gen_time),
        "local_request": before.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "local_response": after.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "offset_seconds": round(offset, 3),
        "uncertainty_seconds": round(uncertainty, 3),
        "imprint_of": "sha256 of 'evidencectl capture\\n<url>\\n<start>\\n'",
        "token": "capture/clock.tsr",
    }
    return facts, der


def environment_record(
    opts: CaptureOptions,
    bc: BrowserCapture,
    tls: TlsRecord | None,
    clock: dict[str, Any],
    start: str,
    end: str,
    artefacts: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """The JSON environment record of one capture."""
    addresses: dict[str, list[str]] = {}
    for ex in bc.exchanges:
        host = urlsplit(ex.url).hostname or ""
        if ex.server_ip and ex.server_ip not in addresses.setdefault(host, []):
            addresses[host].append(ex.server_ip)
    main = next((ex for ex in bc.exchanges if ex.url == bc.final_url), None)
    return {
        "format": RECORD_FORMAT,
        "tool": {
            "name": "evidencectl",
            "version": __version__,
            "playwright": _package_version("playwright"),
            "warcio": _package_version("warcio"),
            "python": sys.version.split()[0],
        },
        "browser": {
            "executable": opts.browser,
            "version": bc.browser_version,
            "user_agent": bc.user_agent,
            "flags": ["--headless", *FLAGS],
            "profile": "fresh, deleted after the capture",
        },
        "os": {
            "system": platform.system(),
            "release": platform.release(),
            "distribution": _os_release(),
            "machine": platform.machine(),
            "hostname": socket.gethostname(),
        },
        "proxy": proxy_settings(),
        "hosts_file": {"path": str(HOSTS_FILE), "sha256": hosts_file_sha256()},
        "clock": clock,
        "capture": {
            "url": opts.url,
            "final_url": bc.final_url,
            "status": main.status if main else None,
            "start": start,
            "end": end,
            "timeout_seconds": opts.timeout,
            "wait_for": opts.wait_for,
            "scroll": opts.scroll,
            "video": opts.video,
            "insecure": opts.insecure,
            "complete": not bc.notes,
        },
        "addresses": addresses,
        "tls": tls.to_json() if tls else None,
        "tls_browser": bc.security,
        "notes": bc.notes,
        "incomplete_requests": bc.incomplete,
        "artefacts": artefacts,
    }
