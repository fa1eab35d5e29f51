"""``multipart/form-data`` bodies parsed as they arrive: each file part straight to a file on disk, the few
text fields kept (small) in memory.

The file names in a form are the client's and are untrusted: a name is accepted only as one plain path
component (no ``/`` or ``\\``, no ``..``, no drive, no control, invisible-format or bidirectional
characters, at most 255 bytes), so that it can be kept as the item's name in the package and cannot
point anywhere on the server's disk. Two parts with the same name (after NFC normalisation) are refused
rather than renamed: the client would not know which item is which.
"""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from .problems import Problem
from .uploads import bounded

FIELD_LIMIT = 64 << 10
"""Largest text field accepted (a case number, a note)."""
MAX_FILES = 1000
NAME_BYTES = 255


def item_name(raw: bytes) -> str:
    """The client's file name as an item name, or a 422 Problem saying what is wrong with it."""
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem("invalid-request", "a file name is not valid UTF-8") from None
    shown = name.encode("unicode_escape").decode("ascii")[:80]
    if name in ("", ".", "..") or "/" in name or "\\" in name:
        raise Problem("invalid-request", f"the file name {shown!r} is a path, not a name: send the name alone")
    if len(name) >= 2 and name[1] == ":" and name[0].isascii() and name[0].isalpha():
        raise Problem("invalid-request", f"the file name {shown!r} starts with a drive")
    if any(unicodedata.category(c)[0] in "CZ" and c != " " for c in name):
        raise Problem(
            "invalid-request", f"the file name {shown!r} holds control, invisible or bidirectional characters"
        )
    if len(raw) > NAME_BYTES:
        raise Problem("invalid-request", f"a file name has at most {NAME_BYTES} bytes")
    return name


@dataclass
class Form:
    """A parsed form: its text fields and the files saved (in the order they came)."""

    fields: dict[str, str] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


class _Collector:
    """The parser's callbacks: where the current part goes."""

    def __init__(self, folder: Path, text_fields: frozenset[str], file_field: str) -> None:
        self.folder, self.text_fields, self.file_field = folder, text_fields, file_field
        self.form = Form()
        self.seen: set[str] = set()
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._out: IO[bytes] | None = None
        self._text: bytearray | None = None
        self._field = ""
        self.ended = False
        """True once the closing boundary was read: a form without it was cut short."""

    def end(self) -> None:
        self.ended = True

    def part_begin(self) -> None:
        self._disposition, self._header_name, self._header_value = b"", b"", b""

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name, self._header_value = b"", b""

    def headers_finished(self) -> None:
        kind, options = parse_options_header(self._disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if kind != b"form-data" or not name:
            raise Problem("invalid-request", "a form part has no Content-Disposition: form-data; name=…")
        if name == self.file_field:
            if b"filename" not in options:
                raise Problem("invalid-request", f"the {self.file_field!r} parts must be files")
            item = item_name(options[b"filename"])
            key = unicodedata.normalize("NFC", item)
            if key in self.seen:
                raise Problem("invalid-request", f"two files are named {item!r}; each item needs its own name")
            if len(self.seen) >= MAX_FILES:
                raise Problem("invalid-request", f"at most {MAX_FILES} files in one deposit")
            self.seen.add(key)
            path = self.folder / item
            self._out = path.open("xb")
            self.form.files.append(path)
        elif name in self.text_fields and b"filename" not in options:
            if name in self.form.fields:
                raise Problem("invalid-request", f"the field {name!r} is given twice")
            self._field, self._text = name, bytearray()
        else:
            allowed = ", ".join(sorted(self.text_fields | {self.file_field}))
            raise Problem("invalid-request", f"unexpected form part {name[:40]!r}; the form takes: {allowed}")

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self._out is not None:
            self._out.write(data[start:end])
        elif self._text is not None:
            self._text += data[start:end]
            if len(self._text) > FIELD_LIMIT:
                raise Problem("invalid-request", f"the field {self._field!r} is over {FIELD_LIMIT >> 10} KiB")

    def part_end(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        elif self._text is not None:
            try:
                self.form.fields[self._field] = self._text.decode("utf-8")
            except UnicodeDecodeError:
                raise Problem("invalid-request", f"the field {self._field!r} is not UTF-8 text") from None
            self._text = None

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self.part_begin,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_end": self.end,
        }


def boundary_of(content_type: str) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type, or a 415/422 Problem."""
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        raise Problem("unsupported-media-type", "send the deposit as multipart/form-data (curl -F)")
    boundary = options.get(b"boundary")
    if not boundary:
        raise Problem("invalid-request", "the multipart/form-data Content-Type has no boundary")
    return boundary


async def read_form(
    chunks: AsyncIterator[bytes],
    content_type: str,
    folder: Path,
    *,
    limit: int,
    idle: float,
    total: float,
    text_fields: frozenset[str],
    file_field: str,
) -> Form:
    """Parse a form body into ``folder`` (which must exist and be empty) as it arrives.

    413 as soon as more than ``limit`` bytes arrived; 408 when no chunk comes for ``idle`` seconds or the
    whole body takes longer than ``total`` (a client trickling a byte a second is cut off too). The
    caller removes ``folder`` afterwards, whatever happened.
    """
    collector = _Collector(folder, text_fields, file_field)
    parser = MultipartParser(boundary_of(content_type), collector.callbacks())
    try:
        async for chunk in bounded(chunks, limit, idle, total):
            parser.write(chunk)
        parser.finalize()
        if not collector.ended:
            # The parser does not check this itself: the last file would be deposited cut short.
            raise Problem("invalid-request", "the form ends before its closing boundary: the upload is incomplete")
    except MultipartParseError as exc:
        # A body that is not the multipart it says it is (a broken boundary, a part header over the
        # parser's 4 KiB): the client's error, said in one line, never a 500.
        raise Problem("invalid-request", f"the form is not valid multipart/form-data: {exc}") from None
    finally:
        collector.close()
    return collector.form
