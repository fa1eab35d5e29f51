"""``evidencectl keys``: depositor signing keys and their certificates."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ..context import Context
from ..errors import UsageError
from ..i18n import _

if TYPE_CHECKING:
    from ..crypto.keystore import DepositorKey


def _keystore() -> Any:
    # Imported on use: loading the SM2 and X.509 stack would slow every `evidencectl` start-up.
    from ..crypto import keystore

    return keystore


app = typer.Typer(help="Depositor signing keys (SM2 or ECDSA P-256) and their certificates.", no_args_is_help=True)


class Algorithm(StrEnum):
    """Key algorithms offered on the command line."""

    sm2 = "sm2"
    ecdsa_p256 = "ecdsa-p256"


PASSPHRASE_ENV = typer.Option(None, "--passphrase-env", metavar="NAME", help="Read the passphrase from env var NAME.")
PASSPHRASE_FILE = typer.Option(None, "--passphrase-file", help="Read the passphrase from the first line of FILE.")


def _warn(key: DepositorKey) -> None:
    """Print on stderr why a key file is kept unsafely."""
    from ..crypto.keys import key_file_warnings

    for message in key_file_warnings(key.key_path):
        typer.echo(_("warning: {message}").format(message=message), err=True)


@app.command("generate")
def generate_cmd(
    name: str = typer.Option(..., "--name", help="Name of the key (also the certificate's CN)."),
    algorithm: Algorithm = typer.Option(Algorithm.sm2, "--algorithm", help="sm2 or ecdsa-p256."),
    out: Path | None = typer.Option(None, "--out", help="Write the key here instead of the key store."),
    organization: str | None = typer.Option(None, "--organization", help="O= of the self-signed certificate."),
    passphrase_env: str | None = PASSPHRASE_ENV,
    passphrase_file: Path | None = PASSPHRASE_FILE,
    unencrypted: bool = typer.Option(False, "--unencrypted", help="Store the key without a passphrase."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Create a key (PKCS#8, passphrase-encrypted, mode 0600) and a self-signed certificate for it."""
    if unencrypted and (passphrase_env or passphrase_file):
        raise UsageError(_("--unencrypted contradicts --passphrase-env/--passphrase-file"))
    passphrase = None
    if not unencrypted:
        interactive = not (passphrase_env or passphrase_file)
        if interactive and not sys.stdin.isatty():
            raise UsageError(_("no terminal to ask for a passphrase: use --passphrase-env or --passphrase-file"))
        from ..crypto.passphrase import read_passphrase

        passphrase = read_passphrase(passphrase_env, passphrase_file, prompt=interactive, confirm=True)
    key = _keystore().create_depositor_key(
        Context.default(),
        name,
        algorithm.value,
        passphrase,
        out=out,
        organization=organization,  # type: ignore[arg-type]
    )
    _warn(key)
    trusted = _trust_own_key(key)
    if as_json:
        typer.echo(json.dumps({**key.to_json(), "trusted_as": "signer" if trusted else None}, ensure_ascii=False))
    else:
        typer.echo(
            _("created {algorithm} key {name}: {key_path}").format(
                algorithm=key.algorithm, name=key.name, key_path=key.key_path
            )
        )
        typer.echo(_("fingerprint {fingerprint}").format(fingerprint=key.fingerprint))
        if trusted:
            typer.echo(_("trusted on this machine as signer (others trust it with `trust add CERT --as signer`)"))


def _trust_own_key(key: DepositorKey) -> bool:
    """Trust a key made here as a signer on this machine, by its certificate (else its public key).

    The depositor verifying their own package then sees their signature PASSED; anyone else still has
    to trust the key or its CA themselves.
    """
    from ..crypto.trust import TrustStore

    stem = key.key_path.name.removesuffix(".pem").removesuffix(".key")
    for candidate in (key.key_path.with_name(f"{stem}.cert.pem"), key.key_path.with_name(f"{stem}.pub.pem")):
        if candidate.is_file():
            TrustStore.load(Context.default()).add_file(candidate, "signer", operator="own")
            return True
    return False


@app.command("show")
def show_cmd(
    name: str | None = typer.Option(None, "--name", help="Show only this key."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """List depositor keys: fingerprint, algorithm, certificate subject and validity."""
    ctx = Context.default()
    keys = _keystore().list_depositor_keys(ctx)
    if name is not None:
        wanted = _keystore().resolve_key_name(ctx, name)
        keys = [k for k in keys if k.name == wanted]
    if as_json:
        typer.echo(json.dumps({"keys": [k.to_json() for k in keys]}, ensure_ascii=False))
        return
    if not keys:
        typer.echo(_("no depositor keys; create one with `evidencectl keys generate --name NAME`"))
    for key in keys:
        _warn(key)
        state = _("encrypted") if key.encrypted else _("NOT encrypted")
        typer.echo(f"{key.name}  {key.algorithm}  {state}")
        typer.echo(_("  fingerprint  {fingerprint}").format(fingerprint=key.fingerprint))
        typer.echo(_("  file         {key_path}").format(key_path=key.key_path))
        for cert in key.certificates[:1]:
            typer.echo(_("  subject      {subject}").format(subject=cert["subject"]))
            typer.echo(_("  issuer       {issuer}").format(issuer=cert["issuer"]))
            typer.echo(
                _("  valid        {not_before} to {not_after}").format(
                    not_before=cert["not_before"], not_after=cert["not_after"]
                )
            )


@app.command("export")
def export_cmd(
    public: bool = typer.Option(False, "--public", help="Export the public key (the only export offered)."),
    name: str | None = typer.Option(None, "--name", help="Key to export (default: the only key)."),
) -> None:
    """Print the public key as PEM on stdout; private keys are never exported."""
    if not public:
        raise UsageError(_("only the public key can be exported: add --public"))
    typer.echo(_keystore().public_key_pem_of(Context.default(), name).decode("ascii"), nl=False)


@app.command("import-cert")
def import_cert_cmd(
    cert: Path = typer.Argument(..., help="PEM/DER certificate (a chain may follow the leaf)."),
    name: str | None = typer.Option(None, "--name", help="Key the certificate is for (default: the only key)."),
) -> None:
    """Attach a CA-issued certificate to a key, replacing its self-signed one."""
    key = _keystore().import_certificate(Context.default(), name, cert)
    leaf = key.certificates[0]
    typer.echo(
        _("{name}: certificate {subject} issued by {issuer}").format(
            name=key.name, subject=leaf["subject"], issuer=leaf["issuer"]
        )
    )
