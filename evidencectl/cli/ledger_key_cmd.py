"""``evidencectl ledger key export``: the embedded ledger's node key, to hand to verifiers."""

from __future__ import annotations

import typer

from ..context import Context
from ..i18n import _

app = typer.Typer(help="The embedded ledger's node key.", no_args_is_help=True)


@app.command("export")
def export_cmd() -> None:
    """Print the ledger node's public key (PEM) on stdout; a verifier trusts it with `trust add FILE --as ledger`.

    The private key never leaves the data directory. The key's SHA-256 fingerprint goes to stderr, to be
    compared over another channel with what the verifier received.
    """
    from ..anchor.ledger import EmbeddedLedger

    key = EmbeddedLedger.open(Context.default()).key
    typer.echo(key.public_key_pem().decode("ascii"), nl=False)
    typer.echo(_("ledger node key {key_id}").format(key_id=key.key_id), err=True)
