"""The HTML report's Chinese title is drawn with real glyphs in Chromium, not as boxes (tofu).

Headless Chromium without a CJK font draws every Chinese character as the same missing-glyph box. The
report is rendered by the real ``report`` command, opened in the system's Chromium through Playwright, and
each character of its title is cut out of a screenshot: real glyphs differ from one another and from the
box Chromium draws for a code point no font has.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parent.parent
CHROMIUM = Path("/usr/bin/chromium")
NO_GLYPH = "\U0010fffd"
"""A private-use code point of plane 16: no font draws it, so Chromium shows its missing-glyph box."""

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is installed by scripts/install-browser.sh")


def _glyph_images(html: Path) -> tuple[str, list[bytes], bytes]:
    """The title's text, the pixels of each of its characters and those of the missing-glyph box."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(device_scale_factor=2)
            page.goto(html.as_uri())
            # The reference box: the same element style, a character no font has (appended after the
            # title's own characters have been measured, so it changes nothing of them).
            boxes: list[dict[str, Any]] = page.evaluate(
                """(missing) => {
                    const h1 = document.querySelector('h1');
                    const title = h1.textContent;
                    const text = h1.firstChild;
                    const out = [];
                    for (let i = 0; i < text.length; i++) {
                        const r = document.createRange();
                        r.setStart(text, i); r.setEnd(text, i + 1);
                        const b = r.getBoundingClientRect();
                        out.push({x: b.x, y: b.y, width: b.width, height: b.height});
                    }
                    const probe = document.createElement('span');
                    probe.id = 'probe'; probe.textContent = missing;
                    h1.appendChild(probe);
                    const b = probe.getBoundingClientRect();
                    out.push({x: b.x, y: b.y, width: b.width, height: b.height, title});
                    return out;
                }""",
                NO_GLYPH,
            )
            shot = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("L")
        finally:
            browser.close()
    title = str(boxes[-1].pop("title"))
    scale = 2
    crops = [
        shot.crop(
            (
                round(b["x"] * scale),
                round(b["y"] * scale),
                round((b["x"] + b["width"]) * scale),
                round((b["y"] + b["height"]) * scale),
            )
        )
        for b in boxes
    ]
    shapes = [_shape(c) for c in crops]
    return title, shapes[:-1], shapes[-1]


def _shape(crop: Any) -> tuple[bool, ...]:
    """The ink of one character as 16x16 bits, trimmed to its ink and scaled: the same glyph drawn at
    another sub-pixel offset gives (nearly) the same bits; two different glyphs do not."""
    ink = crop.point(lambda v: 255 if v < 128 else 0)
    bbox = ink.getbbox()
    if bbox is None:
        return (False,) * 256
    small = ink.crop(bbox).resize((16, 16))
    return tuple(v > 127 for v in small.tobytes())


def _distance(a: tuple[bool, ...], b: tuple[bool, ...]) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


SAME = 64
"""Fewer differing bits of 256 than this: the same shape. Measured here: two missing-glyph boxes differ in
at most 28 bits, a title character from the box in 121 to 183, with 文泉驿微米黑."""


def test_chinese_title_of_the_html_report_is_not_tofu(cli, sample_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert shutil.which("fc-list"), "fontconfig comes with Chromium"
    package = tmp_path / "p.evp"
    assert cli("deposit", sample_dir, "-o", package).code == 0
    html = tmp_path / "c.html"
    assert cli("report", package, "--lang", "zh", "-o", html).code == 0
    title, glyphs, box = _glyph_images(html)
    assert title == "电子数据存证证明"
    chars = list(title)
    shapes = dict(zip(chars, glyphs, strict=False))
    for c, g in zip(chars, glyphs, strict=True):
        assert _distance(g, box) >= SAME, f"{c} is drawn as the missing-glyph box: no CJK font used"
        others = [d for d in chars if d != c]
        assert all(_distance(g, shapes[d]) >= SAME for d in others), f"{c} looks like another character"
        assert _distance(g, shapes[c]) < SAME  # 证 twice: one shape
    installed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=True).stdout
    assert installed.strip(), "scripts/install-system-deps.sh installs a CJK font"


def test_html_report_names_the_common_chinese_fonts() -> None:
    from evidencectl.report.html import CJK_FONTS, render_html
    from evidencectl.report.model import Document

    for family in ("Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi", "SimSun"):
        assert any(f.startswith(family) for f in CJK_FONTS), family
    doc = Document("电子数据存证证明", "zh", "EVD-X", "0" * 64, "{page}/{total}", ("编号", "SM3"))
    page = render_html(doc).decode()
    assert all(f'"{f}"' in page for f in CJK_FONTS)
