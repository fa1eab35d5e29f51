"""The ``evidencectl`` command: typer apps only; the library does the work, this module renders it.

Every library error is mapped to its exit code here, in one place; no traceback reaches a user
without ``--debug``.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import click
import typer

from .. import i18n
from ..display import visible
from ..errors import EvidenceError, ExitCode, UsageError
from ..i18n import _
from ..version import __version__
from . import helprender
from .app import app
from .extras import missing_dependency
from .groups import add_groups, group_names, load, loaded
from .helptext import escape_help_markup

# The command groups are registered in their place but imported when first used (cli/groups.py).
add_groups(app)

from . import commands as _commands  # noqa: E402,F401  (registers deposit, verify, inspect…)

# Top-level commands that live in their own modules expose ``register(app)``.
for _module in ("report_cmd", "capture_cmd", "serve_cmd", "setup_cmd"):
    if (_mod := load(_module)) is not None:
        _mod.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"evidencectl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of unexpected errors."),
    lang: str | None = typer.Option(
        None, "--lang", help="Language of messages and help: zh or en (else $EVIDENCECTL_LANG, [cli] lang, the locale)."
    ),
) -> None:
    """evidencectl: fix evidence so that a court can verify it, offline, years later."""
    if lang is not None and i18n.normalise(lang) is None:
        raise UsageError(_("unknown --lang {value!r}: use zh or en").format(value=lang))


# After the root callback, whose options have help too; the groups not imported yet are escaped when they are.
_all_groups = list(app.registered_groups)
app.registered_groups[:] = [group for group in _all_groups if loaded(group)]
escape_help_markup(app)
app.registered_groups[:] = _all_groups

_COMPLETE_VAR = "_EVIDENCECTL_COMPLETE"
"""What typer's shell completion reads (``_{PROG_NAME}_COMPLETE``): set, the whole tree is needed."""


def command_name(info: typer.models.CommandInfo) -> str:
    """The name ``info`` is invoked by, as typer gives it (its own, else its function's, with dashes)."""
    return info.name or typer.main.get_command_name(getattr(info.callback, "__name__", ""))


def _app_for(argv: list[str]) -> typer.Typer:
    """The typer app to run ``argv`` with: ``app`` with only the top-level command that ``argv`` starts with.

    typer builds the click command of every command and group of the app it is called on: ~13 ms of CPU time
    for evidencectl's 33 commands in 9 groups, against ~2.5 ms for ``deposit`` alone, paid by every run before
    it does anything (benchmarks/README.md, "Building one command"). When the first word names a top-level
    command, nothing of the rest of the tree can be reached: the root's options come before the command
    name, a group is named first, and only help, shell completion and the suggestion for an unknown command
    look at the other commands. Those, and any command line that might be one of them, get the whole app.
    The copy keeps the root callback (``--version``, ``--debug``, ``--lang``) and the completion options, so
    the root group is built as it always is, with one command in it; tests/test_cli_fastbuild.py compares
    the two for every top-level command.
    """
    if not argv or helprender.asks_help(argv) or _COMPLETE_VAR in os.environ:
        return app
    for info in app.registered_commands:
        if info.callback is not None and command_name(info) == argv[0]:
            one = copy.copy(app)
            one.registered_commands = [info]
            one.registered_groups = []
            return one
    return app  # an option first, a group, or an unknown name (whose message suggests the close ones)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    sys.stderr.write(_("evidencectl: warning: {message}").format(message=message) + "\n")


def _wants_json(args: list[str]) -> bool:
    return "--json" in args


def _error_json(message: str, code: str, exit_code: int) -> None:
    """The error document of ``schemas/error.schema.json``: the line, a stable ``code``, the exit code."""
    doc = {"error": message, "code": code, "exit_code": exit_code}
    sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")


def error_line(exc: EvidenceError) -> str:
    """The one line a user sees for ``exc``: parsers of hostile input (asn1crypto among them) put line
    breaks in their messages, and a refusal must stay one line for scripts that read stderr."""
    return " ".join(exc.diagnostics().split())


def _usage_error(exc: Any, argv: list[str]) -> int:
    exc.show()
    if _wants_json(argv):
        _error_json(" ".join(exc.format_message().split()), "USAGE", ExitCode.USAGE)
    return int(ExitCode.USAGE)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill``, a service manager stopping a job) is handled as Ctrl-C is: staging files and
    partial outputs are removed on the way out instead of being left behind by a silent death."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(args: list[str] | None = None) -> int:
    """Run the command line with ``args`` (default: sys.argv[1:]); return the exit code."""
    with _terminate_as_interrupt():
        return _main(args)


def _main(args: list[str] | None) -> int:
    argv = list(sys.argv[1:] if args is None else args)
    # Help texts were translated at start-up; what this run prints follows its own arguments.
    i18n.setup(argv)
    debug = "--debug" in argv
    # Library warnings (an unencrypted key file, unreadable metadata) reach the user as one plain line.
    warnings.showwarning = _show_warning
    try:
        typer_app = _app_for(argv)
        # A top-level command built alone prints no help (it was not asked for); the whole tree may.
        if typer_app is app and helprender.help_likely(argv, group_names(app)):  # imports the groups
            helprender.load()  # typer's help renderer without rich's Markdown and Traceback (~60 ms)
        result: Any = typer_app(args=argv, prog_name="evidencectl", standalone_mode=False)
        if result == ExitCode.INTERRUPTED:  # typer turns Ctrl-C into a silent exit code 130
            sys.stderr.write(_("evidencectl: interrupted; nothing partial was left at the output path") + "\n")
        return int(result or 0)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        sys.stderr.write(_("evidencectl: interrupted") + "\n")
        if _wants_json(argv):
            _error_json("interrupted", "INTERRUPTED", ExitCode.INTERRUPTED)
        return int(ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        return _usage_error(exc, argv)
    except KeyboardInterrupt:
        sys.stderr.write(_("evidencectl: interrupted; nothing partial was left at the output path") + "\n")
        return int(ExitCode.INTERRUPTED)
    except EvidenceError as exc:
        if debug:
            raise
        return _evidence_error(exc, argv)
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the one place unexpected errors become one line
        if callable(getattr(exc, "format_message", None)) and callable(getattr(exc, "show", None)):
            return _usage_error(exc, argv)  # a usage error from a typer that carries its own click
        if debug:
            raise
        if isinstance(exc, ModuleNotFoundError) and (missing := missing_dependency(exc)) is not None:
            return _evidence_error(missing, argv)
        what = " ".join(str(exc).split())
        line = _("evidencectl: error: unexpected {kind}: {what} (rerun with --debug)")
        sys.stderr.write(line.format(kind=type(exc).__name__, what=what) + "\n")
        if _wants_json(argv):
            _error_json(f"unexpected {type(exc).__name__}: {what}", "UNEXPECTED", ExitCode.BAD_INPUT)
        return int(ExitCode.BAD_INPUT)


def _evidence_error(exc: EvidenceError, argv: list[str]) -> int:
    line = error_line(exc)
    sys.stderr.write(
        _("evidencectl: error: {message}").format(message=visible(line)) + "\n"
    )  # the name in it is the adversary's
    if _wants_json(argv):
        _error_json(line, exc.code, exc.exit_code)
    return int(exc.exit_code)


def run() -> None:
    """Console-script entry point: run the command line, then leave at once (:mod:`.fastexit`)."""
    from .fastexit import leave

    leave(main())
