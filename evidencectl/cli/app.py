"""The ``evidencectl`` typer app, alone, so that command modules can register on it without importing
:mod:`.main` (which imports them)."""

import typer

from .. import i18n

# The language is chosen here, before any command module declares its help texts (evidencectl.i18n).
i18n.setup()

app = typer.Typer(
    name="evidencectl",
    help="Judicial e-evidence depositing (司法存证): hash with SM3 and SHA-256, timestamp (RFC 3161), "
    "anchor, and package evidence that anyone can verify offline.\n\n"
    "State (registry, embedded TSA and ledger, trust store, keys) lives in the data directory: "
    "$EVIDENCECTL_HOME, else ~/.local/share/evidencectl on Linux. Settings are read from config.toml there. "
    "'evidencectl config show' prints both; 'evidencectl doctor' checks the tools evidencectl uses.",
    no_args_is_help=True,
    add_completion=True,
    # click names the close command itself; typer's own suggestion would say it a second time.
    suggest_commands=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
