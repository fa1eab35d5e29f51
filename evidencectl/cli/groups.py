"""The command groups of ``evidencectl`` (``keys``, ``trust``, ``tsa``…), each imported when it is first used.

A run of a top-level command (``deposit``, ``verify``) builds that command alone (:func:`.main._app_for`) and
never reaches a group: importing the seven group modules and escaping their help cost it ~3 ms of CPU time
before it does anything (benchmarks/README.md, "Building one command"). So each group is registered on the
app at its place, with typer's own settings for it, but its module is imported when its typer app is first
asked for: by typer building the whole tree (help, completion, a group's command, an unknown command), by
:func:`group_names`, or by any other reader of ``app.registered_groups``. Its help is then translated and
escaped (:mod:`.helptext`) in the language the app's own help was, so that what it shows does not depend
on when it was loaded.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import typer
from typer.models import TyperInfo

from .. import i18n
from .helptext import escape_help_markup

GROUPS = [
    ("keys", "keys_cmd", ()),
    ("trust", "trust_cmd", ()),
    ("timestamp", "timestamp_cmd", ("token_info_cmd",)),  # timestamp info lives in its own module
    ("tsa", "tsa_cmd", ()),
    ("ledger", "ledger_cmd", ()),
    ("chain", "chain_cmd", ()),
    ("users", "users_cmd", ()),
]
"""Name, module (each exposes a typer app named ``app``) and the modules that ``register`` more commands on it."""


def present(module: str) -> bool:
    """Whether the command module ``module`` of this package is part of this installation."""
    return importlib.util.find_spec(f"evidencectl.cli.{module}") is not None


def load(module: str) -> Any:
    """A command module of this package, or None when it is not part of this installation."""
    try:
        return importlib.import_module(f"evidencectl.cli.{module}")
    except ModuleNotFoundError as exc:
        if exc.name != f"evidencectl.cli.{module}":
            raise
        return None


_PENDING: dict[int, tuple[str, tuple[str, ...], tuple[str, bool]]] = {}
"""The groups not imported yet, by ``id`` of their :class:`_LazyGroup`: module, extra modules, language.
Kept out of the object itself, whose attributes typer reads as the group's settings (every one of them)."""


class _LazyGroup(TyperInfo):
    """A group of the app whose typer app is imported from its module when first asked for."""

    @property  # type: ignore[override]
    def typer_instance(self) -> typer.Typer | None:
        if (pending := _PENDING.pop(id(self), None)) is not None:
            self.__dict__["typer_instance"] = _open(*pending)
        instance: typer.Typer | None = self.__dict__.get("typer_instance")
        return instance

    @typer_instance.setter
    def typer_instance(self, value: typer.Typer | None) -> None:
        self.__dict__["typer_instance"] = value


def _open(module: str, extras: tuple[str, ...], language: tuple[str, bool]) -> typer.Typer:
    group: typer.Typer = load(module).app
    group.suggest_commands = False  # click names the close command itself (cli/app.py)
    for extra in extras:
        if (mod := load(extra)) is not None:
            mod.register(group)
    now = (i18n.language(), i18n.explicit())
    if now != language:
        i18n.set_language(language[0], explicit=language[1])
    try:
        escape_help_markup(group)
    finally:
        if now != language:
            i18n.set_language(now[0], explicit=now[1])
    return group


def add_groups(app: typer.Typer) -> None:
    """Register every group of :data:`GROUPS` that this installation has on ``app``, each to be imported
    when first used; their help will be in the language chosen now."""
    language = (i18n.language(), i18n.explicit())
    for name, module, extras in GROUPS:
        if not present(module):
            continue
        app.add_typer(None, name=name)  # type: ignore[arg-type]  # typer's own settings for a group
        info = app.registered_groups[-1]
        info.__class__ = _LazyGroup  # same attributes; ``typer_instance`` now imports the module when read
        _PENDING[id(info)] = (module, extras, language)


def loaded(group: TyperInfo) -> bool:
    """Whether ``group``'s typer app is there without importing anything."""
    return id(group) not in _PENDING


def group_names(typer_app: typer.Typer) -> list[str]:
    """The names of the command groups of ``typer_app`` and of their own groups (importing every group)."""
    names: list[str] = []
    for group in typer_app.registered_groups:
        if group.name:
            names.append(group.name)
        if group.typer_instance is not None:
            names.extend(group_names(group.typer_instance))
    return names
