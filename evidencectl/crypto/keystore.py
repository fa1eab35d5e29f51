"""Depositor keys kept in ``<home>/keys/``: ``NAME.key.pem`` (PKCS#8, encrypted, 0600),
``NAME.pub.pem`` and ``NAME.cert.pem`` (self-signed at creation, or a CA-issued chain once imported).

The public key and certificate sit beside the private key so that ``keys show`` and ``keys export``
never need the passphrase.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadInputError, OutputExistsError, UsageError
from ..i18n import _
from .anchors import parse_anchors
from .files import write_new_file
from .keys import KeyAlgorithm, SigningKey, generate_key, load_private_key, save_private_key
from .passphrase import check_new_passphrase
from .x509 import build_certificate, certificate_pem, certificate_summary, load_certificates

if TYPE_CHECKING:
    from ..context import Context

# Unicode letters and digits are allowed: depositors are people, and most names here are Chinese.
_NAME = re.compile(r"^\w[\w.-]{0,63}\Z")  # \Z: "$" would pass a final newline


@dataclass(frozen=True)
class DepositorKey:
    """A depositor key on disk, described without its passphrase."""

    name: str
    """Name given at ``keys generate`` (file stem in ``<home>/keys/``)."""
    algorithm: str
    """``sm2`` or ``ecdsa-p256``."""
    fingerprint: str
    """Hex SHA-256 of the public key (SPKI DER); the key's stable identifier."""
    key_path: Path
    """The private key file."""
    encrypted: bool
    """Whether the private key file is passphrase-encrypted."""
    certificates: list[dict[str, str]]
    """Summaries of ``NAME.cert.pem``, leaf first (subject, issuer, validity, fingerprints)."""

    def to_json(self) -> dict[str, Any]:
        """JSON form used by ``keys show --json``."""
        return {
            "name": self.name,
            "algorithm": self.algorithm,
            "fingerprint": self.fingerprint,
            "key_path": str(self.key_path),
            "encrypted": self.encrypted,
            "certificates": self.certificates,
        }


def keys_dir(ctx: Context) -> Path:
    """``ctx.keys_dir``, created with mode 0700 when missing."""
    folder = ctx.keys_dir
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _paths(folder: Path, name: str) -> tuple[Path, Path, Path]:
    """Key, public key and certificate paths of the key ``name``."""
    return folder / f"{name}.key.pem", folder / f"{name}.pub.pem", folder / f"{name}.cert.pem"


def create_depositor_key(
    ctx: Context,
    name: str,
    algorithm: KeyAlgorithm,
    passphrase: bytes | None,
    *,
    out: Path | None = None,
    organization: str | None = None,
    validity_days: int = 3650,
) -> DepositorKey:
    """Generate a key and its self-signed certificate (CN = ``name``) under ``ctx.keys_dir`` or at ``out``.

    With ``out`` the files are ``out``, ``<out stem>.pub.pem`` and ``<out stem>.cert.pem``. Nothing is
    overwritten: :class:`OutputExistsError` if any of the files exists. A passphrase shorter than
    :data:`~evidencectl.crypto.passphrase.MIN_LENGTH` characters is refused (:class:`UsageError`).
    """
    if passphrase is not None:
        check_new_passphrase(passphrase)
    if not _NAME.match(name):
        raise UsageError(
            _("invalid key name {name!r} (letters (any script), digits, '.', '_', '-'; at most 64)").format(name=name)
        )
    if out is None:
        key_path, pub_path, cert_path = _paths(keys_dir(ctx), name)
    else:
        stem = out.name.removesuffix(".pem").removesuffix(".key")
        key_path, pub_path, cert_path = (
            Path(out),
            out.with_name(f"{stem}.pub.pem"),
            out.with_name(f"{stem}.cert.pem"),
        )
    for path in (key_path, pub_path, cert_path):
        if path.exists():
            raise OutputExistsError(_("file exists; refusing to overwrite a key"), path=path)
    key = generate_key(algorithm)
    now = datetime.now(UTC)
    cert = build_certificate(
        subject_cn=name,
        subject_public_key_der=key.public_key_der(),
        issuer_key=key,
        issuer_cert_der=None,
        not_before=now - timedelta(minutes=5),
        not_after=now + timedelta(days=validity_days),
        organization=organization,
    )
    # The private key goes first: if it cannot be written, no orphan certificate is left behind.
    save_private_key(key, key_path, passphrase)
    write_new_file(pub_path, key.public_key_pem(), mode=0o644)
    write_new_file(cert_path, certificate_pem(cert), mode=0o644)
    return describe(key_path)


def describe(key_path: Path) -> DepositorKey:
    """Describe the key at ``key_path`` from its public key and certificate files (no passphrase needed)."""
    folder, stem = key_path.parent, key_path.name.removesuffix(".pem").removesuffix(".key")
    pub_path, cert_path = folder / f"{stem}.pub.pem", folder / f"{stem}.cert.pem"
    if not pub_path.exists():
        raise BadInputError(_("public key file is missing"), path=pub_path)
    anchor = parse_anchors(pub_path.read_bytes(), "depositor", str(pub_path))[0]
    certs = load_certificates(cert_path.read_bytes()) if cert_path.exists() else []
    head = key_path.read_bytes()[:64]
    return DepositorKey(
        name=stem,
        algorithm=anchor.subject.removeprefix("public key (").removesuffix(")"),
        fingerprint=anchor.fingerprint,
        key_path=key_path,
        encrypted=b"ENCRYPTED" in head,
        certificates=[certificate_summary(der) for der in certs],
    )


def list_depositor_keys(ctx: Context) -> list[DepositorKey]:
    """Every depositor key in ``ctx.keys_dir``, sorted by name."""
    return [describe(path) for path in sorted(keys_dir(ctx).glob("*.key.pem"))]


def resolve_key_name(ctx: Context, name: str | None) -> str:
    """``name`` if that key exists; with no name, the only key there is. :class:`UsageError` otherwise."""
    names = [k.name for k in list_depositor_keys(ctx)]
    if name is None:
        if len(names) == 1:
            return names[0]
        if not names:
            raise UsageError(_("no depositor key yet; run `evidencectl keys generate --name NAME`"))
        raise UsageError(_("several keys ({join}); choose one with --name").format(join=", ".join(names)))
    if name not in names:
        raise UsageError(_("no depositor key named {name!r}").format(name=name))
    return name


def public_key_pem_of(ctx: Context, name: str | None) -> bytes:
    """The PEM public key of a depositor key."""
    _key, pub, _cert = _paths(keys_dir(ctx), resolve_key_name(ctx, name))
    return pub.read_bytes()


def import_certificate(ctx: Context, name: str | None, cert_file: Path) -> DepositorKey:
    """Replace the key's certificate with a CA-issued one (leaf first, then any chain in the same file).

    Raises :class:`BadInputError` when the leaf certifies another public key; the old certificate is then
    kept untouched.
    """
    key_path, pub_path, cert_path = _paths(keys_dir(ctx), resolve_key_name(ctx, name))
    try:
        certs = load_certificates(Path(cert_file).read_bytes())
    except OSError as exc:
        raise BadInputError(
            _("cannot read certificate: {value}").format(value=exc.strerror or exc), path=cert_file
        ) from exc
    except BadInputError as exc:
        raise BadInputError(str(exc), path=cert_file) from exc
    ours = parse_anchors(pub_path.read_bytes(), "depositor", str(pub_path))[0].fingerprint
    leaf = [der for der in certs if certificate_summary(der)["key_fingerprint"] == ours]
    if not leaf:
        raise BadInputError(_("no certificate in the file is for key {ours}").format(ours=ours[:16]), path=cert_file)
    chain = leaf[:1] + [der for der in certs if der != leaf[0]]
    write_new_file(cert_path, b"".join(certificate_pem(der) for der in chain), mode=0o644, replace=True)
    return describe(key_path)


def load_depositor_key(ctx: Context, name: str | None, passphrase: bytes | None) -> tuple[SigningKey, list[bytes]]:
    """The signing key and its certificate chain (DER, leaf first) for ``deposit --sign``."""
    key_path, _pub, cert_path = _paths(keys_dir(ctx), resolve_key_name(ctx, name))
    key = load_private_key(key_path, passphrase)
    certs = load_certificates(cert_path.read_bytes()) if cert_path.exists() else []
    return key, certs
