"""``evidencectl trust``: the certificates and keys this machine trusts, by role."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer

from ..context import Context
from ..display import visible
from ..i18n import _

app = typer.Typer(
    help="Trusted TSA roots, ledger node keys, chains, and signers (depositor keys and CAs).", no_args_is_help=True
)


class Role(StrEnum):
    """Roles a trust anchor can hold; a file trusted for one is never used for another."""

    tsa = "tsa"
    ledger = "ledger"
    chain = "chain"
    signer = "signer"


@app.command("add")
def add_cmd(
    file: Path = typer.Argument(..., help="PEM/DER certificate(s) or public key(s)."),
    role: Role = typer.Option(
        ...,
        "--as",
        help="What it is trusted for: tsa (TSA roots), ledger (node keys), chain ([chain.NAME] TOML), "
        "signer (a depositor's certificate or key, or a CA that certifies depositors).",
    ),
) -> None:
    """Trust the certificates or public keys in FILE for a role (a chain file: its [chain.NAME] tables).

    Of a chain file (a TSA certificate followed by its root, as `tsa cert` prints) only the root is
    stored for tsa, so that the TSA certificate's validity at genTime is still checked; for signer, the
    depositor's own certificate is stored, not the CA above it. What is left out is said.
    """
    from ..crypto.trust import TrustStore

    store = TrustStore.load(Context.default())
    added = store.add_file(file, role.value)
    for anchor in added:
        typer.echo(
            _("trusted as {role}: {subject}  {fingerprint}").format(
                role=anchor.role, subject=visible(anchor.subject), fingerprint=anchor.fingerprint
            )
        )
    for anchor in store.left_out():
        kind = "TSA certificate" if role is Role.tsa else "CA certificate"
        kept = "its root" if role is Role.tsa else "the signer"
        typer.echo(
            _("not stored ({kind}; {kept} is): {subject}").format(kind=kind, kept=kept, subject=visible(anchor.subject))
        )
    if role is Role.chain:
        for chain in store.chains()[-1:]:
            typer.echo(
                _("trusted as chain: {name} (chain id {chain_id}, contract {contract})").format(
                    name=visible(chain.name), chain_id=chain.chain_id, contract=chain.contract
                )
            )


@app.command("list")
def list_cmd(
    role: Role | None = typer.Option(None, "--role", help="Only this role."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """List trusted anchors with their SHA-256 fingerprints."""
    from ..crypto.trust import TrustStore

    store = TrustStore.load(Context.default())
    anchors = store.anchors(role.value if role else None) if role is not Role.chain else []
    chains = store.chains() if role in (None, Role.chain) else []
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
            ],
            "chains": [
                {"name": c.name, "chain_id": c.chain_id, "contract": c.contract, "rpc": c.rpc, "source": c.source}
                for c in chains
            ],
        }
        typer.echo(json.dumps(doc, ensure_ascii=False))
        return
    if not anchors and not chains:
        typer.echo(_("nothing is trusted yet; add anchors with `evidencectl trust add FILE --as ROLE`"))
    for a in anchors:
        typer.echo(f"{a.role:<10} {a.fingerprint}  {visible(a.subject)}")
    for c in chains:
        where = visible(c.rpc or "-")
        typer.echo(
            _("{value:<10} {name}: chain id {chain_id}, contract {contract}, rpc {where}").format(
                value="chain", name=visible(c.name), chain_id=c.chain_id, contract=c.contract, where=where
            )
        )


@app.command("remove")
def remove_cmd(
    fingerprint: str = typer.Argument(..., help="Fingerprint (or its first 8+ hex digits)."),
) -> None:
    """Stop trusting the anchor with this fingerprint."""
    from ..crypto.trust import TrustStore

    for anchor in TrustStore.load(Context.default()).remove(fingerprint):
        typer.echo(
            _("removed {role}: {subject}  {fingerprint}").format(
                role=anchor.role, subject=visible(anchor.subject), fingerprint=anchor.fingerprint
            )
        )
