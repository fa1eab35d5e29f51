"""PDF rendering with reportlab: A4, embedded subset fonts, page "N of M" and the deposit on every page."""

from __future__ import annotations

import hashlib
import io
from typing import Any
from xml.sax.saxutils import escape

from ..display import visible
from .fonts import FontSet, load_fonts
from .model import Block, Cell, Code, Document, Fields, Heading, PageBreak, Paragraph, Picture, QRCode, Table, Text
from .qr import qr_matrix

_MARGIN = 42.0
_MONO_SIZE = 7.0
"""Digests are set at 7 pt: 64 hex digits of a 0.6 em monospace font need 269 pt, less than the column."""
_PICTURE_BOX = (300.0, 450.0)
"""Largest size of a picture on the page, in points (a thumbnail of 720 × 1080 px prints at 173 dpi)."""


class _Renderer:
    """Turns document blocks into reportlab flowables with one set of registered fonts."""

    def __init__(self, fonts: FontSet) -> None:
        from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
        from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
        from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped]

        # Names carry a digest of the subset: reportlab's registry is global and another document's
        # subset of the same family must not be reused.
        tag = hashlib.sha256(fonts.regular + fonts.bold).hexdigest()[:10]
        self.sans, self.bold, self.mono = f"EvSans-{tag}", f"EvSansBold-{tag}", "EvMono"
        for name, data in ((self.sans, fonts.regular), (self.bold, fonts.bold), (self.mono, fonts.mono)):
            if name not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont(name, io.BytesIO(data)))
        self.style = ParagraphStyle("body", fontName=self.sans, fontSize=8.5, leading=11.5)
        self.small = ParagraphStyle("small", parent=self.style, fontSize=7.5, leading=9.5)
        self.label = ParagraphStyle("label", parent=self.small, textColor="#444444")
        self.heading = ParagraphStyle(
            "heading", fontName=self.bold, fontSize=12, leading=16, spaceBefore=10, spaceAfter=4
        )
        self.title = ParagraphStyle("title", fontName=self.bold, fontSize=17, leading=22, spaceAfter=8)

    def para(self, run: Text, base: Any = None) -> Any:
        """One run as a paragraph; long unbroken tokens and CJK text may break anywhere."""
        from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
        from reportlab.platypus import Paragraph as RLParagraph  # type: ignore[import-untyped]

        style = base or self.style
        font = self.mono if run.mono else (self.bold if run.bold else style.fontName)
        size = _MONO_SIZE if run.mono else style.fontSize
        anywhere = run.mono or not run.text.isascii() or any(len(w) > 30 for w in run.text.split())
        s = ParagraphStyle(
            "run",
            parent=style,
            fontName=font,
            fontSize=size,
            leading=max(size + 2.5, style.leading if not run.mono else 0),
            wordWrap="CJK" if anywhere else None,
        )
        # The text is the adversary's: hidden characters shown as <U+XXXX>, so none can break a line.
        return RLParagraph(escape(visible(run.text)), s)

    def cell(self, cell: Cell, base: Any = None) -> list[Any]:
        """A table cell: one paragraph per run."""
        return [self.para(r, base) for r in cell]

    def block(self, block: Block, width: float) -> list[Any]:
        """The flowables of one block."""
        from reportlab.lib import colors  # type: ignore[import-untyped]
        from reportlab.platypus import Spacer, TableStyle  # type: ignore[import-untyped]
        from reportlab.platypus import Table as RLTable  # type: ignore[import-untyped]

        grid = [
            ("FONTNAME", (0, 0), (-1, -1), self.sans),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
            ("LEFTPADDING", (0, 0), (-1, -1), 4),
            ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ]
        if isinstance(block, Heading):
            # A heading never ends a page alone: render_pdf puts a CondPageBreak before it that makes
            # room for the first rows of what follows (keepWithNext would push a long table whole).
            return [self.para(Text(block.text, bold=True), self.heading)]
        if isinstance(block, PageBreak):
            from reportlab.platypus import PageBreak as RLPageBreak  # type: ignore[import-untyped]

            return [RLPageBreak()]
        if isinstance(block, Paragraph):
            if not block.alert and not block.ok:
                return [*self.cell(block.runs), Spacer(1, 4)]
            edge, fill = ("#b00020", "#fdecee") if block.alert else ("#1b6e20", "#eaf5ea")
            # The first run is the verdict: set as large as a heading.
            runs = [self.para(block.runs[0], self.heading), *self.cell(block.runs[1:])] if block.runs else []
            box = RLTable([[runs]], colWidths=[width])
            box.setStyle(
                TableStyle(
                    [
                        ("FONTNAME", (0, 0), (-1, -1), self.sans),
                        ("BOX", (0, 0), (-1, -1), 1.5, colors.HexColor(edge)),
                        ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor(fill)),
                    ]
                )
            )
            return [box, Spacer(1, 6)]
        if isinstance(block, Fields):
            rows = [[self.para(Text(label), self.label), self.cell(value)] for label, value in block.rows]
            table = _KeptTable(rows, colWidths=[width * 0.27, width * 0.73])
            table.setStyle(TableStyle(grid))
            if len(rows) <= KEEP_FIELDS:
                from reportlab.platypus import KeepTogether  # type: ignore[import-untyped]

                # A short group of facts (one check, one timestamp) reads as one: never cut in two.
                return [KeepTogether([table, Spacer(1, 6)])]
            return [table, Spacer(1, 6)]
        if isinstance(block, Table):
            head = [self.para(Text(h, bold=True), self.small) for h in block.header]
            body = [[self.cell(c, self.small) for c in row] for row in block.rows]
            table = _KeptTable([head, *body], colWidths=[width * w for w in block.widths], repeatRows=1)
            table.setStyle(TableStyle([*grid, ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee"))]))
            return [table, Spacer(1, 6)]
        if isinstance(block, Code):
            lines = [self.para(Text(line, mono=line.isascii())) for line in block.lines]
            box = RLTable([[lines]], colWidths=[width])
            box.setStyle(
                TableStyle(
                    [
                        ("FONTNAME", (0, 0), (-1, -1), self.sans),
                        ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#f3f3f3")),
                    ]
                )
            )
            return [box, Spacer(1, 4)]
        if isinstance(block, Picture):
            return [self._picture(block), Spacer(1, 6)]
        return [self._qr(block, width), Spacer(1, 6)]

    def _picture(self, block: Picture) -> Any:
        from reportlab.lib import colors  # type: ignore[import-untyped]
        from reportlab.platypus import Image as RLImage  # type: ignore[import-untyped]
        from reportlab.platypus import Table as RLTable  # type: ignore[import-untyped]
        from reportlab.platypus import TableStyle  # type: ignore[import-untyped]

        scale = min(_PICTURE_BOX[0] / block.width, _PICTURE_BOX[1] / block.height)
        w, h = block.width * scale, block.height * scale
        image = RLImage(io.BytesIO(block.png), width=w, height=h)
        caption = self.para(Text(block.caption), self.small)
        table = RLTable([[image], [caption]], colWidths=[w + 8], hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), self.sans),
                    ("BOX", (0, 0), (0, 0), 0.6, colors.HexColor("#999999")),
                    ("LEFTPADDING", (0, 0), (-1, -1), 4),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 4),
                ]
            )
        )
        return table

    def _qr(self, block: QRCode, width: float) -> Any:
        from reportlab.platypus import Table as RLTable  # type: ignore[import-untyped]
        from reportlab.platypus import TableStyle  # type: ignore[import-untyped]

        side = 110.0
        drawing = _QRFlowable(qr_matrix(block.payload), side)
        text = [self.para(Text(block.caption), self.small)]
        text += [self.para(Text(line, mono=True)) for line in block.shown_lines]
        table = RLTable([[drawing, text]], colWidths=[side + 8, width - side - 8])
        table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), self.sans), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return table


KEEP_FIELDS = 14
"""Label/value tables up to this many rows move to the next page whole rather than split."""
MIN_ROWS = 2
"""Fewest body rows of a table left at the bottom of a page or carried over to the next one."""


def _kept_table_class() -> Any:
    from reportlab.platypus import Table as RLTable  # type: ignore[import-untyped]

    class KeptTable(RLTable):  # type: ignore[misc]
        """A table that never splits off fewer than :data:`MIN_ROWS` body rows on either side."""

        def split(self, availWidth: float, availHeight: float) -> list[Any]:  # noqa: N803 - reportlab's names
            parts: list[Any] = super().split(availWidth, availHeight)
            if len(parts) != 2:
                return parts
            head = self.repeatRows if isinstance(self.repeatRows, int) else len(self.repeatRows)
            first, second = (len(p._cellvalues) - (head if n else 0) for n, p in enumerate(parts))
            first -= head
            if first < MIN_ROWS:
                return []  # the whole table starts on the next page
            if second < MIN_ROWS:
                # Carry one more row over, so the next page does not hold a lone row.
                return list(super().split(availWidth, availHeight - parts[0]._rowHeights[-1] - 0.5))
            return parts

    return KeptTable


def _KeptTable(*args: Any, **kwargs: Any) -> Any:  # noqa: N802 - a class factory
    return _kept_table_class()(*args, **kwargs)


def _room_for(heading: Any, following: list[Any], width: float) -> float:
    """Height a heading needs at a page bottom: itself and the first rows of the table after it."""
    from reportlab.platypus import KeepTogether  # type: ignore[import-untyped]
    from reportlab.platypus import Table as RLTable  # type: ignore[import-untyped]

    need = float(heading.wrap(width, 10_000)[1]) + 16
    first = following[0] if following else None
    if isinstance(first, KeepTogether):
        # It moves whole: the heading must have room for all of it, or it would be left behind.
        return need + float(sum(f.wrap(width, 10_000)[1] for f in first._content))
    if isinstance(first, RLTable):
        rows = first._cellvalues[: 1 + MIN_ROWS + (1 if first.repeatRows else 0)]
        probe = RLTable(rows, colWidths=first._colWidths)
        need += probe.wrap(width, 10_000)[1]
    elif first is not None:
        need += min(first.wrap(width, 10_000)[1], 120)
    return need


def _qr_flowable_class() -> Any:
    from reportlab.platypus import Flowable  # type: ignore[import-untyped]

    class QRFlowable(Flowable):  # type: ignore[misc]
        """Dark modules drawn as filled squares straight on the canvas (reportlab graphics would
        name Helvetica, a font that is never embedded)."""

        def __init__(self, matrix: list[list[bool]], side: float) -> None:
            super().__init__()
            self.matrix, self.side = matrix, side
            self.width = self.height = side

        def draw(self) -> None:
            quiet = 4
            module = self.side / (len(self.matrix) + 2 * quiet)
            c = self.canv
            c.setFillColorRGB(1, 1, 1)
            c.rect(0, 0, self.side, self.side, stroke=0, fill=1)
            c.setFillColorRGB(0, 0, 0)
            for y, row in enumerate(self.matrix):
                for x, dark in enumerate(row):
                    if dark:
                        top = self.side - (y + quiet + 1) * module
                        c.rect((x + quiet) * module, top, module, module, stroke=0, fill=1)

    return QRFlowable


def _QRFlowable(matrix: list[list[bool]], side: float) -> Any:  # noqa: N802 - a class factory
    return _qr_flowable_class()(matrix, side)


def _attach(canvas: Any, doc: Document) -> None:
    """Embed ``doc.attachments`` as PDF embedded files (ISO 32000-1 §7.11.4), listed in the catalog's
    EmbeddedFiles name tree; viewers show them in their attachments panel (``pdfdetach -list``)."""
    from reportlab.pdfbase.pdfdoc import (  # type: ignore[import-untyped]
        PDFArray,
        PDFDictionary,
        PDFName,
        PDFStream,
        PDFStreamFilterZCompress,
        PDFString,
    )

    pdf = canvas._doc
    names: list[Any] = []
    for a in sorted(doc.attachments, key=lambda a: a.name):
        stream = PDFStream(
            PDFDictionary(
                {
                    "Type": PDFName("EmbeddedFile"),
                    "Subtype": PDFName(a.media_type.replace("/", "#2F")),
                    "Params": PDFDictionary({"Size": len(a.data)}),
                }
            ),
            a.data,
            filters=[PDFStreamFilterZCompress()],
        )
        spec = PDFDictionary(
            {
                "Type": PDFName("Filespec"),
                "F": PDFString(a.name),
                "UF": PDFString(a.name),
                "Desc": PDFString(a.description),
                "AFRelationship": PDFName("Data"),
                "EF": PDFDictionary({"F": pdf.Reference(stream)}),
            }
        )
        names += [PDFString(a.name), pdf.Reference(spec)]
    pdf.Catalog.Names = PDFDictionary({"EmbeddedFiles": PDFDictionary({"Names": PDFArray(names)})})


def _canvas_class(doc: Document, r: _Renderer) -> Any:
    """A canvas that holds pages back until the end, so each footer can name the total page count."""
    from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

    class NumberedCanvas(Canvas):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            # Without an initial font reportlab names Helvetica on every page, a font never embedded.
            kwargs["initialFontName"] = r.sans
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            if doc.attachments:
                _attach(self, doc)
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._footer(total)
                super().showPage()
            super().save()

        def _footer(self, total: int) -> None:
            width, _ = self._pagesize
            y = 24.0
            self.setLineWidth(0.4)
            self.line(_MARGIN, y + 16, width - _MARGIN, y + 16)
            self.setFont(r.sans, 7.5)
            self.drawString(_MARGIN, y + 6, f"{doc.footer_labels[0]}: ")
            self.setFont(r.mono, 7.5)
            at = _MARGIN + self.stringWidth(f"{doc.footer_labels[0]}: ", r.sans, 7.5)
            self.drawString(at, y + 6, visible(doc.deposit_id))
            page = doc.page_label.format(page=self._pageNumber, total=total)
            self.setFont(r.sans, 7.5)
            self.drawRightString(width - _MARGIN, y + 6, page)
            label = f"{doc.footer_labels[1]}: "
            self.drawString(_MARGIN, y - 4, label)
            self.setFont(r.mono, 7.0)
            self.drawString(_MARGIN + self.stringWidth(label, r.sans, 7.5), y - 4, visible(doc.manifest_sm3))

    return NumberedCanvas


def render_pdf(doc: Document) -> bytes:
    """The PDF bytes of ``doc``; raises BadInputError when a font is missing or unreadable."""
    from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
    from reportlab.platypus import SimpleDocTemplate  # type: ignore[import-untyped]

    fonts = load_fonts("".join(doc.strings()))
    r = _Renderer(fonts)
    buf = io.BytesIO()
    template = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN + 24,
        title=visible(f"{doc.title} {doc.deposit_id}"),
        author="evidencectl",
        subject=visible(doc.deposit_id),
        creator="evidencectl",
        lang="zh-CN" if doc.lang == "zh" else "en",
    )
    width = A4[0] - 2 * _MARGIN
    story: list[Any] = [r.para(Text(doc.title, bold=True), r.title)]
    from reportlab.platypus import CondPageBreak  # type: ignore[import-untyped]

    blocks = doc.blocks
    n = 0
    while n < len(blocks):
        flowables = r.block(blocks[n], width)
        if isinstance(blocks[n], Heading):
            # Headings that follow each other stay with the first block that is not a heading.
            group = list(flowables)
            while n + 1 < len(blocks) and isinstance(blocks[n + 1], Heading):
                n += 1
                group += r.block(blocks[n], width)
            after = r.block(blocks[n + 1], width) if n + 1 < len(blocks) else []
            need = sum(f.wrap(width, 10_000)[1] for f in group[:-1]) + _room_for(group[-1], after, width)
            story += [CondPageBreak(need), *group, *after]
            n += 2
            continue
        story.extend(flowables)
        n += 1
    template.build(story, canvasmaker=_canvas_class(doc, r))
    return buf.getvalue()
