"""Trust anchors: one trusted certificate or public key, read from PEM or DER, and what a file trusted for a
role keeps (:func:`select_for_role`). :mod:`.trust` stores them; this module only reads them.

Every command imports :mod:`.trust` (the public face's ``TrustStore``), few read an anchor: asn1crypto,
cryptography (through :mod:`.keys`), :mod:`.x509` and hashlib are imported where an anchor is parsed or
printed, not at the top. Together with the deposit stages the public face no longer loads, that takes about
46 ms of CPU time off every command's start-up (benchmarks/README.md, "Start-up, issue 16").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from ..errors import BadInputError
from ..i18n import _


@dataclass(frozen=True)
class TrustAnchor:
    """One trusted certificate or public key."""

    role: str
    """``tsa``, ``ledger`` or ``signer`` (chains are :class:`~.trust_sources.TrustedChain` entries)."""
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

    @cached_property
    def spki_der(self) -> bytes:
        """The SubjectPublicKeyInfo DER of the anchor (of the certificate's key for a certificate).

        Kept once computed: a store with a public root bundle asks it of some 150 anchors per check.
        """
        if self.is_certificate:
            from .x509 import parse_certificate

            return bytes(parse_certificate(self.der).public_key.dump())
        return self.der

    def pem(self) -> bytes:
        """The anchor in PEM form, as stored in the trust directory."""
        from .keys import public_key_pem
        from .x509 import certificate_pem

        return certificate_pem(self.der) if self.is_certificate else public_key_pem(self.der)


def parse_anchors(data: bytes, role: str, source: str) -> list[TrustAnchor]:
    """Certificates and public keys in ``data`` (PEM bundle, DER certificate or DER SPKI).

    Raises :class:`BadInputError` naming ``source`` when nothing usable is found or a block is malformed.
    """
    from asn1crypto import pem

    blocks: list[tuple[str, bytes]] = []
    if pem.detect(data):
        try:
            blocks = [(kind, bytes(der)) for kind, _h, der in pem.unarmor(data, multiple=True)]
        except ValueError as exc:
            raise BadInputError(_("malformed PEM: {exc}").format(exc=exc), path=source) from exc
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
            raise BadInputError(_("this is a private key; trust its public key or certificate"), path=source)
    if not anchors:
        raise BadInputError(_("no certificate or public key found"), path=source)
    return anchors


def _is_ca(der: bytes) -> bool:
    """True for a certificate that may issue others (basicConstraints CA, or a v1 self-signed root)."""
    from .x509 import parse_certificate

    cert = parse_certificate(der)
    constraints = cert.basic_constraints_value
    if constraints is None:
        return bool(cert.self_signed != "no")
    return bool(constraints["ca"].native)


def select_for_role(anchors: list[TrustAnchor], role: str) -> tuple[list[TrustAnchor], list[TrustAnchor]]:
    """(anchors kept, anchors left out) of one file trusted for ``role``.

    A chain file (what ``tsa cert`` prints: the TSA certificate, then its root) names one party but holds
    several certificates. For ``tsa`` only its CA certificates are kept: the TSA's own certificate as an
    anchor would skip the check of its validity at genTime. For ``signer`` a file with an end-entity
    certificate and the CAs above it trusts that depositor, not everyone the CA certifies. A file of one
    kind only is kept whole (a deliberately pinned TSA certificate, a CA bundle).
    """
    certs = [a for a in anchors if a.is_certificate]
    cas = [a for a in certs if _is_ca(a.der)]
    leaves = [a for a in certs if a not in cas]
    if not cas or not leaves or role not in ("tsa", "signer"):
        return anchors, []
    dropped = leaves if role == "tsa" else cas
    return [a for a in anchors if a not in dropped], dropped


def _certificate_anchor(der: bytes, role: str, source: str) -> TrustAnchor:
    """A trust anchor for a certificate, named by its subject."""
    import hashlib

    from .x509 import name_text, parse_certificate

    try:
        cert = parse_certificate(der)
    except BadInputError as exc:
        raise BadInputError(str(exc), path=source) from exc
    return TrustAnchor(role, name_text(cert.subject), hashlib.sha256(der).hexdigest(), source, der)


def _key_anchor(der: bytes, role: str, source: str) -> TrustAnchor:
    """A trust anchor for a bare public key, named by its algorithm."""
    from asn1crypto import keys as asn1_keys

    from .keys import spki_algorithm, spki_fingerprint

    try:
        asn1_keys.PublicKeyInfo.load(der, strict=True)
        algorithm = spki_algorithm(der)
    except (ValueError, BadInputError) as exc:
        raise BadInputError(_("not a certificate or public key: {exc}").format(exc=exc), path=source) from exc
    return TrustAnchor(role, f"public key ({algorithm})", spki_fingerprint(der), source, der)
