"""Strict DER: a token must be encoded the one way DER allows, so that no byte of it can change unnoticed.

A BER encoder may write the same value in several ways (long lengths, indefinite lengths, a BOOLEAN true
as any non-zero byte, padded integers). In the signed parts of a token such freedom is harmless, since
the signature covers the exact bytes; in the unsigned envelope around them it would let a byte change
while the decoded value stays the same. :func:`check_der` walks every TLV and refuses each such variant.
"""

from __future__ import annotations

import re

from ..errors import MalformedTokenError

# Universal tags whose DER encoding is primitive, with the checks that apply to their contents.
_BOOLEAN, _INTEGER, _BIT_STRING, _OCTET_STRING, _NULL, _OID, _ENUMERATED = 1, 2, 3, 4, 5, 6, 10
_UTF8, _SEQUENCE, _SET, _PRINTABLE, _IA5, _UTC_TIME, _GENERALIZED_TIME = 12, 16, 17, 19, 22, 23, 24
_STRING_TAGS = frozenset({_UTF8, 18, _PRINTABLE, 20, 21, _IA5, 25, 26, 27, 28, 30})
_PRINTABLE_CHARS = re.compile(rb"[A-Za-z0-9 '()+,\-./:=?]*")
_UTC = re.compile(rb"\d{12}Z")
_GENERALIZED = re.compile(rb"\d{14}(\.\d*[1-9])?Z")
MAX_DEPTH = 64
"""Deepest nesting accepted; real tokens nest about 20 levels."""


def _fail(offset: int, why: str) -> MalformedTokenError:
    """The error for a non-DER encoding at ``offset``."""
    return MalformedTokenError(f"not DER at byte {offset}: {why}")


def _header(data: bytes, offset: int, end: int) -> tuple[int, int, bool, int, int]:
    """(class, tag number, constructed, contents start, contents end) of the TLV at ``offset``."""
    if offset >= end:
        raise _fail(offset, "truncated")
    first = data[offset]
    cls, constructed, number = first >> 6, bool(first & 0x20), first & 0x1F
    pos = offset + 1
    if number == 0x1F:
        # High tag number form: base-128, minimal, and only for numbers that need it.
        number = 0
        if pos < end and data[pos] == 0x80:
            raise _fail(offset, "tag number has a leading zero")
        while True:
            if pos >= end:
                raise _fail(offset, "truncated tag")
            byte = data[pos]
            number = (number << 7) | (byte & 0x7F)
            pos += 1
            if not byte & 0x80:
                break
        if number < 0x1F:
            raise _fail(offset, "high tag form for a low tag number")
    if pos >= end:
        raise _fail(offset, "truncated length")
    length = data[pos]
    pos += 1
    if length == 0x80:
        raise _fail(offset, "indefinite length")
    if length & 0x80:
        count = length & 0x7F
        if count > 4 or pos + count > end:
            raise _fail(offset, "length too long")
        raw = data[pos : pos + count]
        if raw[0] == 0:
            raise _fail(offset, "length has a leading zero byte")
        length = int.from_bytes(raw, "big")
        if length < 0x80:
            raise _fail(offset, "long length form for a short length")
        pos += count
    if pos + length > end:
        raise _fail(offset, "length runs past its enclosing value")
    return cls, number, constructed, pos, pos + length


def _check_primitive(number: int, body: bytes, offset: int) -> None:
    """Contents rules of DER (X.690 §10-11) for the universal primitive types met in tokens."""
    if number == _BOOLEAN and (len(body) != 1 or body[0] not in (0x00, 0xFF)):
        raise _fail(offset, "BOOLEAN is not one byte 00 or FF")
    if number in (_INTEGER, _ENUMERATED):
        if not body:
            raise _fail(offset, "empty INTEGER")
        if len(body) > 1 and ((body[0] == 0 and body[1] < 0x80) or (body[0] == 0xFF and body[1] >= 0x80)):
            raise _fail(offset, "INTEGER is not minimally encoded")
    if number == _NULL and body:
        raise _fail(offset, "NULL with contents")
    if number == _OID:
        if not body or body[-1] & 0x80:
            raise _fail(offset, "OBJECT IDENTIFIER is truncated")
        for i, byte in enumerate(body):
            if byte == 0x80 and (i == 0 or not body[i - 1] & 0x80):
                raise _fail(offset, "OBJECT IDENTIFIER arc has a leading zero")
    if number == _BIT_STRING:
        if not body or body[0] > 7 or (len(body) == 1 and body[0]):
            raise _fail(offset, "BIT STRING has a bad unused-bits count")
        if body[0] and body[-1] & ((1 << body[0]) - 1):
            raise _fail(offset, "BIT STRING unused bits are not zero")
    if number == _PRINTABLE and not _PRINTABLE_CHARS.fullmatch(body):
        raise _fail(offset, "PrintableString holds a character it may not")
    if number == _IA5 and any(b > 0x7F for b in body):
        raise _fail(offset, "IA5String holds a non-ASCII byte")
    if number == _UTF8:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise _fail(offset, "UTF8String is not UTF-8") from None
    if number == _UTC_TIME and not _UTC.fullmatch(body):
        raise _fail(offset, "UTCTime is not YYMMDDHHMMSSZ")
    if number == _GENERALIZED_TIME and not _GENERALIZED.fullmatch(body):
        raise _fail(offset, "GeneralizedTime is not YYYYMMDDHHMMSS[.f]Z without trailing zeros")


def _walk(data: bytes, start: int, end: int, depth: int) -> None:
    """Check every TLV between ``start`` and ``end``."""
    if depth > MAX_DEPTH:
        raise _fail(start, "nested too deeply")
    offset = start
    while offset < end:
        cls, number, constructed, body_start, body_end = _header(data, offset, end)
        if cls == 0:
            if number in (_SEQUENCE, _SET) and not constructed:
                raise _fail(offset, "SEQUENCE or SET encoded as primitive")
            if number not in (_SEQUENCE, _SET) and constructed:
                raise _fail(offset, "constructed encoding of a primitive type")
            if number == 0:
                raise _fail(offset, "end-of-contents marker")
        if constructed:
            _walk(data, body_start, body_end, depth + 1)
        elif cls == 0:
            _check_primitive(number, data[body_start:body_end], offset)
        offset = body_end


def check_der(data: bytes) -> None:
    """Raise MalformedTokenError unless ``data`` is exactly one value encoded in DER (SET order aside).

    The order of SET OF elements is not checked here: TSAs in use sign attribute sets in the order they
    wrote them, and reordering elements needs more than one byte changed. Callers check the sets whose
    order matters to them.
    """
    if not data:
        raise _fail(0, "empty")
    _, _, _, _, body_end = _header(data, 0, len(data))
    if body_end != len(data):
        raise _fail(body_end, "bytes after the end of the value")
    _walk(data, 0, len(data), 0)
