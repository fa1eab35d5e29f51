"""Signing keys (SM2 through tongsuopy, ECDSA P-256 through cryptography) and signature verification.

cryptography cannot load, sign or verify on the SM2 curve, and tongsuopy knows only SM2, so each key is
held by the library that implements its curve; callers see one :class:`SigningKey`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import warnings
from pathlib import Path
from typing import Any, Literal

from asn1crypto import algos, pem
from asn1crypto import keys as asn1_keys
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from tongsuopy.crypto import hashes as t_hashes
from tongsuopy.crypto import serialization as t_serialization
from tongsuopy.crypto.asymciphers import ec as t_ec
from tongsuopy.crypto.exceptions import InternalError as TongsuoInternalError
from tongsuopy.crypto.exceptions import InvalidSignature as TongsuoInvalidSignature
from tongsuopy.crypto.exceptions import UnsupportedAlgorithm as TongsuoUnsupportedAlgorithm

from ..errors import BadInputError, KeyFileError
from ..i18n import _
from .files import write_new_file
from .oids import SM2_CURVE_OID, register_sm_oids
from .pkcs8 import encrypt_pkcs8

register_sm_oids()

KeyAlgorithm = Literal["sm2", "ecdsa-p256"]
KEY_ALGORITHMS: tuple[str, ...] = ("sm2", "ecdsa-p256")
"""Algorithms a signing key may use."""

_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha1": hashes.SHA1(),
    "sha224": hashes.SHA224(),
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}
_CURVE_DEFAULT_HASH = {"secp256r1": "sha256", "secp384r1": "sha384", "secp521r1": "sha512"}


class KeyFileWarning(UserWarning):
    """A key file loads but is kept unsafely (unencrypted, or readable by other users)."""


class SigningKey:
    """A private key able to make SM2-with-SM3 or ECDSA-with-SHA-256 signatures."""

    def __init__(self, private_key: Any, algorithm: str) -> None:
        """Wrap a tongsuopy SM2 key (``algorithm="sm2"``) or a cryptography P-256 key (``"ecdsa-p256"``)."""
        if algorithm not in KEY_ALGORITHMS:
            raise BadInputError(_("unsupported key algorithm {algorithm!r}").format(algorithm=algorithm))
        self._key = private_key
        self.algorithm: str = algorithm
        """``sm2`` or ``ecdsa-p256``."""

    def sign(self, data: bytes) -> bytes:
        """DER ``SEQUENCE {r, s}`` over ``data``: SM2-with-SM3 (signer ID 1234567812345678) or ECDSA-SHA256.

        Both libraries draw a fresh random nonce per signature, so signing twice gives different bytes.
        """
        if self.algorithm == "sm2":
            return bytes(self._key.sign(data, t_ec.ECDSA(t_hashes.SM3())))
        return bytes(self._key.sign(data, ec.ECDSA(hashes.SHA256())))

    def public_key_der(self) -> bytes:
        """The public key as a DER SubjectPublicKeyInfo."""
        if self.algorithm == "sm2":
            return bytes(
                self._key.public_key().public_bytes(
                    t_serialization.Encoding.DER, t_serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )
        return bytes(
            self._key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def public_key_pem(self) -> bytes:
        """The public key as a PEM ``PUBLIC KEY`` block."""
        return public_key_pem(self.public_key_der())

    @property
    def key_id(self) -> str:
        """Lower-case hex SHA-256 of the SubjectPublicKeyInfo DER."""
        return spki_fingerprint(self.public_key_der())

    def private_key_pem(self, passphrase: bytes | None) -> bytes:
        """PKCS#8 PEM; encrypted (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC) when a passphrase is given."""
        lib: Any = t_serialization if self.algorithm == "sm2" else serialization
        der = bytes(self._key.private_bytes(lib.Encoding.DER, lib.PrivateFormat.PKCS8, lib.NoEncryption()))
        if not passphrase:
            return bytes(pem.armor("PRIVATE KEY", der))
        return bytes(pem.armor("ENCRYPTED PRIVATE KEY", encrypt_pkcs8(der, passphrase)))

    def __repr__(self) -> str:
        # Never show key material, even by accident in a log or a traceback.
        return f"SigningKey(algorithm={self.algorithm!r}, key_id={self.key_id[:16]}…)"


def public_key_pem(spki_der: bytes) -> bytes:
    """PEM ``PUBLIC KEY`` armour around a SubjectPublicKeyInfo DER."""
    return bytes(pem.armor("PUBLIC KEY", spki_der))


def spki_fingerprint(spki_der: bytes) -> str:
    """Lower-case hex SHA-256 of a SubjectPublicKeyInfo DER."""
    return hashlib.sha256(spki_der).hexdigest()


def generate_key(algorithm: KeyAlgorithm = "sm2") -> SigningKey:
    """A new random key: SM2 (tongsuopy) or ECDSA on P-256 (cryptography)."""
    if algorithm == "sm2":
        return SigningKey(t_ec.generate_private_key(t_ec.SM2()), "sm2")
    if algorithm == "ecdsa-p256":
        return SigningKey(ec.generate_private_key(ec.SECP256R1()), "ecdsa-p256")
    raise BadInputError(
        _("unsupported key algorithm {algorithm!r} (use sm2 or ecdsa-p256)").format(algorithm=algorithm)
    )


def _load_bytes(data: bytes, passphrase: bytes | None, path: Path) -> SigningKey:
    """Parse PEM or DER private key bytes; see :func:`load_private_key`."""
    is_pem = b"-----BEGIN" in data
    if is_pem and b"PRIVATE KEY-----" not in data:
        raise KeyFileError(_("not a private key (the PEM holds no PRIVATE KEY block)"), path=path)
    loader = serialization.load_pem_private_key if is_pem else serialization.load_der_private_key
    try:
        key: Any = loader(data, passphrase)
    except UnsupportedAlgorithm:
        # cryptography rejects the SM2 curve only after decrypting, so the passphrase was right.
        return _load_sm2(data, passphrase, path, is_pem)
    except TypeError as exc:
        if passphrase is None:
            raise KeyFileError(_("the key is encrypted and no passphrase was given"), path=path) from exc
        # An unencrypted key is accepted (with a warning from the caller) even when a passphrase is set.
        return _load_bytes(data, None, path)
    except ValueError as exc:
        if b"ENCRYPTED" in data or not is_pem:
            raise KeyFileError(_("wrong passphrase, or not a PKCS#8 private key"), path=path) from exc
        raise KeyFileError(_("not a readable private key"), path=path) from exc
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name != "secp256r1":
            raise KeyFileError(
                _("unsupported curve {name} (use an SM2 or P-256 key)").format(name=key.curve.name),
                path=path,
            )
        return SigningKey(key, "ecdsa-p256")
    kind = "RSA" if isinstance(key, rsa.RSAPrivateKey) else type(key).__name__
    raise KeyFileError(_("unsupported key type {kind} (use an SM2 or P-256 key)").format(kind=kind), path=path)


def _load_sm2(data: bytes, passphrase: bytes | None, path: Path, is_pem: bool) -> SigningKey:
    """Load a key whose curve cryptography does not know, through tongsuopy (SM2 only)."""
    loader = t_serialization.load_pem_private_key if is_pem else t_serialization.load_der_private_key
    try:
        key = loader(data, passphrase)
    except TypeError as exc:
        if passphrase is None:
            raise KeyFileError(_("the key is encrypted and no passphrase was given"), path=path) from exc
        return _load_sm2(data, None, path, is_pem)
    except (TongsuoUnsupportedAlgorithm, ValueError) as exc:
        raise KeyFileError(_("unsupported curve (use an SM2 or P-256 key)"), path=path) from exc
    if not isinstance(key, t_ec.EllipticCurvePrivateKey) or key.curve.name != "SM2":
        raise KeyFileError(_("unsupported key (use an SM2 or P-256 key)"), path=path)
    return SigningKey(key, "sm2")


def key_file_warnings(path: Path) -> list[str]:
    """Reasons a key file is kept unsafely: not encrypted, or readable by group or others (POSIX)."""
    found: list[str] = []
    try:
        mode = path.stat().st_mode
        head = path.read_bytes()[:200]
    except OSError:
        return found
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        found.append(f"{path}: key file mode {stat.S_IMODE(mode):04o} lets other users read it (use 0600)")
    if b"-----BEGIN" in head and b"ENCRYPTED PRIVATE KEY" not in head:
        found.append(f"{path}: the private key is not encrypted with a passphrase")
    return found


def load_private_key(path: Path, passphrase: bytes | None = None) -> SigningKey:
    """Load an SM2 or P-256 private key from PKCS#8 (or SEC1) PEM or DER, encrypted or not.

    Keys made by ``openssl genpkey -algorithm SM2`` and ``-algorithm EC -pkeyopt ec_paramgen_curve:P-256``
    load. An unencrypted or group/other-readable file loads with a :class:`KeyFileWarning`. Raises
    :class:`KeyFileError` (one line) on a wrong passphrase, a file that is not a key, or another curve.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(_("cannot read key file: {value}").format(value=exc.strerror or exc), path=path) from exc
    key = _load_bytes(data, passphrase, path)
    for message in key_file_warnings(path):
        warnings.warn(message, KeyFileWarning, stacklevel=2)
    return key


def save_private_key(key: SigningKey, path: Path, passphrase: bytes | None) -> None:
    """Write ``key`` as PKCS#8 PEM (encrypted when a passphrase is given), mode 0600, atomically.

    Raises :class:`~evidencectl.errors.OutputExistsError` rather than replace an existing file.
    """
    write_new_file(Path(path), key.private_key_pem(passphrase), mode=0o600)


def load_or_create_service_key(path: Path, algorithm: KeyAlgorithm) -> SigningKey:
    """The key of an embedded service (TSA, ledger): loaded if present, else created unencrypted, mode 0600.

    Two processes racing to create it both end up with the one key that reached the disk first, because
    the file appears only through an atomic hard link that fails when the name exists.
    """
    from ..errors import OutputExistsError

    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # If another process wins the race, its key is the one on disk and the one loaded below.
        with contextlib.suppress(OutputExistsError):
            save_private_key(generate_key(algorithm), path, None)
    key = _load_bytes(_read(path), None, path)
    if key.algorithm != algorithm:
        raise KeyFileError(
            _("service key is {algorithm}, expected {algorithm2}").format(
                algorithm=key.algorithm, algorithm2=algorithm
            ),
            path=path,
        )
    return key


def _read(path: Path) -> bytes:
    """Read a key file, mapping OS errors to :class:`KeyFileError`."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeyFileError(_("cannot read key file: {value}").format(value=exc.strerror or exc), path=path) from exc


def spki_algorithm(spki_der: bytes) -> str:
    """Describe a SubjectPublicKeyInfo: ``sm2``, ``ecdsa-p256``, ``ec-<curve>`` or ``rsa-<bits>``.

    Raises :class:`BadInputError` when the bytes are not a public key.
    """
    try:
        info = asn1_keys.PublicKeyInfo.load(spki_der)
        algo = info["algorithm"]["algorithm"].dotted
        if algo == SM2_CURVE_OID:
            return "sm2"
        name = info.algorithm
        if name == "ec":
            curve = info["algorithm"]["parameters"].chosen.native
            return {"sm2": "sm2", "secp256r1": "ecdsa-p256"}.get(curve, f"ec-{curve}")
        if name == "rsa":
            return f"rsa-{info.bit_size}"
        return str(name)
    except (ValueError, TypeError, KeyError) as exc:
        raise BadInputError(_("not a usable public key: {exc}").format(exc=exc)) from exc


def _sm2_public_key(spki_der: bytes) -> Any:
    """Load an SM2 SubjectPublicKeyInfo with tongsuopy, accepting the SM2-OID-as-algorithm variant."""
    info = asn1_keys.PublicKeyInfo.load(spki_der)
    if info["algorithm"]["algorithm"].dotted == SM2_CURVE_OID:
        # Some producers name the key algorithm by the curve OID; re-encode in the RFC 5480 form.
        info = asn1_keys.PublicKeyInfo(
            {
                "algorithm": {"algorithm": "ec", "parameters": ("named", "sm2")},
                "public_key": info["public_key"].native,
            }
        )
        spki_der = info.dump()
    return t_serialization.load_der_public_key(spki_der)


def verify_signature(spki_der: bytes, signature: bytes, data: bytes, hash_name: str | None = None) -> bool:
    """Check ``signature`` over ``data`` with the public key ``spki_der``.

    SM2 keys: SM2-with-SM3 with signer ID 1234567812345678 (``hash_name`` must be absent or ``sm3``).
    EC keys: ECDSA with ``hash_name`` (default by curve: sha256 for P-256). RSA: PKCS#1 v1.5.
    Returns False for a bad signature; raises :class:`BadInputError` for an unusable key or hash.
    """
    kind = spki_algorithm(spki_der)
    try:
        if kind == "sm2":
            if hash_name not in (None, "sm3"):
                raise BadInputError(_("SM2 signatures use SM3, not {hash_name}").format(hash_name=hash_name))
            if not _is_der_signature(signature):
                return False  # tongsuopy reports malformed signatures as internal errors
            try:
                _sm2_public_key(spki_der).verify(signature, data, t_ec.ECDSA(t_hashes.SM3()))
            except (TongsuoInvalidSignature, TongsuoInternalError):
                return False
            return True
        public: Any = serialization.load_der_public_key(spki_der)
        if isinstance(public, ec.EllipticCurvePublicKey):
            name = hash_name or _CURVE_DEFAULT_HASH.get(public.curve.name, "sha256")
            public.verify(signature, data, ec.ECDSA(_hash(name)))
        elif isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, data, padding.PKCS1v15(), _hash(hash_name or "sha256"))
        else:
            raise BadInputError(_("unsupported public key type {kind}").format(kind=kind))
    except InvalidSignature:
        return False
    except (UnsupportedAlgorithm, TongsuoUnsupportedAlgorithm) as exc:
        raise BadInputError(_("unusable public key ({kind}): {exc}").format(kind=kind, exc=exc)) from exc
    except ValueError as exc:
        # A signature that is not even DER is a bad signature, not an unusable key.
        if "signature" in str(exc).lower():
            return False
        raise BadInputError(_("unusable public key ({kind}): {exc}").format(kind=kind, exc=exc)) from exc
    return True


def _is_der_signature(signature: bytes) -> bool:
    """True when ``signature`` is a strict DER ``SEQUENCE {r, s}`` of two positive integers."""
    try:
        sig = algos.DSASignature.load(signature, strict=True)
        return int(sig["r"].native) > 0 and int(sig["s"].native) > 0
    except (ValueError, TypeError):
        return False


def _hash(name: str) -> hashes.HashAlgorithm:
    """The cryptography hash object for a lower-case name such as ``sha256``."""
    try:
        return _HASHES[name.lower().replace("-", "")]
    except KeyError:
        raise BadInputError(_("unsupported hash {name!r}").format(name=name)) from None
