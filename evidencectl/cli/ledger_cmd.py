"""``evidencectl ledger``: audit and list the embedded ledger."""

from __future__ import annotations

import json

import typer

from ..config import home
from ..errors import ExitCode

app = typer.Typer(help="The embedded ledger: audit every block, list blocks.", no_args_is_help=True)


@app.command("verify")
def verify_cmd(as_json: bool = typer.Option(False, "--json", help="Print one JSON document.")) -> None:
    """Re-check every block's hash, link and node signature; exit 1 naming the first broken block."""
    from ..anchor.ledger import EmbeddedLedger

    audit = EmbeddedLedger.open(home()).verify_chain()
    if as_json:
        typer.echo(json.dumps(audit.to_json(), ensure_ascii=False))
    elif audit.ok:
        typer.echo(f"ledger intact: {_blocks(audit.blocks)}, head {audit.head_hash or '-'}")
    else:
        typer.echo(f"ledger BROKEN at block {audit.first_broken}: {audit.problem}")
    if not audit.ok:
        raise typer.Exit(int(ExitCode.FAILED))


@app.command("show")
def show_cmd(as_json: bool = typer.Option(False, "--json", help="Print one JSON document.")) -> None:
    """List the blocks of the embedded ledger with their deposits."""
    from ..anchor.ledger import EmbeddedLedger

    ledger = EmbeddedLedger.open(home())
    blocks = ledger.blocks()
    if as_json:
        doc = {"ledger_id": ledger.ledger_id, "node_key_id": ledger.key.key_id, "blocks": blocks}
        typer.echo(json.dumps(doc, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"ledger {ledger.ledger_id} ({_blocks(len(blocks))})")
    for column in ("height", "time", "hash", "deposits"):
        table.add_column(column)
    for block in blocks:
        header = block["header"] if isinstance(block["header"], dict) else {}
        deposits = ", ".join(str((e or {}).get("deposit_id", "?")) for e in block["entries"])
        table.add_row(str(block["height"]), str(header.get("time", "?")), block["hash"][:16] + "…", deposits)
    Console(soft_wrap=True).print(table)


def _blocks(count: int) -> str:
    return f"{count} block" if count == 1 else f"{count} blocks"
