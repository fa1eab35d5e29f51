"""Top-level commands: deposit, verify, inspect, extract, cases, log."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from ..context import Context
from ..display import visible
from ..i18n import _, document_language, ngettext
from . import deposit_options as shared
from .app import app
from .extras import require_chain_support
from .registry_view import deposit_table, package_state, record_event, report_format
from .render import (
    SUMMARY_ABOVE,
    console,
    print_deposit,
    print_json,
    print_manifest,
    print_report,
    progress_callback,
)

JSON_OPT = typer.Option(False, "--json", help="Print exactly one JSON document on stdout.")
TRUST_HELP = "Trust FILE for one role this run: tsa:FILE, signer:FILE, ledger:FILE or chain:FILE; repeatable."


@app.command()
def deposit(
    paths: list[str] = typer.Argument(None, help="Files, folders (recursive) and '-' for standard input."),
    out: Path | None = typer.Option(None, "-o", "--output", help="The evidence package to write (.evp)."),
    case: str | None = shared.CASE,
    depositor: str | None = shared.DEPOSITOR,
    note: str | None = shared.NOTE,
    tsa: list[str] = shared.TSA,
    tsa_quorum: int = shared.TSA_QUORUM,
    anchor: list[str] = shared.ANCHOR,
    contract: str | None = shared.CONTRACT,
    hash_only: bool = typer.Option(False, "--hash-only", help="Record digests only; keep originals out."),
    from_list: Path | None = typer.Option(None, "--from-list", help="File with one path a line (or sha256sum lines)."),
    follow_symlinks: bool = typer.Option(False, "--follow-symlinks", help="Follow symbolic links in folders."),
    strict: bool = typer.Option(False, "--strict", help="Refuse mails and images whose content cannot be read."),
    offline: bool = typer.Option(False, "--offline", help="No network lookups while analysing (DKIM)."),
    dkim_keys: Path | None = typer.Option(
        None, "--dkim-keys", help="DKIM key records (zone-file lines) for offline checks."
    ),
    sign: bool = shared.SIGN,
    key: Path | None = shared.KEY,
    passphrase_env: str | None = shared.PASSPHRASE_ENV,
    passphrase_file: Path | None = shared.PASSPHRASE_FILE,
    force: bool = typer.Option(False, "--force", help="Replace an existing package."),
    resume: bool = typer.Option(False, "--resume", help="Finish pending deposits (a TSA or node was down)."),
    max_size: str = typer.Option(
        "4G", "--max-size", help="Most bytes read from standard input ('-'), e.g. 4G, 500M; more is refused."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Deposit files as evidence: hash, timestamp, anchor and package them.

    Example: evidencectl deposit contract.pdf photos/ -o case-42.evp --case "（2026）渝0103民初1234号"
    """
    from .. import DepositOptions, SourceOptions
    from .. import deposit as run_deposit
    from .. import resume as resume_pending
    from ..collect.files import parse_size
    from ..errors import UsageError

    ctx = Context.default()  # one context for the whole command: config.toml is read once
    if resume:
        results = resume_pending(ctx, paths[0] if paths else None)
        if as_json:
            print_json({"resumed": [r.to_json() for r in results]})
        else:
            if not results:
                console().print(_("No pending deposits."))
            for r in results:
                print_deposit(r)
        shared.exit_if_pending(results)
        return
    if not paths and from_list is None:
        raise UsageError(_("give files or folders to deposit (or --from-list FILE)"))
    if out is None:
        raise UsageError(_("give the package to write with -o OUT.evp"))
    if any(a.startswith("evm:") for a in anchor or []):
        require_chain_support()
    statement = shared.statement_options(
        ctx, case, depositor, note, sign=sign, key=key, passphrase_env=passphrase_env, passphrase_file=passphrase_file
    )
    sources = SourceOptions(
        tuple(paths or []), from_list, follow_symlinks, hash_only, strict, offline, dkim_keys, parse_size(max_size)
    )
    services = shared.service_options(tsa, anchor, tsa_quorum, contract)
    opts = DepositOptions.of(out, sources, statement, services, force=force)
    if case:  # the hint is for a case deposit only; its module (~1 ms) is not loaded for the others
        from ..timestamp.catalogue import embedded_only_hint

        if hint := embedded_only_hint(opts.tsas, opts.anchors):
            typer.echo(hint, err=True)
    with progress_callback("hashing") as progress:
        result = run_deposit(opts, ctx, progress)
    if as_json:
        print_json(result.to_json())
    else:
        print_deposit(result)
    shared.exit_if_pending([result])


@app.command()
def verify(
    package: Path = typer.Argument(..., help="The evidence package (.evp)."),
    data: list[Path] = typer.Option(
        None, "--data", help="Originals of a --hash-only deposit: files or folders (recursive); repeatable."
    ),
    trust: list[str] = typer.Option(None, "--trust", help=TRUST_HELP),
    online: bool = typer.Option(
        False,
        "--online",
        help="Re-check anchors: chains through your own nodes (--rpc, [chain.NAME]), the local ledger.",
    ),
    rpc: list[str] = typer.Option(
        None, "--rpc", help="JSON-RPC node you trust for --online (never the one a receipt names); repeatable."
    ),
    expect_signer: str | None = typer.Option(
        None, "--expect-signer", help="Accept only this signer: SHA-256 fingerprint (certificate or key) or name."
    ),
    require_independent: bool = typer.Option(
        False, "--require-independent", help="INDETERMINATE unless a third-party TSA or chain attests the time."
    ),
    public_tsa_roots: bool = typer.Option(
        False,
        "--public-tsa-roots",
        help="Also trust public root CAs as TSA roots (config [trust] public_tsa_bundle, else the system bundle).",
    ),
    offline: bool = typer.Option(
        False, "--offline", help="Never use the network (the default for everything but --online)."
    ),
    report: Path | None = typer.Option(None, "--report", help="Also write the verification report (.pdf or .html)."),
    lang: str | None = typer.Option(
        None, "--lang", help="Language of messages and of --report: zh or en (--report defaults to zh)."
    ),
    summary: bool = typer.Option(
        False, "--summary", help=f"Counts and the checks that did not pass (the default above {SUMMARY_ABOVE})."
    ),
    full: bool = typer.Option(False, "--full", help="Every check, however many."),
    as_json: bool = JSON_OPT,
) -> None:
    """Verify a package: digests, inclusion proofs, timestamps, anchors and signature; exit 0/1/3.

    Example: evidencectl verify case-42.evp --trust tsa:tsa-root.pem --json
    """
    from .. import TrustStore
    from .. import verify as verify_package
    from ..errors import DataNotFoundError, UsageError

    if online and offline:
        raise UsageError(_("--online and --offline contradict each other"))
    if summary and full:
        raise UsageError(_("--summary and --full contradict each other"))
    if report is not None:
        report_format(report)
    for p in data or []:
        if not p.exists():
            raise DataNotFoundError("--data: no such file or folder", path=p)
    if rpc and not online:
        raise UsageError(_("--rpc names the node to ask online: add --online"))
    ctx = Context.default()
    store = TrustStore.for_verification(
        ctx, list(trust or []), public_tsa_roots=public_tsa_roots, rpc=list(rpc or []), expect_signer=expect_signer
    )
    require = True if require_independent else None  # None: as config.toml's [verify] says
    with progress_callback("verifying") as progress:
        result = verify_package(
            package,
            data=list(data or []),
            trust=store,
            online=online,
            context=ctx,
            require_independent=require,
            progress=progress,
        )
        if report is not None:
            from ..config import report_settings
            from ..report import write_verification_report

            if progress is not None:
                progress.phase(_("writing {name}").format(name=report.name))
            settings = report_settings(ctx.config)  # the context's: config.toml is not read again
            write_verification_report(result, report, lang=document_language(lang), settings=settings)
    if report is not None:
        sys.stderr.write(_("wrote {report}\n").format(report=report))
    record_event(ctx, result.deposit_id, "verify", {"package": str(package), "verdict": result.verdict.value})
    if as_json:
        from ..verify import write_json

        write_json(result, sys.stdout)  # print_json's characters, without the whole document in memory
    else:
        print_report(result, summary=True if summary else False if full else None)
    raise typer.Exit(int(result.verdict.exit_code))


@app.command()
def inspect(
    package: Path = typer.Argument(..., help="The evidence package (.evp)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Show what a package holds: statement, items with metadata, roots, proofs (no verification).

    Example: evidencectl inspect case-42.evp --json
    """
    from ..package.inspect import read_manifest

    manifest, members = read_manifest(package)
    if as_json:
        from ..package.inspect import member_table

        print_json({**manifest, "members": member_table(package, manifest)})
    else:
        print_manifest(manifest, members)
        from .custody import proven_time_line

        console().print(proven_time_line(package, Context.default()))


@app.command()
def extract(
    package: Path = typer.Argument(..., help="The evidence package (.evp)."),
    item: list[str] = typer.Option(..., "--item", help="Name of an item to disclose; repeatable."),
    out: Path = typer.Option(..., "-o", "--output", help="The new package holding only those items."),
    force: bool = typer.Option(False, "--force", help="Replace an existing output."),
    as_json: bool = JSON_OPT,
) -> None:
    """Write a package that discloses only the named items, with their proofs, timestamps and anchors.

    Example: evidencectl extract case-42.evp --item contract.pdf -o contract-only.evp
    """
    from ..package.extract import extract_items

    warnings: list[str] = []
    written = extract_items(package, item, out, force=force, warnings=warnings)
    record_event(
        Context.default(),
        _deposit_id_of(out),
        "extract",
        {"package": str(package), "output": str(out), "items": written},
    )
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)
    if as_json:
        print_json({"package": str(out), "items": written})
    else:
        from rich.markup import escape

        line = ngettext(
            "Wrote {out} disclosing {n} item(s): {items}", "Wrote {out} disclosing {n} item(s): {items}", len(written)
        )
        console().print(escape(visible(line.format(out=out, n=len(written), items=", ".join(written)))))


@app.command()
def cases(as_json: bool = JSON_OPT) -> None:
    """List the deposits recorded in the local registry.

    Example: evidencectl cases --json
    """
    from ..registry import Registry

    ctx = Context.default()  # one context: the registry and every row's trust read config.toml once
    registry = Registry.open(ctx)
    rows = registry.deposits()
    registry.close()
    out = [
        {
            **{k: r[k] for k in ("deposit_id", "created", "case_no", "depositor", "item_count", "package")},
            "status": package_state(r),
        }
        for r in rows
    ]
    from .custody import add_proven_times

    add_proven_times(out, ctx, rows)
    if as_json:
        print_json({"deposits": out})
        return
    if not out:
        console().print(
            _("No deposits recorded yet in {home}. Make one with: evidencectl deposit FILE -o OUT.evp").format(
                home=ctx.base
            )
        )
        return
    console().print(deposit_table(out, console().width), soft_wrap=False)  # long lines fold, never cut


def _deposit_id_of(package: Path) -> str | None:
    """The deposit id of a package just written (for its custody event), None if it cannot be read."""
    from ..errors import EvidenceError
    from ..package.reader import PackageReader

    try:
        with PackageReader(package) as reader:
            return str(reader.read_json("manifest.json")["deposit_id"])
    except (EvidenceError, OSError, KeyError, TypeError):
        return None


@app.command()
def log(
    deposit_id: str | None = typer.Option(None, "--deposit", help="Only this deposit's events."),
    verify_chain: bool = typer.Option(False, "--verify", help="Check the custody log's hash chain; exit 1 if broken."),
    packages: list[Path] = typer.Argument(None, help="With --verify --against: the packages to check against."),
    against: bool = typer.Option(
        False, "--against", help="With --verify: every custody head the PACKAGES vouch for must still be in the log."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Show the custody log (append-only, hash-chained), or check it with --verify.

    Example: evidencectl log --verify --against case-42.evp
    """
    from ..registry import Registry
    from .custody import against_usage

    against_usage(list(packages or []), against, verify_chain)

    ctx = Context.default()
    registry = Registry.open(ctx)
    try:
        if verify_chain:
            audit = registry.verify_custody()
            doc: dict[str, Any] = {
                "ok": audit.ok,
                "entries": audit.entries,
                "first_break": audit.first_break,
                "reason": audit.reason,
            }
            from .custody import against_heads

            problems = against_heads(ctx, registry, list(packages or []) if against else [], doc)
            if as_json:
                print_json(doc)
            elif audit.ok:
                console().print(
                    _("custody log intact: {entries} entries, every link checked").format(entries=audit.entries)
                )
            else:
                console().print(
                    _("custody log BROKEN at entry {first_break}: {reason}").format(
                        first_break=audit.first_break, reason=audit.reason
                    )
                )
            raise typer.Exit(0 if audit.ok and not problems else 1)
        entries = registry.custody(deposit_id)
        if deposit_id and not entries and registry.deposit(deposit_id) is None:
            from ..errors import NotFoundError

            raise NotFoundError(
                _("no deposit {deposit_id!r} in the registry of {home} (evidencectl cases lists them)").format(
                    deposit_id=deposit_id, home=ctx.base
                )
            )
    finally:
        registry.close()
    if as_json:
        print_json({"entries": entries})
        return
    for e in entries:
        sys.stdout.write(
            # Who made the change ("-" for entries from before users, and the depositor's own CLI deposits).
            visible(f"{e['seq']:>6} {e['time']} {e['event']:<16} {e.get('actor') or '-'} {e['deposit_id'] or '-'} ")
            + visible(json.dumps(e["detail"], ensure_ascii=False)[:120])
            + "\n"
        )
