"""A neutral document model that both the PDF and the HTML renderer draw.

Building the content once keeps the two formats saying exactly the same thing, and lets the PDF
renderer know every character in advance (the CJK font is cut down to them). The model keeps the exact
strings; both renderers show each through :func:`~evidencectl.display.visible` (controls, bidi and
invisible characters as ``<U+XXXX>``), and :meth:`Document.strings` yields them as shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ..display import visible


@dataclass(frozen=True)
class Text:
    """A run of text; ``mono`` for digests, keys and commands, ``bold`` for emphasis."""

    text: str
    """The characters, never shortened by a renderer."""
    mono: bool = False
    """Set in the monospace face (and wrapped anywhere, since hex has no spaces)."""
    bold: bool = False
    """Set in bold."""


Cell = list[Text]
"""One table cell: runs separated by line breaks."""


@dataclass(frozen=True)
class Heading:
    """A section heading."""

    text: str
    """The heading text."""


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of runs."""

    runs: list[Text]
    """The runs, set one after another."""
    alert: bool = False
    """Draw as a warning box (verification failed or indeterminate)."""
    ok: bool = False
    """Draw as a plain green box (the verdict of a verification that passed)."""


@dataclass(frozen=True)
class Fields:
    """Label/value pairs, drawn as a two-column table."""

    rows: list[tuple[str, Cell]]
    """Label and value of each row."""


@dataclass(frozen=True)
class Table:
    """A table that may run over many pages; the header repeats on each."""

    header: list[str]
    """Column titles."""
    rows: list[list[Cell]]
    """Cells, row by row."""
    widths: list[float]
    """Relative column widths (fractions summing to 1)."""


@dataclass(frozen=True)
class Code:
    """Commands to type, one a line, set in monospace."""

    lines: list[str]
    """The command lines."""


@dataclass(frozen=True)
class QRCode:
    """A QR code with its payload printed beside it."""

    payload: str
    """The encoded text (documented in docs/reports.md)."""
    caption: str
    """What the code carries, in the document's language."""

    @property
    def shown_lines(self) -> list[str]:
        """The payload's lines as printed beside the code (the code itself carries the exact payload)."""
        return self.payload.split("\n")


@dataclass(frozen=True)
class Picture:
    """An image shown at a bounded size with a caption below it (a screenshot thumbnail)."""

    png: bytes
    """The image, PNG bytes already reduced to what the report shows."""
    width: int
    """Width in pixels."""
    height: int
    """Height in pixels."""
    caption: str
    """What the image is, where the original is and whether only part of it is shown."""


@dataclass(frozen=True)
class Attachment:
    """A file that travels with the document: embedded in the PDF, written beside the HTML."""

    name: str
    """File name (``items.csv``)."""
    data: bytes
    """Its bytes."""
    media_type: str
    """Its media type (``text/csv``)."""
    description: str
    """What it holds, in the document's language."""


@dataclass(frozen=True)
class PageBreak:
    """The end of page one: the technical appendix starts on a fresh page."""


Block = Heading | Paragraph | Fields | Table | Code | QRCode | Picture | PageBreak


@dataclass
class Document:
    """A report: title, the facts every page repeats, and its blocks in order."""

    title: str
    """Document title (first line of page one)."""
    lang: str
    """``zh`` or ``en``."""
    deposit_id: str
    """Deposit number, printed on every page."""
    manifest_sm3: str
    """SM3 of manifest.json, printed on every page."""
    page_label: str
    """Page footer template with ``{page}`` and ``{total}``."""
    footer_labels: tuple[str, str]
    """Labels for the deposit number and the manifest SM3 in the footer."""
    blocks: list[Block] = field(default_factory=list)
    """The content, in order."""
    attachments: list[Attachment] = field(default_factory=list)
    """Files that travel with it (the full item list of a large deposit)."""

    def add(self, block: Block) -> None:
        """Append one block."""
        self.blocks.append(block)

    def strings(self) -> Iterator[str]:
        """Every string the document shows, as shown (used to cut the font down to them)."""
        yield from map(visible, self._strings())

    def _strings(self) -> Iterator[str]:
        yield from (self.title, self.deposit_id, self.manifest_sm3, self.page_label, *self.footer_labels)
        for block in self.blocks:
            if isinstance(block, Heading):
                yield block.text
            elif isinstance(block, Paragraph):
                yield from (r.text for r in block.runs)
            elif isinstance(block, Fields):
                for label, cell in block.rows:
                    yield label
                    yield from (r.text for r in cell)
            elif isinstance(block, Table):
                yield from block.header
                for row in block.rows:
                    for cell in row:
                        yield from (r.text for r in cell)
            elif isinstance(block, Code):
                yield from block.lines
            elif isinstance(block, Picture):
                yield block.caption
            elif isinstance(block, PageBreak):
                continue
            else:
                yield from (*block.shown_lines, block.caption)


def t(text: object, *, mono: bool = False, bold: bool = False) -> Text:
    """Shorthand for a :class:`Text` run; monospace falls back to sans for non-ASCII text."""
    s = str(text)
    return Text(s, mono=mono and s.isascii(), bold=bold)
