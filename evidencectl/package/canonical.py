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


# Output of json.dumps that might differ from RFC 8785, or carry what canonical records refuse: a float
# (a number with a fraction or exponent), an integer beyond 2^53, or a character outside the Basic
# Multilingual Plane (RFC 8785 sorts keys by UTF-16 code units, Python by code points) or a lone surrogate.
# The pattern may also match inside strings; such records simply take the exact, slower path.
_SUSPECT = re.compile(r"[\ud800-\udfff\U00010000-\U0010ffff]|(?:^|[:\[,])-?\d+[.eE]|\d{16,}")


def canonical_json(value: Any) -> bytes:
    """RFC 8785 bytes of ``value`` (no floats; strings must be valid Unicode).

    For records without floats, large integers or astral characters, RFC 8785 output is exactly
    ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``: same escapes, same key order.
    That C-speed path serves nearly every record; anything else goes through the checked RFC 8785 encoder.
    """
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    if _SUSPECT.search(text) is None:
        return text.encode("utf-8")
    _check(value)
    out: bytes = rfc8785.dumps(value)
    return out


def parse_json(data: bytes, *, max_depth: int = 64) -> Any:
    """Parse untrusted JSON bytes: UTF-8 only, duplicate keys rejected, nesting depth bounded."""
    text = data.decode("utf-8")
    depth = 0
    in_string = False
    escaped = False
    # A cheap pre-scan bounds nesting before json.loads can recurse deeply on hostile input.
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > max_depth:
                raise ValueError(f"JSON nested deeper than {max_depth} levels")
        elif ch in "]}":
            depth -= 1

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for k, v in pairs:
            if k in obj:
                raise ValueError(f"duplicate key {k!r}")
            obj[k] = v
        return obj

    return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=_reject_constant)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")
