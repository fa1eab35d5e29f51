"""The recorded traffic as files: a WARC of every response, a HAR network log and the response headers.

Chromium hands over payloads after removing any content or transfer coding, so those headers are kept under
the ``X-Archive-Orig-`` prefix (the convention of web archives) and the WARC record holds the payload bytes
exactly as the browser received them; the HAR names each payload by SHA-256 and WARC record id so that the
two logs can be checked against each other without trusting either.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from typing import Any, BinaryIO

from ..version import __version__
from .model import Exchange

# Headers that describe an encoding the payload no longer has once the browser decoded it.
_DECODED = {"content-encoding", "transfer-encoding"}


def _status_line_protocol(protocol: str) -> str:
    # WARC readers parse "HTTP/x.y"; HTTP/2 and HTTP/3 are written as such, the browser's label stays in HAR.
    p = protocol.lower()
    if p in ("h2", "http/2", "http/2.0"):
        return "HTTP/2"
    if p in ("h3", "http/3"):
        return "HTTP/3"
    if p == "http/1.0":
        return "HTTP/1.0"
    return "HTTP/1.1"


def archived_headers(ex: Exchange) -> list[tuple[str, str]]:
    """Response headers as written into the WARC: encodings the payload no longer carries are renamed."""
    names = {n.lower() for n, _ in ex.response_headers}
    decoded = any(
        n.lower() == "content-encoding" and v.strip().lower() not in ("", "identity") for n, v in ex.response_headers
    ) or any(n.lower() == "transfer-encoding" for n, _ in ex.response_headers)
    out: list[tuple[str, str]] = []
    for name, value in ex.response_headers:
        low = name.lower()
        if low in _DECODED or (decoded and low == "content-length"):
            out.append((f"X-Archive-Orig-{name}", value))
        else:
            out.append((name, value))
    if decoded or "content-length" not in names:
        out.append(("Content-Length", str(len(ex.body))))
    return out


def record_id(ex: Exchange, index: int) -> str:
    """A stable WARC-Record-ID for the response record of the ``index``-th exchange of a capture."""
    seed = f"{index}\x00{ex.url}\x00{ex.started}\x00{hashlib.sha256(ex.body).hexdigest()}"
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, seed)}>"


def write_warc(target: BinaryIO, exchanges: list[Exchange], info: dict[str, str]) -> list[str]:
    """Write a gzipped WARC/1.1 (warcinfo, then a request and a response record per exchange) to
    ``target``; returns the response record ids in exchange order."""
    from warcio.statusandheaders import StatusAndHeaders  # type: ignore[import-untyped]
    from warcio.warcwriter import WARCWriter  # type: ignore[import-untyped]

    writer = WARCWriter(target, gzip=True, warc_version="WARC/1.1")
    writer.write_record(writer.create_warcinfo_record("capture.warc.gz", info))
    ids: list[str] = []
    for index, ex in enumerate(exchanges):
        rid = record_id(ex, index)
        ids.append(rid)
        proto = _status_line_protocol(ex.protocol)
        warc_headers = {"WARC-Date": ex.started, "WARC-Record-ID": rid}
        if ex.server_ip:
            warc_headers["WARC-IP-Address"] = ex.server_ip
        http = StatusAndHeaders(f"{ex.status} {ex.status_text}".strip(), archived_headers(ex), protocol=proto)
        response = writer.create_warc_record(
            ex.url,
            "response",
            payload=io.BytesIO(ex.body),
            length=len(ex.body),
            http_headers=http,
            warc_headers_dict=warc_headers,
        )
        writer.write_record(response)
        path = ex.url.split("://", 1)[-1].partition("/")[2]
        req_http = StatusAndHeaders(f"{ex.method} /{path}", ex.request_headers, protocol=proto, is_http_request=True)
        request = writer.create_warc_record(
            ex.url,
            "request",
            payload=io.BytesIO(b""),
            length=0,
            http_headers=req_http,
            warc_headers_dict={"WARC-Date": ex.started, "WARC-Concurrent-To": rid},
        )
        writer.write_record(request)
    return ids


def _span(timing: dict[str, float], start: str, end: str) -> float:
    a, b = timing.get(start, -1.0), timing.get(end, -1.0)
    return round(b - a, 3) if a >= 0 and b >= a else -1


def _header_list(headers: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": n, "value": v} for n, v in headers]


def build_har(
    exchanges: list[Exchange], ids: list[str], page_url: str, started: str, browser_version: str
) -> dict[str, Any]:
    """A HAR 1.2 log of the exchanges; ``_sha256`` and ``_warcRecordId`` tie each entry to its WARC record."""
    entries: list[dict[str, Any]] = []
    for ex, rid in zip(exchanges, ids, strict=True):
        t = ex.timing
        timings = {
            "blocked": -1,
            "dns": _span(t, "domainLookupStart", "domainLookupEnd"),
            "connect": _span(t, "connectStart", "connectEnd"),
            "ssl": _span(t, "secureConnectionStart", "connectEnd"),
            "send": 0,
            "wait": _span(t, "requestStart", "responseStart"),
            "receive": _span(t, "responseStart", "responseEnd"),
        }
        location = next((v for n, v in ex.response_headers if n.lower() == "location"), "")
        mime = next((v for n, v in ex.response_headers if n.lower() == "content-type"), "")
        entries.append(
            {
                "pageref": "page_1",
                "startedDateTime": ex.started,
                "time": max(t.get("responseEnd", 0.0), 0.0),
                "request": {
                    "method": ex.method,
                    "url": ex.url,
                    "httpVersion": ex.protocol,
                    "headers": _header_list(ex.request_headers),
                    "queryString": [],
                    "cookies": [],
                    "headersSize": -1,
                    "bodySize": 0,
                },
                "response": {
                    "status": ex.status,
                    "statusText": ex.status_text,
                    "httpVersion": ex.protocol,
                    "headers": _header_list(ex.response_headers),
                    "cookies": [],
                    "content": {"size": len(ex.body), "mimeType": mime},
                    "redirectURL": location,
                    "headersSize": -1,
                    "bodySize": len(ex.body),
                },
                "cache": {},
                "timings": timings,
                "serverIPAddress": ex.server_ip or "",
                "_resourceType": ex.resource_type,
                "_sha256": hashlib.sha256(ex.body).hexdigest(),
                "_warcRecordId": rid,
            }
        )
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "evidencectl", "version": __version__},
            "browser": {"name": "Chromium", "version": browser_version},
            "pages": [{"startedDateTime": started, "id": "page_1", "title": page_url, "pageTimings": {}}],
            "entries": entries,
        }
    }


def headers_record(exchanges: list[Exchange]) -> list[dict[str, Any]]:
    """Every response's status line and headers as received, and the request headers sent."""
    return [
        {
            "url": ex.url,
            "method": ex.method,
            "status": ex.status,
            "status_text": ex.status_text,
            "protocol": ex.protocol,
            "server_ip": ex.server_ip,
            "server_port": ex.server_port,
            "request_headers": [[n, v] for n, v in ex.request_headers],
            "response_headers": [[n, v] for n, v in ex.response_headers],
        }
        for ex in exchanges
    ]
