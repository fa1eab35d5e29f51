"""What a deposited file is: its kind, media type, metadata and the parts derived from it.

The raw bytes of a file are always the evidence item; an :class:`Analysis` only adds what can be read
from them (mail headers, DKIM results, attachments, EXIF). It never fails on malformed content unless
asked to (``strict=True``): a damaged mail is still evidence, and what could not be read is listed in
``warnings``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import BadInputError
from ..i18n import _
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
PARSED = _IMAGE_TYPES | {"message/rfc822", "application/mbox", "application/x-ole-storage"}
"""Media types :func:`_dispatch` parses; everything else is recorded as a plain file."""
# Files above this size are not parsed: the mail parser holds a message in memory several times over, and
# what is parsed is the bytes that were hashed, held in memory.
MAX_PARSE_BYTES = 256 * 1024 * 1024


def _iso_plain(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


_ISO: dict[int, str] = {}
"""The text of each whole second seen: the files of a deposit share few seconds, and making the datetime and
its text cost 1.4 us a file ("Worker per-file CPU" in benchmarks/README.md)."""


def _iso(ts: float) -> str:
    """:func:`_iso_plain`, remembered per second. fromtimestamp rounds to microseconds (half to even), so
    the second is floor(ts) only while the fraction stays below 1 - 0.5 us: with a margin, 0.999; anything
    else (a fraction on that edge, a time far off) takes the plain path. tests/test_worker_perfile.py."""
    if -1e11 < ts < 1e11:
        second = math.floor(ts)
        if ts - second < 0.999:
            text = _ISO.get(second)
            if text is None:
                if len(_ISO) >= 4096:
                    _ISO.clear()  # files from many seconds: keep the memory bounded
                text = _ISO[second] = _iso_plain(ts)
            return text
    return _iso_plain(ts)


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
    data: bytes | None = None,
    changed: str | None = None,
) -> Analysis:
    """Describe the file at ``path``: kind, media type by content, metadata, derived parts, warnings.

    Malformed content produces warnings, or with ``strict=True`` a :class:`BadInputError` naming the
    file and the first problem. An unreadable file always raises :class:`BadInputError`. Ordinary files
    cost one stat and one read of :data:`media.SNIFF_SIZE` bytes; mail and images are parsed.

    Everything is read from one set of bytes, so that what is described is what was hashed: ``data``, when
    given, is the whole file as the caller hashed it (a deposit), and nothing is read from ``path`` again.
    ``head`` without ``data`` is the first bytes of a file the caller streamed because it is too large to
    parse (:data:`MAX_PARSE_BYTES`): mail and images among those are then not parsed, with a warning. With
    neither, the file is read here once, whole when it is of a parsed type. ``stat`` is the file's status
    and ``changed`` a caller's note that the file changed while it was read (flagged in the metadata and as
    a warning). ``dkim_keys`` maps DNS names (``selector._domainkey.domain.``) to TXT record values used
    for DKIM and ARC; with ``offline=True`` no DNS query is made.
    """
    try:
        st = stat if stat is not None else os.stat(path)
        if data is not None:
            head = data[: media.SNIFF_SIZE]
        elif head is None:
            data, head = _read_once(path, st)
        else:
            head = head[: media.SNIFF_SIZE]
    except OSError as exc:
        raise BadInputError(_("cannot read file: {value}").format(value=exc.strerror or exc), path=path) from exc
    media_type = media.sniff(head)
    meta = file_metadata(path, st)
    claimed = _claimed(path)
    warnings: list[str] = []
    if changed:
        meta["changed_while_read"] = True
        warnings.append(changed)
    if media_type not in PARSED and (claimed is None or claimed == media_type) and not warnings:
        # An ordinary file whose name does not claim another type: nothing to parse, nothing to warn about,
        # and its metadata (an int and ASCII times) is already fit for canonical JSON.
        return Analysis("file", media_type, meta, (), ())
    path = Path(path)
    result: Analysis | None = None
    if media_type in PARSED and data is None:
        warnings.append(
            _("larger than {MAX_PARSE_BYTES} bytes: not parsed as {media_type}, kept as a file").format(
                MAX_PARSE_BYTES=MAX_PARSE_BYTES, media_type=media_type
            )
        )
    elif data is not None and media_type in PARSED:
        try:
            result = _dispatch(data, media_type, dkim_keys, offline)
        except BadInputError:
            raise
        except Exception as exc:  # noqa: BLE001 - a parser tripping on hostile content must not lose the evidence
            detail = " ".join(str(exc).split())[:200]
            warnings.append(
                _("content could not be parsed as {media_type} ({name__}: {detail}); kept as a file").format(
                    media_type=media_type, name__=type(exc).__name__, detail=detail
                )
            )
    if result is None:
        result = Analysis("file", media_type, {}, (), ())
    if claimed and claimed != result.media_type and not _compatible(claimed, result):
        warnings.append(
            f"file name suggests {claimed} but the content is {result.media_type}"
            + (" (not an OLE compound file)" if claimed == "application/vnd.ms-outlook" else "")
        )
    warnings.extend(result.warnings)
    if strict and warnings:
        raise BadInputError(_("malformed {kind}: {warnings}").format(kind=result.kind, warnings=warnings[0]), path=path)
    meta.update(result.metadata)
    children = tuple(_clean_child(c) for c in result.children)
    return Analysis(result.kind, result.media_type, to_json(meta), children, tuple(warnings))


_CLAIMED_ENDINGS = tuple(_CLAIMED)
_LONGEST_CLAIMED = max(map(len, _CLAIMED))


def _claimed(path: str | Path) -> str | None:
    """``_CLAIMED.get(os.path.splitext(path)[1].lower())``, without splitext for a name that cannot end with
    one of those extensions (0.4 us a file). Exact: a claimed extension is ASCII, and the only non-ASCII
    character whose lower case is ASCII is the Kelvin sign (``k``, in none of them), so an extension that
    lowers to one is that ASCII text at the very end of the name, and it is there in the name's last
    characters, lowered."""
    if isinstance(path, str) and not path[-_LONGEST_CLAIMED:].lower().endswith(_CLAIMED_ENDINGS):
        return None
    return _CLAIMED.get(os.path.splitext(path)[1].lower())


def _read_once(path: str | Path, st: os.stat_result) -> tuple[bytes | None, bytes]:
    """(whole file or None, first bytes): the whole file when it is of a parsed type and small enough."""
    with open(path, "rb") as fh:
        head = fh.read(media.SNIFF_SIZE)
        if media.sniff(head) not in PARSED or st.st_size > MAX_PARSE_BYTES:
            return None, head
        return head + fh.read(MAX_PARSE_BYTES + 1 - len(head)), head


def _clean_child(part: ChildPart) -> ChildPart:
    # One last pass so that no float or lone surrogate from a parser reaches canonical JSON.
    return replace(part, metadata=to_json(part.metadata), children=tuple(_clean_child(c) for c in part.children))


def _compatible(claimed: str, result: Analysis) -> bool:
    # An .eml holding an mbox, or an .mbox holding a single bare message, is a naming slip, not damage.
    mailish = {"message/rfc822", "application/mbox"}
    return claimed in mailish and result.media_type in mailish


def _dispatch(data: bytes, media_type: str, dkim_keys: Mapping[str, bytes] | None, offline: bool) -> Analysis | None:
    # Imports are local so that hashing an ordinary file never loads the mail or image machinery.
    if media_type == "application/mbox":
        from .mbox import analyze_mbox

        return analyze_mbox(data, dkim_keys=dkim_keys, offline=offline)
    if media_type == "message/rfc822":
        from .email import analyze_message

        return analyze_message(data, dkim_keys=dkim_keys, offline=offline)
    if media_type == "application/x-ole-storage":
        from .outlook import analyze_msg

        return analyze_msg(data)
    if media_type in _IMAGE_TYPES:
        from .image import analyze_image

        return analyze_image(data, media_type)
    return None
