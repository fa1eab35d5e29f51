"""RFC 5322 / MIME messages: headers, Received chain, bodies and attachments, DKIM and ARC.

Parsing uses the stdlib's ``compat32`` policy on purpose: it never raises on malformed mail and keeps
raw 8-bit header bytes (as surrogate escapes), which :mod:`.text` then decodes with charset fallbacks.
Every body and attachment becomes a :class:`ChildPart` holding its transfer-decoded bytes.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import email.utils
import re
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from ..i18n import _
from .analysis import Analysis, ChildPart
from .mailauth import check_arc, check_dkim
from .parts import PartNamer
from .text import decode_bytes, decode_header_value, excerpt

#: Characters of decoded body text kept in a body part's metadata (the full text is in its data).
TEXT_EXCERPT = 2000
#: Deepest nesting of multiparts and attached messages followed (a crafted mail can nest without end).
MAX_DEPTH = 12
_ADDRESS_HEADERS = ("From", "To", "Cc", "Reply-To", "Sender")
_SINGLE_HEADERS = (
    "Subject",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Return-Path",
    "X-Mailer",
    "User-Agent",
)
_UNKNOWN_LOCAL_ZONE = re.compile(r"\s-0000\s*(?:\([^()]*\)\s*)?$")
_RECEIVED_CLAUSE = re.compile(r"\b(from|by|via|with|id|for)\s+([^\s()]+)", re.IGNORECASE)


def parse_date(raw: str) -> tuple[str | None, str | None]:
    """Parse an RFC 5322 date: (ISO-8601 UTC with ``Z``, problem). A date without a zone is read as UTC."""
    try:
        dt = email.utils.parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None, f"unparseable date {raw.strip()[:80]!r}"
    problem = None
    if dt.tzinfo is None:
        # "-0000" is RFC 5322's way to say the time is UTC and the sender's zone is not told (§3.3): a
        # zone, not a missing one. Python reads it as a naive time, as it does a zone it does not know.
        if not _UNKNOWN_LOCAL_ZONE.search(raw):
            problem = f"date {raw.strip()[:80]!r} has no time zone; read as UTC"
        dt = dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"), problem
    except (OverflowError, ValueError):
        return None, f"date {raw.strip()[:80]!r} out of range"


def comment_spans(text: str) -> list[tuple[int, int]]:
    """The outermost RFC 5322 comments of ``text`` as (start, end) spans: comments nest, ``\\(`` is a
    quoted-pair, and a comment left open runs to the end."""
    spans: list[tuple[int, int]] = []
    depth, start, i = 0, 0, 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "(":
            start = i if depth == 0 else start
            depth += 1
        elif c == ")" and depth:
            depth -= 1
            if depth == 0:
                spans.append((start, i + 1))
        i += 1
    if depth:
        spans.append((start, len(text)))
    return spans


def parse_received(value: str) -> dict[str, Any]:
    """Split one Received header into its ``from``/``by``/``with``/``id``/``for`` clauses and its time.

    A clause's value is its word and the comment right after it (``from mx (mx.example [192.0.2.1])``).
    Words inside comments are not clauses, however deeply the comments nest: in
    ``(using TLSv1.2 with cipher ECDHE (256/256 bits))`` "with" is part of the comment.
    """
    flat = " ".join(value.split())
    comments = comment_spans(flat)
    semis = [m.start() for m in re.finditer(";", flat) if not any(a <= m.start() < b for a, b in comments)]
    clauses, when = (flat[: semis[-1]], flat[semis[-1] + 1 :]) if semis else (flat, "")
    hop: dict[str, Any] = {"raw": flat}
    for m in _RECEIVED_CLAUSE.finditer(clauses):
        if any(a <= m.start() < b for a, b in comments):
            continue
        text = m.group(2)
        after = next((span for span in comments if span[0] in (m.end(), m.end() + 1)), None)
        if after is not None:
            text += " " + clauses[after[0] : after[1]]
        hop.setdefault(m.group(1).lower(), text)
    hop["time"] = when.strip() or None
    hop["time_utc"] = parse_date(when)[0] if when.strip() else None
    return hop


def _addresses(text: str) -> list[dict[str, str]]:
    return [{"name": n, "address": a} for n, a in email.utils.getaddresses([text]) if n or a]


def header_metadata(msg: email.message.Message, warnings: list[str]) -> dict[str, Any]:
    """From, To, Cc, Date (raw and UTC), Subject, Message-ID, In-Reply-To and the Received chain."""
    meta: dict[str, Any] = {}
    for name in _ADDRESS_HEADERS:
        raw = _raw_all(msg, name)
        if raw:
            texts = [_decoded(str(v), name, warnings) for v in raw]
            meta[name.lower()] = {"text": ", ".join(texts), "addresses": _addresses(", ".join(texts))}
    for name in _SINGLE_HEADERS:
        values = _raw_all(msg, name)
        if values:
            meta[name.lower()] = _decoded(values[0], name, warnings)
    dates = _raw_all(msg, "Date")
    if dates:
        date = dates[0]
        iso, problem = parse_date(str(date))
        meta["date"] = {"raw": " ".join(str(date).split()), "utc": iso}
        if problem:
            warnings.append(_("Date header: {problem}").format(problem=problem))
    meta["received"] = [parse_received(_decoded(str(v), "Received", warnings)) for v in _raw_all(msg, "Received")]
    meta["header_count"] = len(msg.keys())
    return meta


def _raw_all(msg: email.message.Message, name: str) -> list[str]:
    # raw_items() keeps raw 8-bit header bytes as surrogate escapes; get() would turn them into U+FFFD.
    key = name.lower()
    return [str(v) for k, v in msg.raw_items() if k.lower() == key]


def _decoded(raw: str, name: str, warnings: list[str]) -> str:
    text, problems = decode_header_value(raw)
    warnings.extend(f"{name} header: {p}" for p in problems)
    return text


def _filename(part: email.message.Message, warnings: list[str]) -> str | None:
    try:
        name = part.get_filename()
    except Exception as exc:  # RFC 2231 parameters can be malformed beyond what the parser tolerates
        warnings.append(_("attachment file name unreadable: {exc}").format(exc=exc))
        return None
    return None if name is None else _decoded(str(name), "filename", warnings)


def _leaves(part: email.message.Message, depth: int = 0) -> list[email.message.Message]:
    # Like walk(), but an attached message (message/rfc822) is a leaf: its parts belong to it, not to us.
    if part.get_content_type() == "message/rfc822" and depth > 0:
        return [part]
    payload = part.get_payload()
    if not part.is_multipart() or not isinstance(payload, list) or depth > MAX_DEPTH:
        return [part]
    return [leaf for sub in payload if isinstance(sub, email.message.Message) for leaf in _leaves(sub, depth + 1)]


def mime_parts(msg: email.message.Message, warnings: list[str], namer: PartNamer, depth: int = 0) -> list[ChildPart]:
    """The leaf parts of ``msg`` (bodies, attachments, attached messages, others) in document order."""
    out: list[ChildPart] = []
    for part in _leaves(msg):
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = _filename(part, warnings)
        try:
            payload = part.get_payload(decode=True)
        except Exception as exc:
            warnings.append(_("part {ctype}: payload not decodable: {exc}").format(ctype=ctype, exc=exc))
            payload = None
        if ctype == "message/rfc822" and not isinstance(payload, bytes):
            inner = part.get_payload()
            first = inner[0] if isinstance(inner, list) and inner else None
            payload = first.as_bytes() if isinstance(first, email.message.Message) else b""
        data = payload if isinstance(payload, bytes) else b""
        meta: dict[str, Any] = {"content_type": ctype, "size": len(data)}
        if part.get("Content-Transfer-Encoding"):
            meta["transfer_encoding"] = str(part.get("Content-Transfer-Encoding")).strip().lower()
        if part.get("Content-ID"):
            meta["content_id"] = str(part.get("Content-ID")).strip()
        if filename is not None or disposition == "attachment" or ctype == "message/rfc822":
            meta["filename"] = filename
            kind, name = "attachment", namer.attachment(filename, ctype)
        elif part.get_content_maintype() == "text" and ctype in ("text/plain", "text/html"):
            kind, name = "body", namer.body(ctype)
            declared = part.get_content_charset()
            text, used, exact = decode_bytes(data, declared)
            meta.update({"charset_declared": declared, "charset": used})
            meta["text_excerpt"], meta["text_truncated"] = excerpt(text, TEXT_EXCERPT)
            if not exact:
                warnings.append(
                    _("{name}: declared charset {value} does not fit; read as {used}").format(
                        name=name, value=declared or "none", used=used
                    )
                )
        else:
            kind, name = "part", namer.part(ctype)
        children: tuple[ChildPart, ...] = ()
        if ctype == "message/rfc822" and data and depth < MAX_DEPTH:
            inner_warnings: list[str] = []
            inner_msg = email.message_from_bytes(data, policy=email.policy.compat32)
            meta["message"] = header_metadata(inner_msg, inner_warnings)
            children = tuple(mime_parts(inner_msg, inner_warnings, PartNamer(), depth + 1))
            warnings.extend(f"{name}: {w}" for w in inner_warnings)
        out.append(ChildPart(name, kind, ctype, data, meta, children))
    return out


def defects(msg: email.message.Message) -> list[str]:
    """Parser defects of ``msg`` and all its parts, as one line each."""
    lines: list[str] = []
    for part in msg.walk():
        for defect in getattr(part, "defects", []):
            doc = (type(defect).__doc__ or "").strip().splitlines()
            lines.append(
                f"MIME defect in {part.get_content_type()}: {type(defect).__name__}"
                + (f" ({doc[0].rstrip('.')})" if doc else "")
            )
    return lines


def message_analysis(
    data: bytes, *, dkim_keys: Mapping[str, bytes] | None, offline: bool
) -> tuple[dict[str, Any], tuple[ChildPart, ...], list[str]]:
    """Metadata, child parts and warnings of one message given as raw bytes."""
    warnings: list[str] = []
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    if not msg.keys():
        warnings.append(_("no mail headers found"))
    meta = header_metadata(msg, warnings)
    children = tuple(mime_parts(msg, warnings, PartNamer()))
    warnings.extend(defects(msg))
    meta["dkim"] = check_dkim(data, dkim_keys, offline)
    arc = check_arc(data, dkim_keys, offline)
    if arc is not None:
        meta["arc"] = arc
    return meta, children, warnings


def analyze_message(data: bytes, *, dkim_keys: Mapping[str, bytes] | None, offline: bool) -> Analysis:
    """The :class:`Analysis` of a single RFC 5322 message file (``.eml``)."""
    meta, children, warnings = message_analysis(data, dkim_keys=dkim_keys, offline=offline)
    return Analysis("email", "message/rfc822", {"email": meta}, children, tuple(warnings))
