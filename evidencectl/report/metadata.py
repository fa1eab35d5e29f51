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
_SKIP = {"size", "ctime", "ctime_note", "text_excerpt", "chunks", "png_text", "received", "dkim", "arc", "email", "GPS"}
_CTIME = {
    "zh": "ctime（本副本的文件系统变更时间，不是创建时间）",
    "en": "ctime (file-system change time of this copy, not a creation time)",
}
_WEB_ARCHIVE = {"zh": "网页存档（MHTML），不是电子邮件", "en": "web archive (MHTML), not an email"}


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


def _rational(text: Any) -> float | None:
    try:
        num, _, den = str(text).partition("/")
        return float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return None


def _degrees(parts: Any, ref: Any) -> str | None:
    """``39.907583° N (39° 54′ 27.30″)`` from EXIF's three rationals and its N/S/E/W reference."""
    if not isinstance(parts, list) or len(parts) != 3:
        return None
    d, m, sec = (_rational(p) for p in parts)
    if d is None or m is None or sec is None:
        return None
    value = d + m / 60 + sec / 3600
    return f"{value:.6f}° {ref or ''} ({d:g}° {m:g}′ {sec:.2f}″)".replace("  ", " ")


def gps_lines(gps: dict[str, Any]) -> list[str]:
    """EXIF GPS in degrees (the exact rationals stay in manifest.json), then the other GPS tags."""
    out = []
    lat = _degrees(gps.get("GPSLatitude"), gps.get("GPSLatitudeRef"))
    lon = _degrees(gps.get("GPSLongitude"), gps.get("GPSLongitudeRef"))
    if lat or lon:
        out.append(f"GPS: {lat or '?'}, {lon or '?'}")
    alt = _rational(gps.get("GPSAltitude")) if gps.get("GPSAltitude") is not None else None
    if alt is not None:
        out.append(f"GPS altitude: {alt:g} m")
    shown = {"GPSLatitude", "GPSLatitudeRef", "GPSLongitude", "GPSLongitudeRef", "GPSAltitude", "GPSAltitudeRef"}
    for key in sorted(k for k in gps if k not in shown):
        _flat(f"GPS.{key}", gps[key], out)
    return out


def is_web_archive(item: dict[str, Any]) -> bool:
    """An MHTML capture (``.mhtml``/``.mht``, or a multipart/related message): read as mail, but a web page."""
    name = str(item.get("name", "")).lower()
    if name.endswith((".mhtml", ".mht")):
        return True
    mail = (item.get("metadata") or {}).get("email")
    return isinstance(mail, dict) and "multipart/related" in str(mail.get("content_type", "")).lower()


def kind_text(item: dict[str, Any], lang: str = "en") -> str:
    """The item's kind as a reader should take it (an MHTML web archive is not called email)."""
    if is_web_archive(item):
        return _WEB_ARCHIVE["zh" if lang == "zh" else "en"]
    return str(item.get("kind", "?"))


def metadata_lines(metadata: dict[str, Any], lang: str = "en") -> list[str]:
    """Lines describing one item's metadata (email headers and DKIM first, then the rest flattened;
    GPS in degrees; ctime labelled as what it is)."""
    out: list[str] = []
    mail = metadata.get("email")
    if isinstance(mail, dict):
        _email(mail, out)
    if metadata.get("ctime"):
        out.append(f"{_CTIME['zh' if lang == 'zh' else 'en']}: {metadata['ctime']}")
    _flat("", metadata, out)
    image = metadata.get("image")
    exif = image.get("exif") if isinstance(image, dict) else None
    if isinstance(exif, dict) and isinstance(exif.get("GPS"), dict):
        out.extend(gps_lines(exif["GPS"]))
    lines = [_clip(line) for line in out]
    if len(lines) > MAX_LINES:
        more = len(lines) - MAX_LINES + 1
        lines = lines[: MAX_LINES - 1] + [f"… {more} more in manifest.json"]
    return lines
