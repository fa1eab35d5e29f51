"""``evidencectl ledger``: audit and list the embedded ledger."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..context import Context
from ..errors import ExitCode
from ..i18n import _

app = typer.Typer(help="The embedded ledger: audit every block, list blocks.", no_args_is_help=True)

from .ledger_key_cmd import app as _key_app  # noqa: E402 - the sub-command group, registered with the app

app.add_typer(_key_app, name="key")


@app.command("verify")
def verify_cmd(
    packages: list[Path] = typer.Argument(None, help="With --against: the packages to check the ledger against."),
    against_flag: bool = typer.Option(
        False, "--against", help="Every ledger head the PACKAGES vouch for must still be in the ledger."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Re-check every block's hash, link, time order and node signature; exit 1 naming the first broken block,
    or a block a package vouches for (--against) that was removed or rewritten."""
    from ..anchor.ledger import EmbeddedLedger
    from ..errors import UsageError
    from ..heads import missing_heads, package_heads

    if bool(packages) != against_flag:
        raise UsageError(_("give packages with --against: ledger verify --against PACKAGE..."))
    against = list(packages or [])
    ctx = Context.default()
    ledger = EmbeddedLedger.open(ctx)
    audit = ledger.verify_chain()
    doc = audit.to_json()
    problems: list[dict[str, object]] = []
    if against:
        stored = {int(b["height"]): str(b["hash"]) for b in ledger.blocks()}
        from ..crypto.trust import TrustStore
        from ..display import visible

        heads, refused = package_heads(against, TrustStore.for_verification(ctx))
        problems = missing_heads(heads, "ledger", stored, ledger.ledger_id)
        doc["against"] = {
            "packages": len(against),
            "heads": sum(h.log == "ledger" for h in heads),
            "problems": problems,
            "not_counted": refused,
        }
        for skipped in refused:
            typer.echo(visible(f"{skipped['package']}: {skipped['reason']}"), err=True)
    if as_json:
        typer.echo(json.dumps(doc, ensure_ascii=False))
    else:
        if audit.ok:
            typer.echo(
                _("ledger intact: {blocks}, head {value}").format(
                    blocks=_blocks(audit.blocks), value=audit.head_hash or "-"
                )
            )
        else:
            typer.echo(
                _("ledger BROKEN at block {first_broken}: {problem}").format(
                    first_broken=audit.first_broken, problem=audit.problem
                )
            )
        for problem in problems:
            typer.echo(_("ledger REWRITTEN: {problem}").format(problem=problem["problem"]))
        if against and not problems:
            typer.echo(
                _("every ledger head the {n_against} package(s) vouch for is still in the ledger").format(
                    n_against=len(against)
                )
            )
    if not audit.ok or problems:
        raise typer.Exit(int(ExitCode.FAILED))


@app.command("show")
def show_cmd(as_json: bool = typer.Option(False, "--json", help="Print one JSON document.")) -> None:
    """List the blocks of the embedded ledger with their deposits."""
    from ..anchor.ledger import EmbeddedLedger

    ledger = EmbeddedLedger.open(Context.default())
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
