"""Help text shown as written, in the chosen language: typer renders help through rich markup, which takes
``[evm]`` or ``[trust]`` (config.toml section names) for style tags and drops them. Every help string is
translated (:mod:`evidencectl.i18n`, the language having been chosen before) and escaped once, at start-up.

The help texts stay plain strings where they are declared; :data:`DECLARED` lists them all for the catalog
(``scripts/catalog.py``)."""

from __future__ import annotations

import inspect
import re
from typing import Any

import typer

from ..i18n import _

# The pattern rich.markup.escape uses: an opening bracket followed by what could start a tag. Copied as a
# pattern rather than imported, so that a command which never shows help does not load rich.
_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")


def escape_markup(text: str) -> str:
    """``text`` with every ``[tag]`` escaped so that rich prints it literally."""
    escaped = _TAG.sub(lambda m: f"{m.group(1)}{m.group(1)}\\{m.group(2)}", text)
    return escaped + "\\" if escaped.endswith("\\") and not escaped.endswith("\\\\") else escaped


DECLARED: list[str] = []
"""Every help text as declared, in the order met: the msgids of the help part of the catalog."""


def _shown(text: str) -> str:
    """``text`` translated, then escaped; the declared text is kept in :data:`DECLARED`."""
    DECLARED.append(text)
    return escape_markup(_(text))


def _escape_params(callback: Any, seen: set[int]) -> None:
    """Escape the help of each option and argument declared in ``callback``'s signature."""
    if callback is None:
        return
    for param in inspect.signature(callback).parameters.values():
        info = param.default
        # Option objects may be shared by several commands (one --json option): each is escaped once.
        if isinstance(info, typer.models.ParameterInfo) and id(info) not in seen and isinstance(info.help, str):
            seen.add(id(info))
            info.help = _shown(info.help)


def _doc(given: Any, callback: Any) -> str | None:
    text = given if isinstance(given, str) else (inspect.getdoc(callback) if callback is not None else None)
    return None if text is None else _shown(text)


_COMPLETION_FUNCTIONS = ("_install_completion_placeholder_function", "_install_completion_no_auto_placeholder_function")

_ESCAPED: set[int] = set()
"""What was escaped already (apps, shared option objects, typer's completion options): the groups are
escaped when first used (cli/groups.py), after the rest of the app, and each text must be escaped once."""


def escape_help_markup(app: typer.Typer, seen: set[int] | None = None) -> None:
    """Escape the help of every command, group and parameter of ``app`` (and of its sub-groups), once."""
    if seen is None:
        seen = _ESCAPED
        # typer's own --install-completion and --show-completion, declared like ours in typer.completion
        from typer import completion

        if id(completion) not in seen:
            seen.add(id(completion))
            for name in (
                "_install_completion_placeholder_function",
                "_install_completion_no_auto_placeholder_function",
            ):
                _escape_params(getattr(completion, name, None), seen)
    if id(app) in seen:
        return
    seen.add(id(app))
    if isinstance(app.info.help, str):
        app.info.help = _shown(app.info.help)
    if app.registered_callback is not None:
        cb = app.registered_callback
        if isinstance(cb.help, str) or not isinstance(app.info.help, str):  # keep typer's order of precedence
            cb.help = _doc(cb.help, cb.callback)
        _escape_params(cb.callback, seen)
    for command in app.registered_commands:
        command.help = _doc(command.help, command.callback)
        _escape_params(command.callback, seen)
    for group in app.registered_groups:
        if isinstance(group.help, str):
            group.help = _shown(group.help)
        if group.typer_instance is not None:
            escape_help_markup(group.typer_instance, seen)
