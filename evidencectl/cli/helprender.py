"""typer's help renderer loaded without the two rich modules evidencectl's help never uses.

``typer.rich_utils`` (typer < 0.26, pinned in pyproject.toml) imports ``rich.markdown`` and
``rich.traceback`` at its top, for the ``markdown`` markup mode and for pretty tracebacks; with them come
markdown-it, pygments (``rich.syntax``), ``rich.pretty`` and attrs. evidencectl uses neither: its help is
rich markup, escaped once (:mod:`.helptext`), and pretty exceptions are off (:mod:`.app`), an unexpected
error being one line (:mod:`.main`). Leaving them out takes about 58 ms of CPU time off every ``--help``
(212 -> 154 ms, median of 15 alternating runs; benchmarks/README.md, "Start-up, issue 16").

While :func:`load` imports ``typer.rich_utils``, each of the two modules is a stand-in holding one class
(``Markdown``, ``Traceback``) that imports the real module and uses the real class when it is first called
or asked for an attribute; once the import is done the stand-ins leave ``sys.modules``, so that any later
``import rich.markdown`` gets the real module. The output is rich's own either way: tests/test_startup.py
compares the help of every command rendered with and without :func:`load`.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Sequence
from typing import Any

_DEFERRED = {"rich.markdown": "Markdown", "rich.traceback": "Traceback"}
"""Modules ``typer.rich_utils`` imports at its top but uses only in modes evidencectl never turns on."""

HELP_OPTIONS = ("-h", "--help")
"""The help options (cli/app.py: ``help_option_names``)."""


class _Deferred(type):
    """The type of a stand-in class: calling it, or reading an attribute of it, uses the real class."""

    _module: str

    def _real(cls) -> Any:
        return getattr(importlib.import_module(cls._module), cls.__name__)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls._real()(*args, **kwargs)

    def __getattr__(cls, name: str) -> Any:
        return getattr(cls._real(), name)


def load() -> None:
    """Import ``typer.rich_utils`` with ``rich.markdown`` and ``rich.traceback`` deferred (once)."""
    if "typer.rich_utils" in sys.modules:
        return
    stand_ins: dict[str, types.ModuleType] = {}
    for module, name in _DEFERRED.items():
        if module not in sys.modules:
            stand_in = types.ModuleType(module, f"Stand-in for {module} while typer.rich_utils is imported.")
            setattr(stand_in, name, _Deferred(name, (), {"_module": module}))
            stand_ins[module] = stand_in
    sys.modules.update(stand_ins)
    try:
        importlib.import_module("typer.rich_utils")
    except ImportError:
        pass  # a typer that wants more of those modules than the stand-ins hold: imported in full below
    finally:
        for module, stand_in in stand_ins.items():
            if sys.modules.get(module) is stand_in:
                del sys.modules[module]
    importlib.import_module("typer.rich_utils")


def asks_help(argv: Sequence[str]) -> bool:
    """Whether ``-h`` or ``--help`` is among the words of ``argv`` before ``--``."""
    words = argv[: list(argv).index("--")] if "--" in argv else argv
    return any(word in HELP_OPTIONS for word in words)


def help_likely(argv: Sequence[str], groups: Sequence[str]) -> bool:
    """Whether this command line most likely prints help: no argument, ``-h``/``--help`` before ``--``, or
    a command group named last (groups print their help when given no command).

    A wrong guess costs time only: help rendered without :func:`load` having run imports typer's renderer
    in full and prints the same; a guess made for a command that prints no help loads ~30 ms of rich.
    """
    if not argv:
        return True
    words = list(argv[: list(argv).index("--")] if "--" in argv else argv)
    return asks_help(argv) or (bool(words) and words[-1] in groups)
