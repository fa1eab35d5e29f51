"""SM2 verification arithmetic in pure Python (public operations only), for what tongsuopy cannot do.

tongsuopy verifies SM2 signatures over a message with the default signer ID only. Two cases need more:
a digest ``e`` computed elsewhere (the GB/T 32918 / Tongsuo test vectors sign ``e`` directly), and
certificates signed with another signer ID (OpenSSL 3.0 ``req``/``x509`` sign SM2 certificates with an
empty ID by default). Verification handles no secret, so constant time does not matter here;
signing always goes through tongsuopy.
"""

from __future__ import annotations

import hashlib

from asn1crypto import algos
from asn1crypto import keys as asn1_keys

from ..errors import BadInputError
from ..i18n import _
from .oids import SM2_DEFAULT_ID

# GB/T 32918.5-2017 recommended curve parameters.
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
G = (
    0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
    0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0,
)

Point = tuple[int, int] | None


def _add(p1: Point, p2: Point) -> Point:
    """Affine point addition on the SM2 curve (None is the point at infinity)."""
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2:
        if (y1 + y2) % P == 0:
            return None
        lam = (3 * x1 * x1 + A) * pow(2 * y1, -1, P) % P
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (lam * lam - x1 - x2) % P
    return x3, (lam * (x1 - x3) - y1) % P


def multiply(k: int, point: Point) -> Point:
    """``k * point`` by double-and-add."""
    result: Point = None
    addend = point
    while k:
        if k & 1:
            result = _add(result, addend)
        addend = _add(addend, addend)
        k >>= 1
    return result


def on_curve(point: tuple[int, int]) -> bool:
    """True when ``point`` satisfies y² = x³ + ax + b over the SM2 prime field."""
    x, y = point
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def public_point(spki_der: bytes) -> tuple[int, int]:
    """The public point of an SM2 SubjectPublicKeyInfo; :class:`BadInputError` if off the curve."""
    try:
        info = asn1_keys.PublicKeyInfo.load(spki_der)
        raw = bytes(info["public_key"].native)
    except (ValueError, TypeError) as exc:
        raise BadInputError(_("not a public key: {exc}").format(exc=exc)) from exc
    if len(raw) != 65 or raw[0] != 4:
        raise BadInputError(_("SM2 public key is not an uncompressed 256-bit point"))
    point = (int.from_bytes(raw[1:33], "big"), int.from_bytes(raw[33:], "big"))
    if not on_curve(point):
        raise BadInputError(_("public key point is not on the SM2 curve"))
    return point


def z_value(point: tuple[int, int], signer_id: bytes = SM2_DEFAULT_ID) -> bytes:
    """Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA), the key-and-identity prefix of SM2 signing."""
    if len(signer_id) * 8 > 0xFFFF:
        raise BadInputError(_("SM2 signer ID too long"))
    parts = [(len(signer_id) * 8).to_bytes(2, "big"), signer_id]
    parts += [v.to_bytes(32, "big") for v in (A, B, G[0], G[1], point[0], point[1])]
    return hashlib.new("sm3", b"".join(parts)).digest()


def message_digest(spki_der: bytes, data: bytes, signer_id: bytes = SM2_DEFAULT_ID) -> bytes:
    """e = SM3(Z || M): what an SM2 signature over ``data`` actually signs."""
    return hashlib.new("sm3", z_value(public_point(spki_der), signer_id) + data).digest()


def verify_digest(spki_der: bytes, signature: bytes, e: bytes) -> bool:
    """Check a DER ``SEQUENCE {r, s}`` SM2 signature over the 32-byte digest ``e`` (GB/T 32918.2 §7)."""
    point = public_point(spki_der)
    try:
        sig = algos.DSASignature.load(signature, strict=True)
        r, s = int(sig["r"].native), int(sig["s"].native)
    except (ValueError, TypeError):
        return False
    if not (1 <= r < N and 1 <= s < N):
        return False
    t = (r + s) % N
    if t == 0:
        return False
    total = _add(multiply(s, G), multiply(t, point))
    if total is None:
        return False
    return (int.from_bytes(e, "big") + total[0]) % N == r


def verify_with_id(spki_der: bytes, signature: bytes, data: bytes, signer_id: bytes) -> bool:
    """Check an SM2-with-SM3 signature over ``data`` made with an arbitrary signer ID."""
    return verify_digest(spki_der, signature, message_digest(spki_der, data, signer_id))
