"""One file out of a ``multipart/form-data`` body that was already streamed to disk (uploads.save_stream).

The verification page's forms post one file; the body is first spooled whole to the data directory's disk
(with the service's size and stall limits), then read back in chunks through python-multipart's
streaming parser, the file part written beside it under a fixed name and hashed on the way. Neither the
body nor the file ever sits whole in memory, and the client's file name is kept only as text to show.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header

from .problems import Problem

CHUNK = 1 << 16


@dataclass
class Digests:
    """SM3 and SHA-256 of a file and its size, computed while it was written."""

    size: int = 0
    sm3: str = ""
    sha256: str = ""


def digests_of(path: Path) -> Digests:
    """SM3, SHA-256 and size of a file on disk, read in chunks."""
    sm3, sha = hashlib.new("sm3"), hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            sm3.update(chunk)
            sha.update(chunk)
            size += len(chunk)
    return Digests(size, sm3.hexdigest(), sha.hexdigest())


@dataclass
class FilePart:
    """The file a form posted: where it now is, under which field, and the name the client gave it."""

    path: Path
    field: str
    filename: str
    digests: Digests


class _Extract:
    """Callbacks for MultipartParser: keep the first part that carries a file name, drop the rest."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.header_name, self.header_value = b"", b""
        self.disposition = b""
        self.writing = False
        self.found: tuple[str, str] | None = None
        self.sm3, self.sha, self.size = hashlib.new("sm3"), hashlib.sha256(), 0

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": lambda d, s, e: self._add("header_name", d[s:e]),
            "on_header_value": lambda d, s, e: self._add("header_value", d[s:e]),
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
        }

    def _add(self, which: str, data: bytes) -> None:
        setattr(self, which, getattr(self, which) + data)
        if len(self.header_name) + len(self.header_value) > 8192:
            raise Problem("invalid-request", "a multipart header is too long")

    def part_begin(self) -> None:
        self.disposition = b""

    def header_end(self) -> None:
        if self.header_name.lower() == b"content-disposition":
            self.disposition = self.header_value
        self.header_name, self.header_value = b"", b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        if self.found is None and b"filename" in options:
            # Browsers send UTF-8 names; a name that is not is shown with replacement characters.
            self.found = (options.get(b"name", b"").decode("utf-8", "replace"),
                          options[b"filename"].decode("utf-8", "replace"))  # fmt: skip
            self.writing = True

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self.writing:
            chunk = data[start:end]
            self.out.write(chunk)
            self.sm3.update(chunk)
            self.sha.update(chunk)
            self.size += len(chunk)

    def part_end(self) -> None:
        self.writing = False


def extract_file(body: Path, content_type: str, name: str) -> FilePart:
    """The first file part of the multipart ``body``, written to ``name`` beside it; a 422 Problem if none.

    ``name`` is the service's own fixed name for the file (never the client's)."""
    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise Problem("invalid-request", "post the form as multipart/form-data with a boundary")
    target = body.parent / name
    with body.open("rb") as src, target.open("xb") as out:
        extract = _Extract(out)
        parser = MultipartParser(boundary, extract.callbacks())  # type: ignore[arg-type]
        try:
            while chunk := src.read(CHUNK):
                parser.write(chunk)
            parser.finalize()
        except Problem:
            raise
        except Exception as exc:  # noqa: BLE001 - python-multipart raises several kinds for a malformed body
            raise Problem("invalid-request", f"the form is not valid multipart data ({type(exc).__name__})") from None
    if extract.found is None:
        raise Problem("invalid-request", "the form carries no file: choose one and send it again")
    field, filename = extract.found
    return FilePart(target, field, filename, Digests(extract.size, extract.sm3.hexdigest(), extract.sha.hexdigest()))
