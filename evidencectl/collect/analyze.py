"""What a deposited file is: its kind, media type, metadata and the parts derived from it.

The raw bytes of a file are always the evidence item; an :class:`Analysis` only adds what can be read
from them (mail headers, DKIM results, attachments, EXIF). It never fails on malformed content unless
asked to (``strict=True``): a damaged mail is still evidence, and what could not be read is listed in
``warnings``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import BadInputError
from . import media
from .analysis import Analysis, ChildPart
from .text import to_json

# Extension -> what the user presumably meant the file to be; a mismatch with the content is a warning.
_CLAIMED = {
    ".eml": "message/rfc822",
    ".msg": "application/vnd.ms-outlook",
    ".mbox": "application/mbox",
    ".mbx": "application/mbox",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
}
_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff"})
_PARSED = _IMAGE_TYPES | {"message/rfc822", "application/mbox", "application/x-ole-storage"}
"""Media types :func:`_dispatch` parses; everything else is recorded as a plain file."""
# Files above this size are not parsed as mail: the parser holds a message in memory several times over.
MAX_MAIL_BYTES = 256 * 1024 * 1024


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def file_metadata(path: str | Path, st: os.stat_result) -> dict[str, Any]:
    """Size and file-system times of ``path`` (ctime is marked unreliable: it changes on copy)."""
    mtime = _iso(st.st_mtime)
    return {
        "size": st.st_size,
        "mtime": mtime,
        "ctime": mtime if st.st_ctime == st.st_mtime else _iso(st.st_ctime),
        "ctime_note": "file-system change time of this copy; not evidence of creation",
    }


def analyze(
    path: str | Path,
    *,
    strict: bool = False,
    dkim_keys: Mapping[str, bytes] | None = None,
    offline: bool = False,
    head: bytes | None = None,
    stat: os.stat_result | None = None,
) -> Analysis:
    """Read ``path`` and describe it: kind, media type by content, metadata, derived parts, warnings.

    Malformed content produces warnings, or with ``strict=True`` a :class:`BadInputError` naming the
    file and the first problem. An unreadable file always raises :class:`BadInputError`. Ordinary files
    cost one stat and one read of :data:`media.SNIFF_SIZE` bytes; mail and images are parsed.
    ``head``, when given, is the file's first bytes (at least :data:`media.SNIFF_SIZE` of them, or the whole
    file), already read by the caller, and ``stat`` its status. ``dkim_keys`` maps DNS names
    (``selector._domainkey.domain.``) to TXT record values used for DKIM and ARC; with ``offline=True`` no
    DNS query is made.
    """
    if stat is None or head is None:
        path = Path(path)
    try:
        st = stat if stat is not None else os.stat(path)
        if head is None:  # a deposit passes the bytes it already read; others read them here
            with open(path, "rb") as fh:
                head = fh.read(media.SNIFF_SIZE)
        else:
            head = head[: media.SNIFF_SIZE]
    except OSError as exc:
        raise BadInputError(f"cannot read file: {exc.strerror or exc}", path=path) from exc
    media_type = media.sniff(head)
    meta = file_metadata(path, st)
    claimed = _CLAIMED.get(os.path.splitext(path)[1].lower())
    if media_type not in _PARSED and (claimed is None or claimed == media_type):
        # An ordinary file whose name does not claim another type: nothing to parse, nothing to warn about,
        # and its metadata (an int and ASCII times) is already fit for canonical JSON.
        return Analysis("file", media_type, meta, (), ())
    path = Path(path)
    warnings: list[str] = []
    try:
        result = _dispatch(path, head, media_type, st.st_size, dkim_keys, offline)
    except BadInputError:
        raise
    except Exception as exc:  # noqa: BLE001 - a parser tripping on hostile content must not lose the evidence
        detail = " ".join(str(exc).split())[:200]
        warnings.append(f"content could not be parsed as {media_type} ({type(exc).__name__}: {detail}); kept as a file")
        result = None
    if result is None and not warnings and media_type in ("message/rfc822", "application/mbox"):
        warnings.append(f"larger than {MAX_MAIL_BYTES} bytes: not parsed as mail, kept as a file")
    if result is None:
        result = Analysis("file", media_type, {}, (), ())
    if claimed and claimed != result.media_type and not _compatible(claimed, result):
        warnings.append(
            f"file name suggests {claimed} but the content is {result.media_type}"
            + (" (not an OLE compound file)" if claimed == "application/vnd.ms-outlook" else "")
        )
    warnings.extend(result.warnings)
    if strict and warnings:
        raise BadInputError(f"malformed {result.kind}: {warnings[0]}", path=path)
    meta.update(result.metadata)
    children = tuple(_clean_child(c) for c in result.children)
    return Analysis(result.kind, result.media_type, to_json(meta), children, tuple(warnings))


def _clean_child(part: ChildPart) -> ChildPart:
    # One last pass so that no float or lone surrogate from a parser reaches canonical JSON.
    return replace(part, metadata=to_json(part.metadata), children=tuple(_clean_child(c) for c in part.children))


def _compatible(claimed: str, result: Analysis) -> bool:
    # An .eml holding an mbox, or an .mbox holding a single bare message, is a naming slip, not damage.
    mailish = {"message/rfc822", "application/mbox"}
    return claimed in mailish and result.media_type in mailish


def _dispatch(
    path: Path,
    head: bytes,
    media_type: str,
    size: int,
    dkim_keys: Mapping[str, bytes] | None,
    offline: bool,
) -> Analysis | None:
    # Imports are local so that hashing an ordinary file never loads the mail or image machinery.
    if media_type in ("message/rfc822", "application/mbox") and size <= MAX_MAIL_BYTES:
        data = path.read_bytes()
        if media_type == "application/mbox":
            from .mbox import analyze_mbox

            return analyze_mbox(data, dkim_keys=dkim_keys, offline=offline)
        from .email import analyze_message

        return analyze_message(data, dkim_keys=dkim_keys, offline=offline)
    if media_type == "application/x-ole-storage":
        from .outlook import analyze_msg

        return analyze_msg(path)
    if media_type in _IMAGE_TYPES:
        from .image import analyze_image

        return analyze_image(path, media_type)
    return None
