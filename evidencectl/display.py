"""What a person reads: every string from the evidence shown so that it cannot hide, move or forge text.

File names, mail headers, TSA names and notes come from the evidence, so from the adversary. Printed
raw, a newline forges a ``PASSED`` line, ``ESC[8m`` hides what follows, a bidi override turns
``invoice<U+202E>fdp.exe`` into what reads as ``invoiceexe.pdf``, and a zero-width space makes two
different names look alike. :func:`visible` is the one escaping every human-readable output uses (the
terminal, HTML, PDF); JSON keeps the exact characters.

Each character that cannot be seen for what it is becomes ``<U+XXXX>`` (upper-case hex, 4 to 6 digits),
plain ASCII so that every font and terminal shows it:

- C0 and C1 controls and DEL (newline and tab included: one value, one line);
- every format character (Unicode category Cf): bidi embeddings, overrides, isolates and marks, the
  Arabic letter mark, zero-width space, joiners and non-joiner, word joiner, BOM, soft hyphen, tags;
- line and paragraph separators, and spaces other than the ASCII space and the ideographic space
  U+3000 (a normal, visibly wide character in Chinese text);
- lone surrogates (a name that was not UTF-8), private-use and unassigned code points, which no font
  shows for what they are;
- invisible letters and marks: Hangul fillers, the braille blank, the combining grapheme joiner,
  Khmer inherent vowels and variation selectors.

The escaping is reversible: a literal ``<`` that would start such an escape is itself written
``<U+003C>``, so two different strings never show the same.
"""

from __future__ import annotations

import re
import unicodedata

_ASCII_UNSAFE = re.compile(r"[\x00-\x1f\x7f]|<(?=U\+[0-9A-F]{4,6}>)")
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_KEPT_SPACES = frozenset(" \u3000")
_INVISIBLE_LETTERS = (
    "\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5\u180b-\u180d\u180f\ufe00-\ufe0f\U000e0100-\U000e01ef"
)
# str.isprintable() is False exactly for categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs but the ASCII space:
# a C-speed first look, so that a verify printing 400,000 lines pays almost nothing for names that are fine.
_INVISIBLE = re.compile(f"[{_INVISIBLE_LETTERS}]")


def _hidden(ch: str) -> bool:
    """True for a character outside ASCII that :func:`visible` escapes."""
    category = unicodedata.category(ch)
    if category in _HIDDEN_CATEGORIES or (category == "Zs" and ch not in _KEPT_SPACES):
        return True
    return bool(_INVISIBLE.match(ch))


def _shown(ch: str) -> str:
    return f"<U+{ord(ch):04X}>"


def visible(text: object) -> str:
    """``text`` as a person may safely read it: one line, every hidden character shown as ``<U+XXXX>``."""
    s = text if isinstance(text, str) else str(text)
    if s.isascii():
        return s if s.isprintable() and "<U+" not in s else _ASCII_UNSAFE.sub(lambda m: _shown(m.group()), s)
    if s.replace("\u3000", " ").isprintable() and "<U+" not in s and not _INVISIBLE.search(s):
        return s
    out = []
    for i, ch in enumerate(s):
        if ord(ch) < 0x80:
            hide = ord(ch) < 0x20 or ord(ch) == 0x7F or (ch == "<" and _ASCII_UNSAFE.match(s, i) is not None)
        else:
            hide = _hidden(ch)
        out.append(_shown(ch) if hide else ch)
    return "".join(out)


def hidden_characters(name: str) -> list[str]:
    """The code points (``U+202E``…) in ``name`` that :func:`visible` would escape, each once, in order."""
    if name.isascii() and name.isprintable():
        return []
    found: list[str] = []
    for ch in name:
        if (ord(ch) < 0x20 or ord(ch) == 0x7F or (ord(ch) > 0x7F and _hidden(ch))) and (
            code := f"U+{ord(ch):04X}"
        ) not in found:
            found.append(code)
    return found


def invisible_in_name(name: str) -> list[str]:
    """The bidi controls and invisible characters in a file name (C0 controls are judged elsewhere)."""
    if name.isascii() or (name.replace("\u3000", " ").isprintable() and not _INVISIBLE.search(name)):
        return []  # the common case, at C speed: a deposit asks this of every one of 200,000 names
    return [code for code in hidden_characters(name) if int(code[2:], 16) > 0x7F]


def unescape(shown: str) -> str:
    """The string :func:`visible` was given (for tests and for people who copy a name from a report)."""
    return re.sub(r"<U\+([0-9A-F]{4,6})>", lambda m: chr(int(m.group(1), 16)), shown)


def visible_all(texts: list[str]) -> list[str]:
    """:func:`visible` of each of ``texts``, looking at all of them at once first: a verification of
    200,000 items prints 400,000 lines, nearly always with nothing to escape."""
    joined = "".join(texts)
    if visible(joined) is joined:
        return texts  # nothing hidden anywhere (a hidden character in one text is in the joined text)
    return [visible(t) for t in texts]
