"""The options ``deposit`` and ``capture`` share: the statement (case, depositor, note, signing key) and the
services (TSAs, quorum, anchors, contract), declared once and turned into the library's option parts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..i18n import _

if TYPE_CHECKING:  # the deposit package is loaded by the command that runs, not by --help
    from .. import DepositResult, ServiceOptions, StatementOptions
    from ..context import Context

CASE = typer.Option(None, "--case", help="Case number, e.g. （2026）渝0103民初1234号.")
DEPOSITOR = typer.Option(None, "--depositor", help="Who deposits the evidence.")
NOTE = typer.Option(None, "--note", help="A note recorded in the deposit statement.")
TSA = typer.Option(
    None, "--tsa", help="TSA: 'local' (embedded, default), a public TSA's name (see 'tsa list') or a URL; repeatable."
)
TSA_QUORUM = typer.Option(1, "--tsa-quorum", help="How many TSAs must answer.")
ANCHOR = typer.Option(None, "--anchor", help="'local' (embedded ledger, default) or evm:RPC-URL; repeatable.")
CONTRACT = typer.Option(
    None, "--contract", help="EvidenceRegistry address for evm: anchors (instead of the remembered one)."
)
SIGN = typer.Option(False, "--sign", help="Sign manifest.json with your key (see 'keys generate').")
KEY = typer.Option(None, "--key", help="Sign with this key file instead of the key store.")
PASSPHRASE_ENV = typer.Option(None, "--passphrase-env", help="Environment variable holding the passphrase.")
PASSPHRASE_FILE = typer.Option(None, "--passphrase-file", help="File holding the passphrase.")


def statement_options(
    ctx: Context,
    case: str | None,
    depositor: str | None,
    note: str | None,
    *,
    sign: bool,
    key: Path | None,
    passphrase_env: str | None,
    passphrase_file: Path | None,
) -> StatementOptions:
    """The statement part, with the signing identity (key, certificate and the certificates above it) loaded
    when ``--sign`` or ``--key`` asks for one; a ``--depositor`` the certificate does not name is a warning."""
    from .. import StatementOptions

    sign_key, cert, chain = None, None, list[bytes]()
    if sign or key is not None:
        from ..crypto.depositor import load_signing_chain, name_mismatch

        sign_key, cert, chain = load_signing_chain(ctx, key, passphrase_env, passphrase_file)
        if (warning := name_mismatch(depositor, cert)) is not None:
            from ..display import visible

            typer.echo(_("warning: {warning}").format(warning=visible(warning)), err=True)
    return StatementOptions(case, depositor, note, sign_key, cert, tuple(chain))


def service_options(
    tsa: list[str] | None, anchor: list[str] | None, tsa_quorum: int, contract: str | None
) -> ServiceOptions:
    """The services part (``local`` TSA and anchor when none is given)."""
    from .. import ServiceOptions

    return ServiceOptions(tuple(tsa or ["local"]), tuple(anchor or ["local"]), tsa_quorum, contract)


def exit_if_pending(results: list[DepositResult]) -> None:
    """A pending deposit is a result, not an error: once it is printed, each gets its one line on stderr and
    the command exits 5 (ExitCode.SERVICE), as DESIGN §7 says for a service that is down."""
    from ..errors import ExitCode

    pending = [r for r in results if r.status == "pending"]
    for r in pending:
        sys.stderr.write(_("evidencectl: error: {pending_message}\n").format(pending_message=r.pending_message()))
    if pending:
        raise typer.Exit(int(ExitCode.SERVICE))
