"""Item metadata as short lines for a certificate: mail headers, DKIM results, image facts.

The manifest keeps everything; the certificate shows what a court asks about and says where the rest is.
"""

from __future__ import annotations

from typing import Any

MAX_LINES = 24
"""Lines of metadata shown per item; the manifest holds the rest (a line says so)."""
MAX_VALUE = 240
"""Characters of one metadata value shown; longer values end with an ellipsis."""
_EMAIL_KEYS = ("from", "to", "cc", "sender", "reply-to", "subject", "date", "message-id")
_SKIP = {"size", "ctime_note", "text_excerpt", "chunks", "png_text", "received", "dkim", "arc", "email"}


def _text(value: Any) -> str:
    """A readable form of a header value: decoded text when the collector recorded one."""
    if isinstance(value, dict):
        for key in ("text", "utc", "decoded", "raw", "value"):
            if key in value and value[key] not in (None, ""):
                return _text(value[key])
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items() if not isinstance(v, (dict, list)))
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return "" if value is None else str(value)


def _clip(line: str) -> str:
    return line if len(line) <= MAX_VALUE else line[: MAX_VALUE - 1] + "…"


def _flat(prefix: str, value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        for key in sorted(value):
            if key not in _SKIP:
                _flat(f"{prefix}.{key}" if prefix else str(key), value[key], out)
    elif isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            out.append(f"{prefix}: {', '.join(map(str, value))}")
        else:
            for n, v in enumerate(value):
                _flat(f"{prefix}[{n}]", v, out)
    elif value is not None:
        out.append(f"{prefix}: {value}")


def _email(mail: dict[str, Any], out: list[str]) -> None:
    for key in _EMAIL_KEYS:
        if mail.get(key) not in (None, "", []):
            line = f"{key}: {_text(mail[key])}"
            value = mail[key]
            # The date is shown in UTC; the header as written keeps the sender's own zone beside it.
            if isinstance(value, dict) and value.get("utc") and value.get("raw") and value["raw"] != value["utc"]:
                line += f" ({value['raw']})"
            out.append(line)
    received = mail.get("received")
    if isinstance(received, list) and received:
        out.append(f"received: {len(received)} header(s)")
    for sig in mail.get("dkim") or []:
        if isinstance(sig, dict):
            reason = f" ({sig['reason']})" if sig.get("reason") else ""
            out.append(
                f"DKIM d={sig.get('domain')} s={sig.get('selector')} a={sig.get('algorithm')}: "
                f"{sig.get('result')}{reason}"
            )
    if mail.get("dkim_note"):
        out.append(f"DKIM: {mail['dkim_note']}")
    arc = mail.get("arc")
    if isinstance(arc, dict):
        reason = f" ({arc['reason']})" if arc.get("reason") else ""
        out.append(f"ARC: {arc.get('result')}{reason}")


def metadata_lines(metadata: dict[str, Any]) -> list[str]:
    """Lines describing one item's metadata (email headers and DKIM first, then the rest flattened)."""
    out: list[str] = []
    mail = metadata.get("email")
    if isinstance(mail, dict):
        _email(mail, out)
    _flat("", metadata, out)
    lines = [_clip(line) for line in out]
    if len(lines) > MAX_LINES:
        more = len(lines) - MAX_LINES + 1
        lines = lines[: MAX_LINES - 1] + [f"… {more} more in manifest.json"]
    return lines
