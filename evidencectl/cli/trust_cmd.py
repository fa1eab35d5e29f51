"""``evidencectl trust``: the certificates and keys this machine trusts, by role."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer

from ..config import home
from ..display import visible

app = typer.Typer(help="Trusted TSA roots, ledger node keys, depositor keys and CAs.", no_args_is_help=True)


class Role(StrEnum):
    """Roles a trust anchor can hold."""

    tsa = "tsa"
    ledger = "ledger"
    depositor = "depositor"
    ca = "ca"


@app.command("add")
def add_cmd(
    file: Path = typer.Argument(..., help="PEM/DER certificate(s) or public key(s)."),
    role: Role = typer.Option(..., "--as", help="What it is trusted for: tsa, ledger, depositor or ca."),
) -> None:
    """Trust the certificates or public keys in FILE for a role."""
    from ..crypto.trust import TrustStore

    for anchor in TrustStore.load(home()).add_file(file, role.value):
        typer.echo(f"trusted as {anchor.role}: {visible(anchor.subject)}  {anchor.fingerprint}")


@app.command("list")
def list_cmd(
    role: Role | None = typer.Option(None, "--role", help="Only this role."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """List trusted anchors with their SHA-256 fingerprints."""
    from ..crypto.trust import TrustStore

    anchors = TrustStore.load(home()).anchors(role.value if role else None)
    if as_json:
        doc = {
            "anchors": [
                {
                    "role": a.role,
                    "subject": a.subject,
                    "fingerprint": a.fingerprint,
                    "kind": "certificate" if a.is_certificate else "public_key",
                    "source": a.source,
                    "operator": a.operator,
                }
                for a in anchors
            ]
        }
        typer.echo(json.dumps(doc, ensure_ascii=False))
        return
    if not anchors:
        typer.echo("nothing is trusted yet; add anchors with `evidencectl trust add FILE --as ROLE`")
    for a in anchors:
        typer.echo(f"{a.role:<10} {a.fingerprint}  {visible(a.subject)}")


@app.command("remove")
def remove_cmd(
    fingerprint: str = typer.Argument(..., help="Fingerprint (or its first 8+ hex digits)."),
) -> None:
    """Stop trusting the anchor with this fingerprint."""
    from ..crypto.trust import TrustStore

    for anchor in TrustStore.load(home()).remove(fingerprint):
        typer.echo(f"removed {anchor.role}: {visible(anchor.subject)}  {anchor.fingerprint}")
