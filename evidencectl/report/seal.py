"""``report --sign``: a PAdES signature (pyHanko) over the finished PDF, so any change to a byte shows.

The key is the one given (``--sign-key`` / ``--sign-cert``, PEM, ECDSA or RSA) or this installation's
report seal: an ECDSA P-256 key and a self-signed certificate in ``DATA/report/``, made on first use and
named depositor-operated like every embedded service. pyHanko and poppler do not sign or verify SM2 in
PDF, so the seal is ECDSA or RSA (docs/reports.md). With a TSA URL the signature carries an RFC 3161
signature timestamp (PAdES B-T).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BadInputError, ServiceError, UsageError
from ..i18n import _
from .output import write_atomic

if TYPE_CHECKING:
    from ..context import Context

FIELD = "evidencectl-seal"
"""Name of the signature field."""


@dataclass(frozen=True)
class SealOptions:
    """How to sign a report."""

    key: Path
    """PEM private key (unencrypted unless ``passphrase``)."""
    cert: Path
    """PEM certificate of that key."""
    passphrase: bytes | None = None
    """Passphrase of an encrypted key."""
    tsa_url: str | None = None
    """RFC 3161 TSA asked for the signature timestamp, or None."""
    reason: str = "evidencectl deposit certificate"
    """The signature's stated reason."""


def installation_seal(ctx: Context, install_name: str = "evidencectl") -> tuple[Path, Path]:
    """This installation's seal key and certificate (``ctx.seal_dir``: ``seal-key.pem``, ``seal-cert.pem``)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = ctx.seal_dir
    key_path, cert_path = folder / "seal-key.pem", folder / "seal-cert.pem"
    if key_path.exists() and cert_path.exists():
        return key_path, cert_path
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "evidencectl"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "depositor-operated"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{install_name} report seal"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    _write_private(key_path, pem)
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` readable by its owner only (a key never exists with wider permissions)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def seal_pdf(pdf: bytes, options: SealOptions) -> bytes:
    """``pdf`` with a PAdES signature appended (incremental update); raises BadInputError for an unusable key
    or certificate, ServiceError when the TSA does not answer, UsageError when pyHanko is not installed."""
    try:
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers, timestamps
    except ImportError as exc:
        raise UsageError(_("report --sign needs pyHanko: pip install 'evidencectl[sign]'")) from exc
    try:
        signer = signers.SimpleSigner.load(  # type: ignore[no-untyped-call]
            str(options.key), str(options.cert), key_passphrase=options.passphrase
        )
    except Exception as exc:  # noqa: BLE001 - pyHanko raises many kinds for a bad key file
        raise BadInputError(
            _("cannot load the signing key or certificate: {exc}").format(exc=exc), path=options.key
        ) from exc
    if signer is None:
        raise BadInputError(_("cannot load the signing key or certificate"), path=options.key)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES, reason=options.reason
    )
    stamper = timestamps.HTTPTimeStamper(options.tsa_url, timeout=30) if options.tsa_url else None
    out = io.BytesIO()
    try:
        signers.sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer, timestamper=stamper, output=out
        )
    except Exception as exc:
        if stamper is not None and "timestamp" in f"{type(exc).__name__} {exc}".lower():
            raise ServiceError(
                _("the TSA {tsa_url} gave no signature timestamp: {exc}").format(tsa_url=options.tsa_url, exc=exc)
            ) from exc
        raise BadInputError(_("cannot sign the report: {exc}").format(exc=exc), path=options.key) from exc
    return out.getvalue()
