"""Fonts for PDF reports: embedded, subset, and able to set Chinese on a machine without CJK fonts.

The sans-serif face is Noto Sans SC (SIL Open Font License 1.1) from the ``justmytype-intl-cjk`` wheel;
digests are set in IBM Plex Mono (SIL OFL 1.1) from ``fontpkg-ibm-plex-mono``. Either can be replaced
with ``EVIDENCECTL_REPORT_FONT`` / ``EVIDENCECTL_REPORT_MONO_FONT`` (a TrueType file).

Noto Sans SC ships as a variable font whose default instance is Thin (wght 100). Instancing the whole
17 MB font takes ~15 s, so the font is first cut down to the characters the document uses (~0.2 s),
then instanced at Regular (400) and Bold (700). reportlab subsets and embeds the result again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInputError
from ..i18n import _

SANS_ENV = "EVIDENCECTL_REPORT_FONT"
MONO_ENV = "EVIDENCECTL_REPORT_MONO_FONT"
_SANS_PACKAGE = ("justmytype_intl_cjk", "fonts/ofl/notosanssc/NotoSansSC[wght].ttf")
_MONO_PACKAGE = ("fontpkg_ibm_plex_mono", "files/IBMPlexMono-Regular.ttf")


@dataclass(frozen=True)
class FontSet:
    """The three faces a PDF report uses, as TrueType bytes ready for reportlab."""

    regular: bytes
    """Sans-serif regular (Latin and CJK), cut to the document's characters."""
    bold: bytes
    """Sans-serif bold, cut to the document's characters."""
    mono: bytes
    """Monospace face for digests, keys and commands (ASCII text only)."""


def _package_file(package: str, relative: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return path if path.is_file() else None


def _locate(env: str, package: tuple[str, str], pip_name: str) -> Path:
    override = os.environ.get(env)
    if override:
        path = Path(override)
        if not path.is_file():
            raise BadInputError(_("report font not found (set by {env})").format(env=env), path=path)
        return path
    found = _package_file(*package)
    if found is None:
        raise BadInputError(
            _("the report font is not installed; install it with: pip install {pip_name}").format(pip_name=pip_name)
        )
    return found


def sans_font_path() -> Path:
    """The sans-serif font file (Noto Sans SC unless overridden)."""
    return _locate(SANS_ENV, _SANS_PACKAGE, "justmytype-intl-cjk")


def mono_font_path() -> Path:
    """The monospace font file (IBM Plex Mono unless overridden)."""
    return _locate(MONO_ENV, _MONO_PACKAGE, "fontpkg-ibm-plex-mono")


def _cut(path: Path, text: str, weights: Iterable[int]) -> list[bytes]:
    """Subset ``path`` to ``text``; instance a variable font at each weight (static fonts come back as is)."""
    from fontTools import subset  # type: ignore[import-untyped]
    from fontTools.ttLib import TTFont, TTLibError  # type: ignore[import-untyped]
    from fontTools.varLib import instancer  # type: ignore[import-untyped]

    family = re.sub(r"[^A-Za-z0-9]", "", path.stem.split("[")[0]) or "Sans"
    tag = hashlib.sha256(f"{path}\n{text}".encode()).hexdigest()[:8]
    try:
        font = TTFont(str(path), lazy=True)
        if "glyf" not in font:
            raise BadInputError(_("report font has no TrueType outlines (CFF/OTF is not supported)"), path=path)
        options = subset.Options()
        options.layout_features = []
        options.notdef_outline = True
        options.name_IDs = ["*"]
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=text)
        subsetter.subset(font)
    except (OSError, TTLibError, KeyError, AssertionError) as exc:
        raise BadInputError(_("unreadable report font: {exc}").format(exc=exc), path=path) from exc
    out: list[bytes] = []
    cut = io.BytesIO()
    font.save(cut)
    for weight in weights:
        if "fvar" in font:
            axes = {a.axisTag: a for a in font["fvar"].axes}
            value = max(axes["wght"].minValue, min(axes["wght"].maxValue, weight)) if "wght" in axes else None
            # Each weight from a fresh load of the small subset: cheaper than the deep copy that
            # inplace=False makes (a second of a 20,000-item report).
            inst = TTFont(io.BytesIO(cut.getvalue()))
            instancer.instantiateVariableFont(inst, {"wght": value} if value else {}, inplace=True)
            style = "Bold" if weight >= 600 else "Regular"
            # The name table still says "Thin" (the default instance); pdffonts and viewers show it.
            # The tag makes each subset's name unique: reportlab reuses a registered font of the same
            # face name, which would set this document's text with another document's glyphs.
            inst["name"].setName(f"{family}-{style}-{tag}", 6, 3, 1, 0x409)
            inst["name"].setName(style, 2, 3, 1, 0x409)
        else:
            inst = font
        buf = io.BytesIO()
        inst.save(buf)
        out.append(buf.getvalue())
    return out


def load_fonts(text: str) -> FontSet:
    """Fonts for a document whose characters are all in ``text``; raises BadInputError when missing."""
    chars = "".join(sorted(set(text) | set(" 0123456789/…-:.,()%")))
    regular, bold = _cut(sans_font_path(), chars, (400, 700))
    mono_path = mono_font_path()
    try:
        mono = mono_path.read_bytes()
    except OSError as exc:
        raise BadInputError(_("unreadable report font: {exc}").format(exc=exc), path=mono_path) from exc
    return FontSet(regular=regular, bold=bold, mono=mono)
