"""``evidencectl tsa``: run the embedded time-stamping authority."""

from __future__ import annotations

from enum import StrEnum

import typer

from ..context import Context
from ..i18n import _

app = typer.Typer(help="The embedded RFC 3161 time-stamping authority.", no_args_is_help=True)


class Algorithm(StrEnum):
    """Signature algorithms of the embedded TSA."""

    ecdsa_p256 = "ecdsa-p256"
    sm2 = "sm2"


@app.command("serve")
def serve_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(3161, "--port", help="TCP port."),
    algorithm: Algorithm = typer.Option(Algorithm.ecdsa_p256, "--algorithm", help="TSA key algorithm."),
) -> None:
    """Serve the embedded TSA over HTTP (POST application/timestamp-query) until interrupted."""
    from ..timestamp.authority import EmbeddedTSA
    from ..timestamp.server import serve

    tsa = EmbeddedTSA.open(Context.default(), algorithm.value)

    def listening() -> None:  # said once the address is bound, not before
        typer.echo(
            _("embedded TSA ({value}) serving on http://{host}:{port}/").format(
                value=algorithm.value, host=host, port=port
            ),
            err=True,
        )

    serve(tsa, host=host, port=port, listening=listening)


@app.command("cert")
def cert_cmd(
    algorithm: Algorithm = typer.Option(Algorithm.ecdsa_p256, "--algorithm", help="TSA key algorithm."),
) -> None:
    """Print the embedded TSA's certificate chain (TSA certificate, then root), PEM."""
    from ..timestamp.authority import EmbeddedTSA

    typer.echo(EmbeddedTSA.open(Context.default(), algorithm.value).chain_pem().decode(), nl=False)


@app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json", help="Print one JSON document.")) -> None:
    """List the public TSAs usable by name (deposit --tsa NAME) and the roots shipped for them."""
    import json

    from ..timestamp.catalogue import CATALOGUE, catalogue_url, env_name
    from ..timestamp.client import configured_tsas

    configured = configured_tsas(Context.default())

    def url(name: str) -> str:
        return str(configured.get(name, {}).get("url") or catalogue_url(CATALOGUE[name]))

    if as_json:
        doc = {"tsas": [{**e.to_json(), "url": url(e.name)} for e in CATALOGUE.values()]}
        typer.echo(json.dumps(doc, ensure_ascii=False))
        return
    for entry in CATALOGUE.values():
        roots = ", ".join(entry.roots) or "none shipped"
        if entry.roots and not entry.trusted:
            roots += " (shipped, not trusted by default)"
        typer.echo(f"{entry.name:<17} {url(entry.name)}")
        typer.echo(
            _("{value:<17} {operator}; hashes {join}; roots: {roots}").format(
                value="", operator=entry.operator, join=", ".join(entry.hashes), roots=roots
            )
        )
        if entry.note:
            typer.echo(f"{'':<17} {entry.note}")
    typer.echo(
        _(
            "\nUse one with: evidencectl deposit FILES --tsa local --tsa freetsa -o OUT.evp. Override a "
            'URL with [tsa.NAME] url = "…" in config.toml or {env_name}.'
        ).format(env_name=env_name("NAME"))
    )
