"""The depositor's signing identity for ``deposit --sign``: a key and the certificate that names it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import KeyFileError
from ..i18n import _
from .keys import SigningKey, load_private_key
from .keystore import keys_dir, resolve_key_name
from .passphrase import read_passphrase
from .x509 import build_certificate, certificate_summary, load_certificates

if TYPE_CHECKING:
    from ..context import Context


def load_signing_identity(
    ctx: Context, key: Path | None, passphrase_env: str | None, passphrase_file: Path | None
) -> tuple[SigningKey, bytes | None]:
    """The signing key and its leaf certificate (DER); see :func:`load_signing_chain`."""
    signing_key, leaf, _chain = load_signing_chain(ctx, key, passphrase_env, passphrase_file)
    return signing_key, leaf


def name_mismatch(depositor: str | None, cert_der: bytes | None) -> str | None:
    """A warning when ``--depositor`` is not the name the signing certificate gives, else None.

    A verifier sees both: the depositor is what the statement declares, the certificate is what a key
    holder proved. They should agree, or the difference should be deliberate.
    """
    if depositor is None or cert_der is None:
        return None
    from .x509 import name_text, parse_certificate

    cert = parse_certificate(cert_der)
    common = cert.subject.native.get("common_name")
    common = common[-1] if isinstance(common, list) else common
    if depositor in (common, name_text(cert.subject)):
        return None
    return (
        f"--depositor {depositor!r} differs from the signing certificate's name {name_text(cert.subject)!r}; "
        "verifiers are shown both"
    )


def load_signing_chain(
    ctx: Context, key: Path | None, passphrase_env: str | None, passphrase_file: Path | None
) -> tuple[SigningKey, bytes, list[bytes]]:
    """The signing key, its leaf certificate (DER) and the certificates after the leaf in its file.

    ``key=None`` takes the only key of ``ctx.keys_dir`` (``keys generate``); a path takes that key file
    and the ``<stem>.cert.pem`` beside it. A key without a certificate (say, made by ``openssl genpkey``)
    gets a self-signed one, so that a verifier can always name the signer. The passphrase comes from
    the environment variable or file given, else from a prompt on a terminal.
    """
    if key is None:
        name = resolve_key_name(ctx, None)
        key_path = keys_dir(ctx) / f"{name}.key.pem"
    else:
        key_path = Path(key)
    try:
        head = key_path.read_bytes()[:100]
    except OSError as exc:
        raise KeyFileError(_("cannot read key file: {value}").format(value=exc.strerror or exc), path=key_path) from exc
    passphrase = read_passphrase(passphrase_env, passphrase_file, prompt=False)
    if passphrase is None and b"ENCRYPTED" in head:
        if not sys.stdin.isatty():
            raise KeyFileError(
                _("the key is encrypted: give --passphrase-env NAME or --passphrase-file FILE"), path=key_path
            )
        passphrase = read_passphrase(None, None, prompt=True)
    signing_key = load_private_key(key_path, passphrase)
    stem = key_path.name.removesuffix(".pem").removesuffix(".key")
    cert_path = key_path.with_name(f"{stem}.cert.pem")
    if cert_path.exists():
        certs = load_certificates(cert_path.read_bytes())
        for der in certs:
            if certificate_summary(der)["key_fingerprint"] == signing_key.key_id:
                # The CA-issued certificate's intermediates travel with it, so a verifier can build the path.
                return signing_key, der, [c for c in certs if c != der]
        raise KeyFileError(_("{name} does not certify this key").format(name=cert_path.name), path=key_path)
    cert = build_certificate(
        subject_cn=f"evidencectl depositor {signing_key.key_id[:16]}",
        subject_public_key_der=signing_key.public_key_der(),
        issuer_key=signing_key,
        issuer_cert_der=None,
    )
    return signing_key, cert, []
