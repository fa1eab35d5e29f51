"""Canonical JSON (RFC 8785, JSON Canonicalization Scheme) for the manifest and every signed or hashed record."""

from __future__ import annotations

import json
import re
from typing import Any

import rfc8785


def _check(value: Any, where: str = "$") -> None:
    # Floats have no single canonical text across implementations of a by-hand verifier; refuse them so
    # that every leaf can be recomputed with json.dumps(sort_keys=True) as well as with an RFC 8785 library.
    if isinstance(value, float):
        raise ValueError(f"{where}: floating-point numbers are not allowed in canonical records")
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"{where}: object keys must be strings")
            _check(v, f"{where}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check(v, f"{where}[{i}]")
    elif isinstance(value, str):
        value.encode("utf-8")  # raises on lone surrogates, which JSON cannot carry


# A number token in json.dumps output that RFC 8785 writes differently or that canonical records refuse: a
# float (a fraction or an exponent) or an integer of 16 digits or more (beyond what a double holds exactly).
# It may also match inside a string; such a record simply takes the exact, slower path.
_SUSPECT_NUMBER = re.compile(r"[:\[,]-?[0-9]+(?:[.eE]|(?<=[0-9]{16}))")
# RFC 8785 sorts keys by UTF-16 code units, Python by code points: they differ only beyond the Basic
# Multilingual Plane. Lone surrogates cannot be encoded at all.
_SUSPECT_CHAR = re.compile(r"[\ud800-\udfff\U00010000-\U0010ffff]")


def canonical_json(value: Any) -> bytes:
    """RFC 8785 bytes of ``value`` (no floats; strings must be valid Unicode).

    For records without floats, large integers or astral characters, RFC 8785 output is exactly
    ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``: same escapes, same key order.
    That C-speed path serves nearly every record; anything else goes through the checked RFC 8785 encoder.
    """
    if not isinstance(value, float):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
        if _SUSPECT_NUMBER.search(text) is None and (text.isascii() or _SUSPECT_CHAR.search(text) is None):
            return text.encode("utf-8")
    _check(value)
    out: bytes = rfc8785.dumps(value)
    return out


def is_canonical(value: Any, data: bytes | memoryview) -> bool:
    """True when ``data`` is exactly :func:`canonical_json` of ``value`` (what ``data`` parsed to): one
    manifest, one byte string, one SM3. False too for a value that has no canonical form (a float)."""
    try:
        return canonical_json(value) == data
    except (ValueError, TypeError):
        return False


_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{},:')
MAX_SAFE_INTEGER = 2**53 - 1
"""Largest integer canonical records hold: RFC 8785 (I-JSON) numbers are IEEE doubles."""


def _structure(data: bytes) -> bytes:
    """The brackets of JSON ``data`` that are outside strings, in order, at C speed.

    Escapes go first (escaped backslashes, then escaped quotes: left to right, as JSON pairs them), then
    every byte but quotes, brackets, commas and colons (UTF-8 continuation bytes are never ASCII). In valid
    JSON a closing quote is never followed by an opening one (a comma or colon is between), so what is now
    two adjacent quotes was one string: those go, then what lies between each remaining pair of quotes, then
    the commas and colons. A 110 MB manifest took 2.3 s with a regular expression over its strings.
    """
    kept = data.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    return b"".join(kept.split(b'"')[::2]).translate(None, b",:")


def parse_json(data: bytes, *, max_depth: int = 64, canonical: bool = False) -> Any:
    """Parse untrusted JSON bytes: UTF-8 only, duplicate keys rejected, nesting depth bounded.

    With ``canonical`` (manifest.json, whose records are hashed into the trees) the values must be what
    canonical JSON can hold: no floating-point numbers, no integer beyond :data:`MAX_SAFE_INTEGER`, no lone
    surrogate (``"\\ud800"``) in a string. Each is refused with a ValueError naming it, before any hashing.
    Other documents (a browser's HAR, a capture's environment record) may hold fractions.
    """
    text = data.decode("utf-8")
    # Bound nesting before json.loads can recurse deeply on hostile input: drop the strings (their brackets
    # do not nest), then walk only the brackets.
    depth = 0
    for bracket in _structure(data):
        depth += 1 if bracket in b"[{" else -1
        if depth > max_depth:
            raise ValueError(f"JSON nested deeper than {max_depth} levels")

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            seen: set[str] = set()
            for k, _ in pairs:
                if k in seen:
                    raise ValueError(f"duplicate key {k!r}")
                seen.add(k)
        return obj

    hooks: dict[str, Any] = {"object_pairs_hook": no_duplicates, "parse_constant": _reject_constant}
    if not canonical:
        return json.loads(text, **hooks)
    # The hooks run for numbers only, and only floats and integers of 16 digits or more cost anything (a
    # 200,000-item manifest parses about 2% slower than without them).
    value = json.loads(text, parse_float=_reject_float, parse_int=_safe_int, **hooks)
    # Raw UTF-8 cannot encode a surrogate (the decode above refuses it); only a \uDxxx escape can, so the
    # walk that finds a lone one runs only for documents that carry such an escape (two scans at C speed).
    if b"\\ud" in data or b"\\uD" in data:
        _no_lone_surrogate(value, "$")
    return value


def _safe_int(text: str) -> int:
    # Length first: int() of a hostile 100,000-digit number is slow (and refused past 4,300 digits anyway).
    if len(text) > 17 or (len(text) > 15 and not -MAX_SAFE_INTEGER <= int(text) <= MAX_SAFE_INTEGER):
        raise ValueError(f"integer {text[:40]} is larger than canonical JSON holds (2^53 - 1)")
    return int(text)


def _reject_float(text: str) -> Any:
    raise ValueError(f"floating-point number {text[:40]} is not allowed (canonical records hold integers only)")


def _no_lone_surrogate(value: Any, where: str) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"{where}: lone surrogate \\u{ord(value[exc.start]):04x} in a string") from None
    elif isinstance(value, dict):
        for k, v in value.items():
            _no_lone_surrogate(k, f"{where} (a key)")
            _no_lone_surrogate(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _no_lone_surrogate(v, f"{where}[{i}]")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")
