"""Text decoding across the charsets Chinese mail actually uses, and JSON-safe metadata values.

Mail clients often declare a narrower charset than they write: ``gb2312`` declared, GBK or GB18030
bytes sent; ``big5`` declared, Big5-HKSCS bytes sent; no charset at all and raw 8-bit headers. Each
declared charset therefore has a chain of supersets tried in order, then UTF-8 and GB18030, and only
at the very end a lossy decode. The charset that worked is reported, so the reading can be checked.
"""

from __future__ import annotations

import codecs
import email.header
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

# Supersets to try after a declared charset fails, most specific first.
_SUPERSETS: dict[str, tuple[str, ...]] = {
    "gb2312": ("gbk", "gb18030"),
    "gbk": ("gb18030",),
    "gb18030": (),
    "big5": ("big5hkscs", "cp950"),
    "big5hkscs": ("cp950",),
    "cp950": ("big5hkscs",),
    "ascii": ("utf-8",),
    "iso8859-1": ("cp1252",),
    "shift_jis": ("cp932",),
    "euc_jp": ("cp932",),
    "euc_kr": ("cp949",),
}
# Tried after the declared charset and its supersets; UTF-8 first because a wrong UTF-8 decode of
# GB bytes almost always fails, while a wrong GB18030 decode of UTF-8 bytes often "succeeds".
_FALLBACKS = ("utf-8", "gb18030", "big5hkscs")


def normalise_charset(name: str | None) -> str | None:
    """The Python codec name for a MIME charset label, or None if Python has no such codec."""
    if not name:
        return None
    label = name.strip().strip('"').lower()
    aliases = {
        "x-gbk": "gbk",
        "gb_2312-80": "gb2312",
        "euc-cn": "gb2312",
        "x-euc-cn": "gb2312",
        "cn-gb": "gb2312",
    }
    label = aliases.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_bytes(data: bytes, declared: str | None) -> tuple[str, str, bool]:
    """Decode ``data`` declared as ``declared``: returns (text, charset used, exact).

    ``exact`` is False when the declared charset did not decode the bytes and another one did, or when
    nothing decoded them cleanly and U+FFFD replaced the undecodable bytes.
    """
    first = normalise_charset(declared)
    chain: list[str] = []
    if first:
        chain.append(first)
        chain.extend(_SUPERSETS.get(first, ()))
    chain.extend(c for c in _FALLBACKS if c not in chain)
    if data.isascii() and first in (None, "ascii", "utf-8"):
        return data.decode("ascii"), first or "ascii", True
    for charset in chain:
        try:
            text = data.decode(charset)
        except (UnicodeDecodeError, LookupError):
            continue
        exact = first is None or charset == first or charset in _SUPERSETS.get(first, ())
        return text, charset, exact
    return data.decode(first or "utf-8", errors="replace"), first or "utf-8", False


def decode_header_value(raw: str | None) -> tuple[str, list[str]]:
    """Decode a header as the stdlib parser (compat32) hands it over: encoded-words and raw 8-bit bytes.

    Returns the text and a list of problems (charsets that did not fit). Raw 8-bit bytes arrive as
    surrogate escapes and are decoded with the same fallback chain as bodies.
    """
    if raw is None:
        return "", []
    problems: list[str] = []
    try:
        chunks = email.header.decode_header(raw)
    except Exception as exc:  # malformed encoded-words: keep the raw text
        return clean_str(raw), [f"header not decodable: {exc}"]
    pieces: list[str] = []
    for value, charset in chunks:
        if isinstance(value, str) and not _has_surrogates(value):
            pieces.append(value)  # already text (the parser decoded RFC 2231 or it is plain ASCII)
            continue
        # Surrogate escapes stand for raw 8-bit bytes; turn them back into bytes and decode properly.
        data = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
        text, used, exact = decode_bytes(data, charset)
        if not exact:
            problems.append(f"declared charset {charset or 'none'} does not fit; read as {used}")
        pieces.append(text)
    # decode_header drops the whitespace between an encoded-word and plain text only when both are
    # encoded; joining with "" keeps the stdlib's spacing decisions for mixed runs.
    return clean_str(_join_chunks(pieces, chunks)), problems


def _join_chunks(pieces: list[str], chunks: list[tuple[Any, str | None]]) -> str:
    if len(chunks) == 1 or all(isinstance(v, str) for v, _ in chunks):
        return "".join(pieces)
    out: list[str] = []
    for i, piece in enumerate(pieces):
        # In compat32 mode, decode_header returns bytes without the separating spaces between an
        # unencoded chunk and an encoded one; restore a single space there as email.header.make_header does.
        if i and (chunks[i][1] is None) != (chunks[i - 1][1] is None):
            left, right = out[-1], piece
            if not left.endswith(" ") and not right.startswith(" "):
                out.append(" ")
        out.append(piece)
    return "".join(out)


def _has_surrogates(value: str) -> bool:
    return not value.isascii() and any("\ud800" <= ch <= "\udfff" for ch in value)


def clean_str(value: str) -> str:
    """``value`` with lone surrogates (left by surrogateescape) replaced, so it is valid Unicode."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        data = value.encode("utf-8", "surrogateescape")
        return decode_bytes(data, None)[0]


def excerpt(text: str, limit: int) -> tuple[str, bool]:
    """The first ``limit`` characters of ``text`` and whether it was cut."""
    return (text, False) if len(text) <= limit else (text[:limit], True)


def to_json(value: Any, *, depth: int = 0) -> Any:
    """``value`` as a JSON value for canonical JSON: no floats, only valid Unicode strings.

    Rationals (Pillow's ``IFDRational``, ``Fraction``) become ``"num/den"``; floats become their
    ``repr`` string; bytes become text when they are UTF-8, else ``hex:...``; unknown objects ``str()``.
    """
    if depth > 20:
        return "<nested too deep>"
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return clean_str(value)
    if isinstance(value, bytes | bytearray):
        raw = bytes(value).rstrip(b"\x00")
        try:
            return clean_str(raw.decode("utf-8"))
        except UnicodeDecodeError:
            return "hex:" + raw[:4096].hex()
    if isinstance(value, dict):
        return {clean_str(str(k)): to_json(v, depth=depth + 1) for k, v in value.items()}
    if isinstance(value, Iterable) and not hasattr(value, "numerator"):
        return [to_json(v, depth=depth + 1) for v in value]
    num = getattr(value, "numerator", None)
    den = getattr(value, "denominator", None)
    if isinstance(num, int) and isinstance(den, int):
        return f"{num}/{den}"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    return clean_str(str(value))
