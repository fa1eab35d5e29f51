"""Media type detection from a file's first bytes (magic numbers), never from its name.

A court needs to know what a file *is*, not what it is called: a ``.pdf`` that is really a ZIP is worth
noting. Detection reads one small block (:data:`SNIFF_SIZE`) so that it stays cheap for every file.
"""

from __future__ import annotations

import re

#: How many leading bytes :func:`sniff` looks at; callers read this much once.
SNIFF_SIZE = 4096

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

#: Header names that mark the start of an RFC 5322 message; any one of them in the first header block
#: tells a mail from a text file that happens to contain "Key: value" lines.
_MAIL_HEADERS = frozenset(
    {
        b"from",
        b"to",
        b"date",
        b"subject",
        b"message-id",
        b"received",
        b"return-path",
        b"delivered-to",
        b"mime-version",
        b"dkim-signature",
        b"arc-seal",
        b"x-mailer",
        b"reply-to",
        b"sender",
        b"content-type",
    }
)
_HEADER_LINE = re.compile(rb"^([!-9;-~]+)[ \t]*:")
# "From sender date": the mbox separator line. Mail readers take any line that starts "From " (mutt,
# Python's mailbox; Thunderbird writes "From - date"), so only that is asked of it here; the header block
# that must follow it tells an mbox from a text that happens to begin with the word.
_MBOX_FROM = re.compile(rb"^From ")
# Blank lines some tools write before the first From_ line (mailbox and mutt read past them).
_LEADING_BLANK = re.compile(rb"^(?:[ \t]*\r?\n)+")

# Extension each detected type normally carries; used to name derived parts.
_EXTENSIONS = {
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "video/mp4": ".mp4",
    "message/rfc822": ".eml",
    "application/mbox": ".mbox",
    "application/vnd.ms-outlook": ".msg",
    "application/x-ole-storage": ".ole",
    "text/plain": ".txt",
    "text/html": ".html",
    "application/json": ".json",
    "application/xml": ".xml",
    "application/gzip": ".gz",
    "application/octet-stream": ".bin",
}


def extension_for(media_type: str) -> str:
    """The usual file extension (with the dot) for ``media_type``, ``.bin`` when unknown."""
    return _EXTENSIONS.get(media_type.split(";")[0].strip().lower(), ".bin")


def looks_like_mail(head: bytes) -> bool:
    """True when ``head`` starts with an RFC 5322 header block naming at least one mail header."""
    # Lines are taken one at a time (most files fail on the first); at most 200 are looked at, and a last
    # line without its newline is not (unless the head has no newline at all).
    colon = head.find(b":")
    if colon < 0 or _HEADER_LINE.match(head, 0, colon + 1) is None:
        # The first line is no header line (the pattern cannot pass a line end, nor the line's first
        # colon, which is the head's first when the line has one): what the loop decides on its first
        # line, without it (0.57 -> 0.25 us for a random head).
        return False
    return _header_block_is_mail(head)


def _header_block_is_mail(head: bytes) -> bool:
    """:func:`looks_like_mail` without its first-line shortcut: the header lines taken one by one from the
    first (tests/test_worker_perfile.py holds the two together)."""
    seen_mail_header = False
    count = 0
    pos = 0
    for _ in range(200):
        end = head.find(b"\n", pos)
        if end < 0 and pos > 0:
            break
        line = (head if end < 0 else head[pos:end]).rstrip(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t"):
            if count == 0:
                return False
        else:
            # The match can only end at the line's first colon (no colon is in either class), so it is
            # asked of the text up to there: memchr finds a line without any colon at C speed, where the
            # pattern scanned a long first line of a text file and backed off it byte by byte (~30 us for
            # a 4 KiB line, on every text file of a deposit).
            colon = line.find(b":")
            m = None if colon < 0 else _HEADER_LINE.match(line, 0, colon + 1)
            if m is None:
                return False
            count += 1
            if m.group(1).lower() in _MAIL_HEADERS:
                seen_mail_header = True
        if end < 0:
            break
        pos = end + 1
    return count > 0 and seen_mail_header


def lf_view(data: bytes) -> bytes:
    """``data`` with its line ends as LF when it ends lines with CR alone (classic Mac OS mail files); else
    ``data`` itself. Each CR becomes one LF, so every offset in the view is the same offset in ``data``:
    readers look at the view and slice the original bytes."""
    head = data[:65536]
    if b"\n" in head or b"\r" not in head:
        return data
    return data.replace(b"\r", b"\n")


def mbox_start(data: bytes) -> int:
    """Where the first From_ line of an mbox begins: after any blank lines before it."""
    blank = _LEADING_BLANK.match(data)
    return blank.end() if blank else 0


_MBOX_FIRST = b" \t\r\nF"
"""What an mbox can start with: a blank line's first byte (a CR alone becomes an LF), or ``From ``'s."""


def looks_like_mbox(head: bytes) -> bool:
    """True when ``head`` starts (after blank lines, if any) with an mbox ``From `` separator line followed by
    a mail header block."""
    if not head or head[0] not in _MBOX_FIRST:
        return False  # no blank line and no From_ line starts here (0.5 us of every other file's sniff)
    head = lf_view(head)
    head = head[mbox_start(head) :]
    if _MBOX_FROM.match(head) is None:
        return False
    _, _, rest = head.partition(b"\n")
    return looks_like_mail(rest)


def _zip_subtype(head: bytes) -> str:
    # OOXML packages put "[Content_Types].xml" and a "word/", "xl/" or "ppt/" member early; the first
    # local header names are visible within the first block of an ordinary Office file.
    if b"word/" in head:
        return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    if b"xl/" in head:
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    if b"ppt/" in head:
        return "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    return "application/zip"


_NOT_CONTROL = bytes(b for b in range(256) if b >= 0x20 or b in (0x09, 0x0A, 0x0C, 0x0D, 0x1B))
"""Every byte value that is not a control character counted against text (deleted before counting)."""


def _text_type(head: bytes) -> str | None:
    if not head:
        return "application/octet-stream"
    if b"\x00" in head:
        # UTF-16 text has NULs; anything else with NULs is binary.
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return "text/plain"
        return None
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<!doctype html", b"<html")):
        return "text/html"
    if stripped.startswith(b"<?xml"):
        return "application/xml"
    controls = len(head.translate(None, _NOT_CONTROL))  # C speed: a Python loop here cost ~0.2 ms a file
    return "text/plain" if controls * 100 <= len(head) else None


_MAGIC_FIRST = b"%P\x89\xffGRBIM\x1f\xd0"
"""The first byte of every magic number :func:`_sniff_plain` knows (pdf, zip, png, jpeg, gif, webp, bmp,
tiff, gzip, OLE); mp4's ``ftyp`` is at offset 4."""
_NOTHING_BUT_TEXT_OR_BINARY = bytes(
    [b for b in [*range(0x00, 0x09), *range(0x0E, 0x20), *range(0x7F, 0x100)] if b not in _MAGIC_FIRST]
)
"""First bytes after which only :func:`_text_type` can say something: no magic number starts with them, no
mbox (blank lines or ``From ``), no mail (a header name is printable ASCII, or a first line starting with a
space or a tab, which looks_like_mail refuses), and none is ASCII white space, so JSON (``{`` or ``[``
after white space) cannot follow either. Random or compressed data starts with one of these 152 of 256
times."""


def sniff(head: bytes) -> str:
    """The media type of a file whose first bytes are ``head`` (up to :data:`SNIFF_SIZE` of them).

    Recognises pdf, zip and OOXML, png, jpeg, gif, webp, bmp, tiff, mp4, gzip, OLE compound files,
    RFC 5322 messages, mbox files, html, xml and plain text; anything else is
    ``application/octet-stream``. OLE files are reported as ``application/x-ole-storage``: whether one
    is an Outlook message is decided by reading its directory (see :mod:`evidencectl.collect.outlook`).

    The first byte picks the tests that can succeed: one that starts nothing but text or binary goes to the
    text test at once, one that starts no magic number skips those eleven tests (random 4 KiB heads: 2.2 ->
    0.6 us on average, "Worker per-file CPU" in benchmarks/README.md). tests/test_worker_perfile.py
    holds this to :func:`_sniff_plain`.
    """
    if head and head[4:8] != b"ftyp":
        first = head[0]
        if first in _NOTHING_BUT_TEXT_OR_BINARY:
            return _text_type(head) or "application/octet-stream"
        if first not in _MAGIC_FIRST:
            return _after_magic(head)
    return _sniff_plain(head)


def _sniff_plain(head: bytes) -> str:
    """:func:`sniff`, every test in turn."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_subtype(head)
    if head.startswith(PNG_MAGIC):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"BM") and len(head) >= 26:
        return "image/bmp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head[4:8] == b"ftyp":
        return "video/quicktime" if head[8:10] == b"qt" else "video/mp4"
    if head.startswith(b"\x1f\x8b"):
        return "application/gzip"
    if head.startswith(OLE_MAGIC):
        return "application/x-ole-storage"
    return _after_magic(head)


def _after_magic(head: bytes) -> str:
    """What :func:`_sniff_plain` finds once no magic number matched: mbox, mail, text, JSON, or binary."""
    if looks_like_mbox(head):
        return "application/mbox"
    if looks_like_mail(head):
        return "message/rfc822"
    text = _text_type(head)
    if text is not None:
        stripped = head.lstrip()
        if text == "text/plain" and stripped[:1] in (b"{", b"[") and stripped.rstrip()[-1:] in (b"}", b"]"):
            return "application/json"
        return text
    return "application/octet-stream"
