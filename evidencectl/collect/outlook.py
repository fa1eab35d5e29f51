"""Outlook ``.msg`` files (OLE compound files) read with extract-msg, imported only when needed.

A ``.msg`` holds MAPI properties, not the MIME bytes that were sent, so DKIM cannot be checked on it:
the signature covers bytes that no longer exist. That is recorded as ``not checked`` with the reason,
and the transport headers (when Outlook kept them) are reported as they are.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from .analysis import Analysis, ChildPart
from .email import parse_received
from .media import sniff
from .parts import PartNamer
from .text import decode_header_value, excerpt

TEXT_EXCERPT = 2000
_NO_DKIM = "an Outlook .msg keeps no original MIME bytes; DKIM can be checked only on the .eml as received"


class _Collect(logging.Handler):
    """Gathers extract-msg's log records as warnings instead of letting them reach stderr."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep one bounded line per record."""
        self.lines.append(f"msg reader: {record.getMessage()}"[:300])


def is_outlook_message(data: bytes) -> bool:
    """True when the OLE compound file ``data`` has the property stream every .msg carries."""
    import olefile  # type: ignore[import-untyped]

    if len(data) < olefile.MINIMAL_OLEFILE_SIZE:
        return False  # olefile would take shorter bytes for a file name to open
    try:
        with olefile.OleFileIO(data) as ole:
            return bool(ole.exists("__properties_version1.0"))
    except Exception:
        return False


def _iso(value: Any) -> str | None:
    if not isinstance(value, datetime):
        return None
    dt = value if value.tzinfo else value.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return decode_header_value(str(value))[0] or None


def analyze_msg(data: bytes) -> Analysis | None:
    """The :class:`Analysis` of an Outlook message's bytes, or None for an OLE file that is not one (.doc)."""
    if not is_outlook_message(data):
        return None
    import extract_msg  # type: ignore[import-untyped]

    collector = _Collect()
    logger = logging.getLogger("extract_msg")
    logger.addHandler(collector)
    old_propagate, logger.propagate = logger.propagate, False
    warnings: list[str] = []
    try:
        try:
            msg = extract_msg.openMsg(data, delayAttachments=False)
        except Exception as exc:
            return Analysis(
                "file", "application/x-ole-storage", {}, (), (f"Outlook message not readable: {exc}"[:300],)
            )
        try:
            meta, children = _read(msg, warnings)
        finally:
            msg.close()
    finally:
        logger.removeHandler(collector)
        logger.propagate = old_propagate
    warnings.extend(collector.lines)
    return Analysis("msg", "application/vnd.ms-outlook", {"email": meta}, children, tuple(warnings))


# MAPI time properties (PT_SYSTIME) Outlook stamps on every item, sent or not.
_ITEM_TIMES = (("created", "30070040"), ("modified", "30080040"))
_TIMES_NOTE = (
    "creation and last-modification times of the Outlook item (PR_CREATION_TIME, PR_LAST_MODIFICATION_TIME), "
    "set by the mail client; not the time the message was sent"
)


def _item_times(msg: Any) -> dict[str, Any]:
    """The item's creation and modification times, labelled as such: a draft that was never sent has no send
    date, and these are then the only times the .msg holds."""
    times: dict[str, Any] = {}
    props = getattr(msg, "props", None)
    for name, tag in _ITEM_TIMES:
        try:
            prop = props.get(tag) if props is not None else None
        except Exception:  # a damaged property stream: the time is simply not there
            prop = None
        when = _iso(getattr(prop, "value", None))
        if when is not None:
            times[name] = when
    if not times:
        return {}
    if not getattr(msg, "date", None):
        times["note"] = _TIMES_NOTE + "; this message records no send date (an unsent draft?)"
    else:
        times["note"] = _TIMES_NOTE
    return {"item_times": times}


def _read(msg: Any, warnings: list[str]) -> tuple[dict[str, Any], tuple[ChildPart, ...]]:
    meta: dict[str, Any] = {
        "from": _text(getattr(msg, "sender", None)),
        "to": _text(getattr(msg, "to", None)),
        "cc": _text(getattr(msg, "cc", None)),
        "subject": _text(getattr(msg, "subject", None)),
        "message-id": _text(getattr(msg, "messageId", None)),
        "in-reply-to": _text(getattr(msg, "inReplyTo", None)),
        "date": {"raw": str(msg.date) if getattr(msg, "date", None) else None, "utc": _iso(msg.date)},
        **_item_times(msg),
        "message_class": _text(getattr(msg, "classType", None)),
        "dkim": [],
        "dkim_note": _NO_DKIM,
    }
    header = getattr(msg, "header", None)
    received = header.get_all("Received", []) if header is not None else []
    meta["received"] = [parse_received(_text(v) or "") for v in received]
    namer = PartNamer()
    children: list[ChildPart] = []
    for attr, ctype in (("body", "text/plain"), ("htmlBody", "text/html")):
        try:
            value = getattr(msg, attr, None)
        except Exception as exc:
            warnings.append(f"{attr} not readable: {exc}"[:300])
            continue
        if not value:
            continue
        data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        text = data.decode("utf-8", "replace")
        cut, truncated = excerpt(text, TEXT_EXCERPT)
        body_meta = {"content_type": ctype, "size": len(data), "charset": "utf-8", "text_excerpt": cut}
        body_meta["text_truncated"] = truncated
        children.append(ChildPart(namer.body(ctype), "body", ctype, data, body_meta))
    for att in getattr(msg, "attachments", []):
        children.append(_attachment(att, namer, warnings))
    return meta, tuple(children)


def _attachment(att: Any, namer: PartNamer, warnings: list[str]) -> ChildPart:
    filename = _text(getattr(att, "longFilename", None) or getattr(att, "shortFilename", None))
    data = getattr(att, "data", None)
    if data is not None and not isinstance(data, bytes):
        try:  # an attached Outlook item: keep it as a .msg of its own
            data = data.exportBytes()
        except Exception as exc:
            warnings.append(f"attachment {filename!r}: embedded item not exportable: {exc}"[:300])
            data = b""
    data = data or b""
    declared = getattr(att, "mimetype", None)
    ctype = str(declared) if declared else sniff(data[:4096])
    meta = {"content_type": ctype, "size": len(data), "filename": filename}
    return ChildPart(namer.attachment(filename, ctype), "attachment", ctype, data, meta)
