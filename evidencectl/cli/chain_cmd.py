"""``evidencectl chain``: deploy the EvidenceRegistry contract to an Ethereum-compatible node."""

from __future__ import annotations

import json

import typer

from ..context import Context
from ..i18n import _

app = typer.Typer(help="Ethereum-compatible chains: deploy the evidence registry.", no_args_is_help=True)


@app.callback()
def chain() -> None:
    """Ethereum-compatible chains: deploy the evidence registry."""
    # An explicit callback keeps ``deploy`` a subcommand even though it is the only one.


@app.command("deploy")
def deploy_cmd(
    rpc: str = typer.Option(..., "--rpc", help="JSON-RPC URL of the node, e.g. http://127.0.0.1:8545."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Deploy EvidenceRegistry with the key in $EVIDENCECTL_EVM_KEY (or [evm] keystore); remember it."""
    ctx = Context.default()
    from ..anchor.evm import deploy_registry

    record = deploy_registry(rpc, ctx)
    if as_json:
        typer.echo(json.dumps({"rpc_url": rpc, **record}))
        return
    typer.echo(
        _("EvidenceRegistry deployed at {contract} on chain {chain_id}").format(
            contract=record["contract"], chain_id=record["chain_id"]
        )
    )
    typer.echo(
        _("remembered for {rpc} in {value}; deposit with --anchor evm:{rpc}").format(rpc=rpc, value=ctx.chains_path)
    )
