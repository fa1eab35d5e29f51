"""HTML rendering: one self-contained file (inline CSS, QR code as inline SVG), readable offline."""

from __future__ import annotations

import base64
from html import escape as _html_escape

from ..display import visible
from .model import Block, Cell, Code, Document, Fields, Heading, PageBreak, Paragraph, Picture, QRCode, Table, Text
from .qr import qr_svg


def escape(text: str) -> str:
    """HTML text for a string from the evidence: hidden characters shown (``<U+202E>``), then HTML-escaped."""
    return _html_escape(visible(text))


CJK_FONTS = (
    "Microsoft YaHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "SimSun",
)
"""Chinese fonts a reader's machine commonly has, tried in this order: Windows (微软雅黑), macOS (苹方, 冠黑体),
Linux (Noto/Source Han Sans CJK, 文泉驿; scripts/install-system-deps.sh installs 文泉驿微米黑), then 宋体. A
page naming none that is installed is drawn as boxes by a browser whose fallback finds no CJK font."""
_FONT_STACK = ",".join(f'"{name}"' for name in CJK_FONTS)

_CSS = """
body{font-family:"Segoe UI","Helvetica Neue",Arial,__CJK__,sans-serif;
 max-width:60em;margin:2em auto;padding:0 1em;color:#111;font-size:14px;line-height:1.45}
h1{font-size:1.7em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #999}
table{border-collapse:collapse;width:100%;margin:.4em 0 1em}
td,th{border:1px solid #999;padding:.25em .4em;vertical-align:top;text-align:left}
th{background:#eee}td.label{width:27%;color:#444;font-size:.9em}
.mono,pre{font-family:"IBM Plex Mono","DejaVu Sans Mono",Consolas,__CJK__,monospace;font-size:.85em;
 overflow-wrap:anywhere;word-break:break-all}
pre{background:#f3f3f3;padding:.6em;white-space:pre-wrap}
.alert{border:2px solid #b00020;background:#fdecee;color:#b00020;font-weight:bold;padding:.6em;margin:1em 0}
.ok{border:2px solid #1b6e20;background:#eaf5ea;padding:.6em;margin:1em 0}
.ok p:first-child,.alert p:first-child{font-size:1.3em}
.qr{display:flex;gap:1em;align-items:flex-start}.qr svg{flex:none;width:200px;height:200px;shape-rendering:crispEdges}
hr.page-break{border:0;border-top:3px double #999;margin:2em 0}
@media print{hr.page-break{border:0;break-after:page}}
footer{margin-top:2em;border-top:1px solid #999;font-size:.85em;color:#444}
.cell-line{display:block}
figure{margin:.4em 0 1em}figure img{border:1px solid #999;max-width:100%;height:auto}
figcaption{font-size:.85em;color:#444;overflow-wrap:anywhere}
@media print{body{max-width:none}}
""".replace("__CJK__", _FONT_STACK)


def _run(run: Text) -> str:
    text = escape(run.text)
    if run.mono:
        text = f'<span class="mono">{text}</span>'
    if run.bold:
        text = f"<strong>{text}</strong>"
    return text


def _cell(cell: Cell) -> str:
    return "".join(f'<span class="cell-line">{_run(r)}</span>' for r in cell)


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"<h2>{escape(block.text)}</h2>"
    if isinstance(block, PageBreak):
        return '<hr class="page-break">'
    if isinstance(block, Paragraph):
        body = "".join(f"<p>{_run(r)}</p>" for r in block.runs)
        if block.alert:
            return f'<div class="alert" role="alert">{body}</div>'
        return f'<div class="ok">{body}</div>' if block.ok else body
    if isinstance(block, Fields):
        rows = "".join(
            f'<tr><td class="label">{escape(label)}</td><td>{_cell(value)}</td></tr>' for label, value in block.rows
        )
        return f"<table>{rows}</table>"
    if isinstance(block, Table):
        cols = "".join(f'<col style="width:{w * 100:.0f}%">' for w in block.widths)
        head = "".join(f"<th>{escape(h)}</th>" for h in block.header)
        body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>" for row in block.rows)
        return f"<table><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    if isinstance(block, Code):
        return "<pre>" + "\n".join(escape(line) for line in block.lines) + "</pre>"
    if isinstance(block, Picture):
        # A data: URI keeps the file self-contained: nothing is fetched when it is opened.
        src = "data:image/png;base64," + base64.b64encode(block.png).decode("ascii")
        return (
            f'<figure><img src="{src}" width="{block.width}" height="{block.height}" '
            f'alt="{escape(block.caption)}"><figcaption>{escape(block.caption)}</figcaption></figure>'
        )
    assert isinstance(block, QRCode)
    payload = "\n".join(escape(line) for line in block.shown_lines)
    return (
        f'<div class="qr">{qr_svg(block.payload)}<div><p>{escape(block.caption)}</p>'
        f'<pre class="qr-payload">{payload}</pre></div></div>'
    )


def render_html(doc: Document, beside: dict[str, str] | None = None) -> bytes:
    """The HTML bytes of ``doc`` (UTF-8); ``beside`` maps each attachment to the name of the file written
    next to the HTML, which the page links to by that relative name."""
    lang = "zh-CN" if doc.lang == "zh" else "en"
    parts = [
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">',
        f"<title>{escape(doc.title)} {escape(doc.deposit_id)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<header><h1>{escape(doc.title)}</h1></header><main>",
        *(_block(b) for b in doc.blocks),
        *(
            f'<p class="attachment"><a href="{escape((beside or {}).get(a.name, a.name))}">'
            f"{escape((beside or {}).get(a.name, a.name))}</a> — {escape(a.description)}</p>"
            for a in doc.attachments
        ),
        "</main><footer>",
        f'<p>{escape(doc.footer_labels[0])}: <span class="mono">{escape(doc.deposit_id)}</span></p>',
        f'<p>{escape(doc.footer_labels[1])}: <span class="mono">{escape(doc.manifest_sm3)}</span></p>',
        "</footer></body></html>\n",
    ]
    return "".join(parts).encode("utf-8")
