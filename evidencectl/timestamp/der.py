"""Token encodings: DER inside, and the one BER freedom real TSAs use in the envelope around it.

A BER encoder may write the same value in several ways (long lengths, indefinite lengths, a BOOLEAN true
as any non-zero byte, padded integers). :func:`check_der` walks every TLV and refuses each such variant.
:func:`check_token_encoding` is what a token must meet: DER, except that a constructed value may use the
indefinite length form (X.690 §8.1.3.6), which qualified European TSAs (Java and Bouncy Castle stacks)
write for the ContentInfo around the SignedData. That freedom changes no decoded value: the signed bytes
are hashed as they stand (the TSTInfo octets) or in their DER form (the signed attributes, RFC 5652 §5.4),
so a token re-encoded between the two length forms is the same token, and every other byte outside the
signature still has exactly one allowed encoding.
"""

from __future__ import annotations

import re

from ..errors import MalformedTokenError
from ..i18n import _

# Universal tags whose DER encoding is primitive, with the checks that apply to their contents.
_BOOLEAN, _INTEGER, _BIT_STRING, _OCTET_STRING, _NULL, _OID, _ENUMERATED = 1, 2, 3, 4, 5, 6, 10
_UTF8, _SEQUENCE, _SET, _PRINTABLE, _IA5, _UTC_TIME, _GENERALIZED_TIME = 12, 16, 17, 19, 22, 23, 24
_PRINTABLE_CHARS = re.compile(rb"[A-Za-z0-9 '()+,\-./:=?]*")
_UTC = re.compile(rb"\d{12}Z")
_GENERALIZED = re.compile(rb"\d{14}(\.\d*[1-9])?Z")
_EOC = b"\x00\x00"
MAX_DEPTH = 64
"""Deepest nesting accepted; real tokens nest about 20 levels."""


def _fail(offset: int, why: str, *, rules: str = "DER") -> MalformedTokenError:
    """The error for an encoding fault at ``offset``."""
    return MalformedTokenError(_("not {rules} at byte {offset}: {why}").format(rules=rules, offset=offset, why=why))


class _Tlv:
    """One parsed TLV header: where its contents lie and where the next value starts."""

    __slots__ = ("cls", "number", "constructed", "start", "end", "next", "indefinite")

    def __init__(
        self, cls: int, number: int, constructed: bool, start: int, end: int, nxt: int, indefinite: bool
    ) -> None:
        self.cls, self.number, self.constructed, self.indefinite = cls, number, constructed, indefinite
        self.start, self.end, self.next = start, end, nxt


def _read(data: bytes, offset: int, end: int, indefinite_ok: bool, depth: int) -> _Tlv:
    """The TLV at ``offset`` (its contents end before the end-of-contents octets of an indefinite form)."""
    if depth > MAX_DEPTH:
        raise _fail(offset, "nested too deeply")
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
        if not indefinite_ok:
            raise _fail(offset, "indefinite length")
        if not constructed:
            raise _fail(offset, "indefinite length on a primitive value", rules="BER")
        # The contents are whole TLVs up to the end-of-contents octets 00 00.
        at = pos
        while True:
            if at + 2 > end:
                raise _fail(offset, "indefinite length without end-of-contents", rules="BER")
            if data[at : at + 2] == _EOC:
                return _Tlv(cls, number, constructed, pos, at, at + 2, True)
            at = _read(data, at, end, indefinite_ok, depth + 1).next
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
    return _Tlv(cls, number, constructed, pos, pos + length, pos + length, False)


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


def _walk(data: bytes, start: int, end: int, depth: int, indefinite_ok: bool) -> None:
    """Check every TLV between ``start`` and ``end``."""
    if depth > MAX_DEPTH:
        raise _fail(start, "nested too deeply")
    offset = start
    while offset < end:
        tlv = _read(data, offset, end, indefinite_ok, depth)
        if tlv.cls == 0:
            if tlv.number in (_SEQUENCE, _SET) and not tlv.constructed:
                raise _fail(offset, "SEQUENCE or SET encoded as primitive")
            if tlv.number not in (_SEQUENCE, _SET) and tlv.constructed:
                raise _fail(offset, "constructed encoding of a primitive type")
            if tlv.number == 0:
                raise _fail(offset, "end-of-contents marker")
        if tlv.constructed:
            _walk(data, tlv.start, tlv.end, depth + 1, indefinite_ok)
        elif tlv.cls == 0:
            _check_primitive(tlv.number, data[tlv.start : tlv.end], offset)
        offset = tlv.next


def _check(data: bytes, indefinite_ok: bool) -> None:
    """One value filling ``data``, every TLV of it checked."""
    if not data:
        raise _fail(0, "empty")
    top = _read(data, 0, len(data), indefinite_ok, 0)
    if top.next != len(data):
        raise _fail(top.next, "bytes after the end of the value")
    _walk(data, 0, len(data), 0, indefinite_ok)


def check_der(data: bytes) -> None:
    """Raise MalformedTokenError unless ``data`` is exactly one value encoded in DER (SET order aside).

    The order of SET OF elements is not checked here: TSAs in use sign attribute sets in the order they
    wrote them, and reordering elements needs more than one byte changed. Callers check the sets whose
    order matters to them.
    """
    _check(data, indefinite_ok=False)


def check_token_encoding(data: bytes) -> None:
    """Raise MalformedTokenError unless ``data`` is one value in DER, constructed values aside, which
    may use the indefinite length form; every other rule of :func:`check_der` holds."""
    _check(data, indefinite_ok=True)


def uses_indefinite_lengths(data: bytes) -> bool:
    """True when a value accepted by :func:`check_token_encoding` uses the indefinite length form."""
    return to_definite(data) != data


def _encode_length(n: int) -> bytes:
    """A DER length."""
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _definite(data: bytes, start: int, end: int, depth: int) -> bytes:
    """The TLVs between ``start`` and ``end`` with every length in its definite DER form."""
    out = bytearray()
    offset = start
    while offset < end:
        tlv = _read(data, offset, end, True, depth)
        tag = data[offset : _tag_end(data, offset)]
        body = _definite(data, tlv.start, tlv.end, depth + 1) if tlv.constructed else data[tlv.start : tlv.end]
        out += tag + _encode_length(len(body)) + body
        offset = tlv.next
    return bytes(out)


def _tag_end(data: bytes, offset: int) -> int:
    """Where the identifier octets of the TLV at ``offset`` end."""
    pos = offset + 1
    if data[offset] & 0x1F == 0x1F:
        while data[pos] & 0x80:
            pos += 1
        pos += 1
    return pos


def to_definite(data: bytes) -> bytes:
    """``data`` (BER accepted by :func:`check_token_encoding`) with every indefinite length made definite;
    tags and primitive contents are kept byte for byte, and DER input comes back unchanged."""
    return _definite(data, 0, len(data), 0)
