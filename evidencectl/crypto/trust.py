"""The user's trust store: certificates and bare public keys trusted for a role.

Layout: ``<home>/trust/<role>/*.pem``, each file holding certificates and/or ``PUBLIC KEY`` blocks.
Verification trusts only what is here (plus files named with ``verify --trust``), never a certificate
merely because an evidence package carries it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from asn1crypto import keys as asn1_keys
from asn1crypto import pem

from ..errors import BadInputError, UsageError
from .files import write_new_file
from .keys import public_key_pem, spki_algorithm, spki_fingerprint
from .x509 import certificate_pem, name_text, parse_certificate

TrustRole = Literal["tsa", "ledger", "depositor", "ca"]
TRUST_ROLES: tuple[str, ...] = ("tsa", "ledger", "depositor", "ca")
"""Roles an anchor can be trusted for: TSA roots, ledger node keys, depositor keys, and depositor CAs."""
OWN_PREFIXES = ("own-", "ledger-node-")
"""File-name prefixes of anchors the embedded services installed (operator ``own``)."""
EXTRA_ROLE = "extra"
"""Role recorded for anchors given on the command line; they count for every role."""


@dataclass(frozen=True)
class TrustAnchor:
    """One trusted certificate or public key."""

    role: str
    """``tsa``, ``ledger``, ``depositor``, ``ca`` — or ``extra`` for a ``--trust`` file (any role)."""
    subject: str
    """Certificate subject, or ``public key (<algorithm>)`` for a bare key."""
    fingerprint: str
    """Hex SHA-256 of the certificate DER, or of the SPKI DER for a bare key."""
    source: str
    """File the anchor was read from."""
    der: bytes
    """Certificate DER, or SubjectPublicKeyInfo DER for a bare key."""
    operator: str = "third-party"
    """``own``: this installation's embedded TSA or ledger, trusted automatically here only (stored as
    ``own-*.pem`` or ``ledger-node-*.pem``); ``third-party``: added by the user or shipped (catalogue)."""

    @property
    def is_certificate(self) -> bool:
        """True for a certificate, False for a bare public key."""
        return not self.subject.startswith("public key")

    @property
    def spki_der(self) -> bytes:
        """The SubjectPublicKeyInfo DER of the anchor (of the certificate's key for a certificate)."""
        if self.is_certificate:
            return bytes(parse_certificate(self.der).public_key.dump())
        return self.der

    def pem(self) -> bytes:
        """The anchor in PEM form, as stored in the trust directory."""
        return certificate_pem(self.der) if self.is_certificate else public_key_pem(self.der)


def parse_anchors(data: bytes, role: str, source: str) -> list[TrustAnchor]:
    """Certificates and public keys in ``data`` (PEM bundle, DER certificate or DER SPKI).

    Raises :class:`BadInputError` naming ``source`` when nothing usable is found or a block is malformed.
    """
    blocks: list[tuple[str, bytes]] = []
    if pem.detect(data):
        try:
            blocks = [(kind, bytes(der)) for kind, _h, der in pem.unarmor(data, multiple=True)]
        except ValueError as exc:
            raise BadInputError(f"malformed PEM: {exc}", path=source) from exc
    else:
        blocks = [("DER", data)]
    anchors: list[TrustAnchor] = []
    for kind, der in blocks:
        if kind in ("CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE"):
            anchors.append(_certificate_anchor(der, role, source))
        elif kind == "PUBLIC KEY":
            anchors.append(_key_anchor(der, role, source))
        elif kind == "DER":
            try:
                anchors.append(_certificate_anchor(der, role, source))
            except BadInputError:
                anchors.append(_key_anchor(der, role, source))
        elif "PRIVATE KEY" in kind:
            raise BadInputError("this is a private key; trust its public key or certificate", path=source)
    if not anchors:
        raise BadInputError("no certificate or public key found", path=source)
    return anchors


def _certificate_anchor(der: bytes, role: str, source: str) -> TrustAnchor:
    """A trust anchor for a certificate, named by its subject."""
    try:
        cert = parse_certificate(der)
    except BadInputError as exc:
        raise BadInputError(str(exc), path=source) from exc
    return TrustAnchor(role, name_text(cert.subject), hashlib.sha256(der).hexdigest(), source, der)


def _key_anchor(der: bytes, role: str, source: str) -> TrustAnchor:
    """A trust anchor for a bare public key, named by its algorithm."""
    try:
        asn1_keys.PublicKeyInfo.load(der, strict=True)
        algorithm = spki_algorithm(der)
    except (ValueError, BadInputError) as exc:
        raise BadInputError(f"not a certificate or public key: {exc}", path=source) from exc
    return TrustAnchor(role, f"public key ({algorithm})", spki_fingerprint(der), source, der)


def _check_role(role: str) -> None:
    """Refuse a role name the store does not know."""
    if role not in TRUST_ROLES:
        raise UsageError(f"unknown trust role {role!r} (use one of {', '.join(TRUST_ROLES)})")


def _pem_blocks(data: bytes) -> list[bytes]:
    """Each ``-----BEGIN …-----`` block of a PEM bundle on its own."""
    out, current = [], []
    for line in data.splitlines(keepends=True):
        if line.startswith(b"-----BEGIN"):
            current = [line]
        elif current:
            current.append(line)
            if line.startswith(b"-----END"):
                out.append(b"".join(current))
                current = []
    return out


class TrustStore:
    """The anchors of ``<base>/trust/<role>/`` plus any extra files, which count for every role."""

    def __init__(self, base: Path, anchors: list[TrustAnchor]) -> None:
        """Use :meth:`load` rather than this constructor."""
        self.base = Path(base)
        self._anchors = anchors

    @classmethod
    def load(
        cls, base: Path, extra: Sequence[Path] = (), *, system_tsa: Path | None = None, catalogue: bool = True
    ) -> TrustStore:
        """Read every ``base/trust/<role>/*.pem``; ``extra`` files (``--trust``) count for every role.

        The roots of the public TSAs in :mod:`evidencectl.timestamp.catalogue` are trusted (unless
        ``catalogue`` is False) for role ``tsa`` only, as third-party anchors.

        ``system_tsa`` names a bundle of public roots (e.g. the operating system's or certifi's) trusted as
        TSA roots only: public timestamp authorities chain to them, but they must never vouch for a
        depositor or a ledger.
        """
        anchors: list[TrustAnchor] = []
        if system_tsa is not None:
            for block in _pem_blocks(_read(Path(system_tsa))):
                try:
                    anchors.extend(parse_anchors(block, "tsa", f"system bundle {system_tsa}"))
                except BadInputError:
                    continue  # one unusable certificate in a public bundle must not make the rest unusable
        from ..timestamp.catalogue import shipped_roots

        for label, data in shipped_roots() if catalogue else ():  # public TSAs: TSA roots only, third-party
            anchors.extend(parse_anchors(data, "tsa", label))
        for role in TRUST_ROLES:
            folder = Path(base) / "trust" / role
            if folder.is_dir():
                for path in sorted(folder.glob("*.pem")):
                    own = path.name.startswith(OWN_PREFIXES)
                    anchors.extend(
                        replace(a, operator="own") if own else a for a in parse_anchors(_read(path), role, str(path))
                    )
        for path in extra:
            anchors.extend(parse_anchors(_read(Path(path)), EXTRA_ROLE, str(path)))
        return cls(Path(base), anchors)

    def add_file(self, path: Path, role: str, *, operator: str = "third-party") -> list[TrustAnchor]:
        """Copy the anchors in ``path`` into ``base/trust/<role>/``, one PEM per anchor named by fingerprint.

        Adding an anchor already trusted for the role is a no-op. Returns the anchors of the file.
        ``operator="own"`` (the embedded services only) stores it as ``own-<fingerprint>.pem``.
        """
        _check_role(role)
        folder = self.base / "trust" / role
        folder.mkdir(parents=True, exist_ok=True)
        added: list[TrustAnchor] = []
        for anchor in parse_anchors(_read(Path(path)), role, str(path)):
            plain = folder / f"{anchor.fingerprint[:32]}.pem"
            target = folder / f"own-{plain.name}" if operator == "own" else plain
            if operator == "own" and plain.exists() and not target.exists():
                plain.rename(target)  # installed by an older version, before anchors had an operator
            if not target.exists():
                write_new_file(target, anchor.pem(), mode=0o644)
            stored = TrustAnchor(role, anchor.subject, anchor.fingerprint, str(target), anchor.der, operator)
            if stored not in self._anchors:
                self._anchors.append(stored)
            added.append(stored)
        return added

    def remove(self, fingerprint: str) -> list[TrustAnchor]:
        """Delete every stored anchor whose fingerprint starts with ``fingerprint`` (at least 8 hex digits).

        Raises :class:`UsageError` if the prefix is too short or matches nothing. A file holding several
        anchors is rewritten without the removed one.
        """
        prefix = fingerprint.strip().lower().replace(":", "")
        if len(prefix) < 8:
            raise UsageError("give at least 8 hex digits of the fingerprint")
        gone = [
            a
            for a in self._anchors
            if a.role != EXTRA_ROLE and not a.source.startswith("catalogue ") and a.fingerprint.startswith(prefix)
        ]
        if not gone:
            raise UsageError(f"no trusted anchor has fingerprint {prefix}")
        for source in {a.source for a in gone}:
            keep = [a for a in self._anchors if a.source == source and a not in gone]
            if keep:
                write_new_file(Path(source), b"".join(a.pem() for a in keep), mode=0o644, replace=True)
            else:
                Path(source).unlink(missing_ok=True)
        self._anchors = [a for a in self._anchors if a not in gone]
        return gone

    def anchors(self, role: str | None = None) -> list[TrustAnchor]:
        """Anchors trusted for ``role`` (extras included), or all anchors when ``role`` is None."""
        if role is None:
            return list(self._anchors)
        _check_role(role)
        return [a for a in self._anchors if a.role in (role, EXTRA_ROLE)]

    def certificates(self, role: str | None = None) -> list[bytes]:
        """DER certificates usable as roots for ``role`` (plus extras)."""
        return _unique(a.der for a in self.anchors(role) if a.is_certificate)

    def public_keys(self, role: str | None = None) -> list[bytes]:
        """SPKI DER of the trusted keys and of the trusted certificates' keys for ``role`` (plus extras)."""
        return _unique(a.spki_der for a in self.anchors(role))

    def trusts_key(self, spki_der: bytes, role: str) -> bool:
        """True when the public key (bare, or in a trusted certificate) is trusted for ``role``."""
        return spki_der in self.public_keys(role)


def _unique(items: Iterable[bytes]) -> list[bytes]:
    """Distinct byte strings, first occurrence first."""
    seen: dict[bytes, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


def _read(path: Path) -> bytes:
    """Read a trust file, mapping OS errors to :class:`BadInputError`."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"cannot read trust file: {exc.strerror or exc}", path=path) from exc
