"""``evidencectl config show`` (what this installation is set up with) and ``evidencectl doctor`` (whether
the tools evidencectl works with are there, and how to install those that are not)."""

from __future__ import annotations

import json
from typing import Any

import typer

from ..config import HOME_ENV
from ..context import Context
from ..i18n import _
from .render import print_json

config_app = typer.Typer(help="Show what evidencectl is configured with.", no_args_is_help=True, suggest_commands=False)

_SECRET_WORDS = ("password", "secret", "token", "private")


def _public(settings: dict[str, Any]) -> dict[str, Any]:
    """A config table with secret values hidden: config.toml should name the variable holding a secret
    (``password_env``), and if a secret was written there anyway it is not repeated on screen."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        secret = any(w in key.lower() for w in _SECRET_WORDS) and not key.lower().endswith("_env")
        out[key] = "(hidden)" if secret else value
    return out


def describe_configuration(ctx: Context) -> dict[str, Any]:
    """Everything ``config show`` reports, as one JSON-ready dict (no secrets)."""
    import os

    from ..crypto.trust import TrustStore

    cfg = ctx.config
    tsas: list[dict[str, Any]] = [{"name": "local", "url": None, "kind": "embedded", "ready": ctx.tsa_dir.is_dir()}]
    for name, settings in cfg.section("tsa").items():
        if isinstance(settings, dict):
            tsas.append({"name": name, "kind": "configured", **_public(settings)})
    chains: dict[str, Any] = {}
    chains_file = ctx.chains_path
    if chains_file.is_file():
        try:
            chains = json.loads(chains_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            chains = {"error": f"{chains_file} cannot be read"}
    anchors = {
        "local": {"kind": "embedded ledger", "ready": ctx.ledger_db.is_file()},
        "evm": _public(cfg.section("evm")),
        "deployed": chains,
    }
    store = TrustStore.load(ctx)
    trust = [
        {"role": a.role, "subject": a.subject, "fingerprint": a.fingerprint, "source": a.source}
        for a in store.anchors()
    ]
    return {
        "data_dir": str(ctx.base),
        "data_dir_from": HOME_ENV if os.environ.get(HOME_ENV) else "platform default",
        "config_file": str(cfg.path),
        "config_file_exists": cfg.path.is_file(),
        "tsas": tsas,
        "anchors": anchors,
        "trust_anchors": trust,
        "trust": _public(cfg.section("trust")),
    }


@config_app.command("show")
def show_cmd(as_json: bool = typer.Option(False, "--json", help="Print one JSON document.")) -> None:
    """Print the data directory, config.toml, the TSAs and anchors configured, and the trust anchors."""
    doc = describe_configuration(Context.default())
    if as_json:
        print_json(doc)
        return
    out = [
        _("data directory  {path}  ({source})").format(path=doc["data_dir"], source=doc["data_dir_from"]),
        _("config file     {path}").format(path=doc["config_file"])
        + ("" if doc["config_file_exists"] else _("  (absent: defaults)")),
        _("TSAs (--tsa):"),
    ]
    for t in doc["tsas"]:
        where = t.get("url") or (_("embedded, in the data directory") if t["kind"] == "embedded" else "")
        out.append(f"  {t['name']:<12} {where}")
    out.append(_("anchors (--anchor):"))
    ready = doc["anchors"]["local"]["ready"]
    out.append(
        _("  local        embedded ledger") if ready else _("  local        embedded ledger (made on first use)")
    )
    for rpc, entry in doc["anchors"]["deployed"].items():
        contract = entry.get("contract") if isinstance(entry, dict) else entry
        out.append(_("  evm:{rpc}  contract {contract}").format(rpc=rpc, contract=contract))
    if doc["anchors"]["evm"]:
        out.append(f"  [evm] {json.dumps(doc['anchors']['evm'], ensure_ascii=False)}")
    out.append(_("trust anchors ({n}):").format(n=len(doc["trust_anchors"])))
    out += [f"  {a['role']:<9} {a['fingerprint'][:16]}…  {a['subject']}" for a in doc["trust_anchors"]]
    typer.echo("\n".join(out))


def doctor(as_json: bool = typer.Option(False, "--json", help="Print one JSON document.")) -> None:
    """Check the tools evidencectl uses (OpenSSL with SM3, Chromium, Anvil, web3, unzip, 7z, bsdtar); exit 4
    when one that every deposit needs is missing."""
    from ..doctor import run_checks

    results = run_checks()
    if as_json:
        print_json({"checks": results, "ok": all(r["ok"] or not r["required"] for r in results)})
    else:
        for r in results:
            state = _("ok     ") if r["ok"] else _("missing")
            line = f"{state}  {r['name']:<22} {r['detail']}"
            if not r["ok"]:
                line += _("; install: {command}").format(command=r["install"])
            typer.echo(line)
    if not all(r["ok"] or not r["required"] for r in results):
        raise typer.Exit(4)


def register(app: typer.Typer) -> None:
    """Add ``config`` and ``doctor`` to the top-level application."""
    app.add_typer(config_app, name="config")
    app.command(name="doctor")(doctor)
