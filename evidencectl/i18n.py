"""The language of what evidencectl says to people: English or Chinese, from gettext catalogs.

Messages are marked ``_("…")`` (and :func:`ngettext` for counts) where they are written; the Chinese
catalog is ``locale/zh_CN/LC_MESSAGES/evidencectl.mo``, read with the standard library's :mod:`gettext`
(Babel only builds and checks the catalogs: docs/user-guide.md, "Language"). click's and typer's own words
("Usage:", "Missing argument", "Did you mean") come from a second catalog, domain ``click``, installed into
those modules.

The command line chooses the language once, at start-up, before typer builds its help texts:
``--lang zh|en``, else ``$EVIDENCECTL_LANG``, else ``[cli] lang`` of config.toml, else a locale
(``LC_ALL``, ``LC_MESSAGES``, ``LANG``) starting with ``zh``, else English. The library used on its own
speaks English until :func:`set_language` is called. Only human text changes: JSON keys, check names,
machine ``reason``\\ s, error ``code``\\ s and exit codes are the same in both languages.
"""

from __future__ import annotations

import gettext as _gettext
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

LANGUAGES = ("en", "zh")
LANG_ENV = "EVIDENCECTL_LANG"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "evidencectl"
CLICK_DOMAIN = "click"

_NULL = _gettext.NullTranslations()
_current: _gettext.NullTranslations = _NULL
_language = "en"
_explicit = False
_click_original: tuple[object, object] | None = None


def _(message: str) -> str:
    """``message`` in the chosen language (unchanged in English or when the catalog lacks it)."""
    return _current.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n`` in the chosen language."""
    return _current.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for the catalog without translating it here (it is translated where shown)."""
    return message


def language() -> str:
    """The language in use: ``"en"`` or ``"zh"``."""
    return _language


def explicit() -> bool:
    """Whether the language was asked for (``--lang``, ``$EVIDENCECTL_LANG`` or config), not guessed from a locale."""
    return _explicit


def normalise(value: object) -> str | None:
    """``"zh"`` or ``"en"`` for a language name (``zh_CN.UTF-8``, ``zh-Hans``, ``en_US``), None for others."""
    if not isinstance(value, str):
        return None
    v = value.strip().lower()
    if v.startswith("zh"):
        return "zh"
    if v.startswith("en") or v in ("c", "posix"):
        return "en"
    return None


def _from_argv(argv: Sequence[str]) -> str | None:
    """The value of the last ``--lang X`` / ``--lang=X`` before ``--`` (root or sub-command option)."""
    found = None
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(argv):
            found = argv[i + 1]
        elif arg.startswith("--lang="):
            found = arg[len("--lang=") :]
    return normalise(found) if found is not None else None


def _from_config() -> str | None:
    """``[cli] lang`` of config.toml, read without creating the data directory; tomllib is loaded only when
    the file mentions ``lang`` at all, so that start-up stays fast."""
    env = os.environ.get("EVIDENCECTL_HOME")
    if env:
        path = Path(env).expanduser() / "config.toml"
    elif sys.platform.startswith("linux"):  # what platformdirs says there, without loading it
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(base) / "evidencectl" / "config.toml"
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("evidencectl", appauthor=False)) / "config.toml"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if "lang" not in text:
        return None
    import tomllib

    try:
        section = tomllib.loads(text).get("cli", {})
    except tomllib.TOMLDecodeError:
        return None  # the command that reads the configuration reports it, in the language chosen here
    return normalise(section.get("lang")) if isinstance(section, dict) else None


def _from_locale() -> str | None:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:  # POSIX: the first one set decides
            return "zh" if value.lower().startswith("zh") else None
    return None


def choose(argv: Sequence[str]) -> tuple[str, bool]:
    """The language for a command line ``argv`` and whether it was asked for explicitly."""
    lang = _from_argv(argv) or normalise(os.environ.get(LANG_ENV)) or _from_config()
    if lang is not None:
        return lang, True
    return _from_locale() or "en", False


def set_language(lang: str, *, explicit: bool = True) -> None:
    """Speak ``lang`` (``"zh"`` or ``"en"``) from now on, evidencectl's messages and click's."""
    global _current, _language, _explicit
    _language = lang if lang in LANGUAGES else "en"
    _explicit = explicit
    if _language == "zh":
        _current = _gettext.translation(DOMAIN, LOCALE_DIR, languages=["zh_CN"], fallback=True)
    else:
        _current = _NULL
    _install_for_click()


def setup(argv: Sequence[str] | None = None) -> str:
    """Choose the language of a command line (default: ``sys.argv``) and use it; return it."""
    lang, asked = choose(sys.argv[1:] if argv is None else argv)
    set_language(lang, explicit=asked)
    return lang


_CLICK_MODULES = (
    "click.core",
    "click.decorators",
    "click.exceptions",
    "click.formatting",
    "click.parser",
    "click.shell_completion",
    "click.termui",
    "click.types",
    "click.utils",
    "typer.core",
    "typer.rich_utils",
)


def _install_for_click() -> None:
    """Give click and typer the ``click`` catalog of the chosen language.

    Both bind ``from gettext import gettext as _`` when imported, and typer's rich help sets panel titles
    at its (late) import: the loaded modules get the translating functions in their globals, and
    :mod:`gettext`'s own functions are replaced too (falling back to the originals for any other message)
    so that modules imported later bind them.
    """
    global _click_original
    if _click_original is None:
        _click_original = (_gettext.gettext, _gettext.ngettext)
    original_gettext, original_ngettext = _click_original
    if _language == "en":
        tr_gettext, tr_ngettext = original_gettext, original_ngettext
    else:
        catalog = _gettext.translation(CLICK_DOMAIN, LOCALE_DIR, languages=["zh_CN"], fallback=True)
        catalog.add_fallback(_Original())

        tr_gettext, tr_ngettext = catalog.gettext, catalog.ngettext
    _gettext.gettext = tr_gettext  # type: ignore[assignment]
    _gettext.ngettext = tr_ngettext  # type: ignore[assignment]
    for name in _CLICK_MODULES:
        module: ModuleType | None = sys.modules.get(name)
        if module is None:
            continue
        if "_" in vars(module):
            module._ = tr_gettext  # type: ignore[attr-defined]
        if "ngettext" in vars(module):
            module.ngettext = tr_ngettext  # type: ignore[attr-defined]
        if name == "typer.rich_utils":
            _retitle(module, tr_gettext)
    _wrap_chinese(_language == "zh")


_OPEN = "（《“‘「『【"
_CLOSE = "）》”’」』】，。；：、！？…"
_LETTER = "\u2e80-\u2fff\u3040-\u9fff\uf900-\ufaff\uff10-\uff5a"
_CJK = _LETTER + "\u3000-\u303f\uff00-\uffef“”‘’…"
_CJK_WORD = rf"\s*(?:[{_OPEN}]*[{_LETTER}][{_CLOSE}]*|[^\s{_CJK}]+[{_CLOSE}]*|[{_CJK}])\s*"
_rich_word: object = None


def _wrap_chinese(on: bool) -> None:
    """Let rich break Chinese help text between characters, as Chinese is set (never before a closing
    punctuation mark): rich breaks only at spaces, and cuts a longer run with an ellipsis."""
    global _rich_word
    if not on and _rich_word is None:
        return  # English and rich untouched: nothing to load
    import re

    import rich._wrap

    if _rich_word is None:
        _rich_word = rich._wrap.re_word
    rich._wrap.re_word = re.compile(_CJK_WORD) if on else _rich_word  # type: ignore[assignment]


_RICH_CONSTANTS = {
    "DEPRECATED_STRING": "(deprecated) ",
    "DEFAULT_STRING": "[default: {}]",
    "ENVVAR_STRING": "[env var: {}]",
    "REQUIRED_LONG_STRING": "[required]",
    "ARGUMENTS_PANEL_TITLE": "Arguments",
    "OPTIONS_PANEL_TITLE": "Options",
    "COMMANDS_PANEL_TITLE": "Commands",
    "ERRORS_PANEL_TITLE": "Error",
    "ABORTED_TEXT": "Aborted.",
    "RICH_HELP": "Try [blue]'{command_path} {help_option}'[/] for help.",
}


def _retitle(module: ModuleType, tr: object) -> None:
    """typer.rich_utils's titles, set once at its import, set again in the chosen language."""
    for attr, msgid in _RICH_CONSTANTS.items():
        if hasattr(module, attr) and callable(tr):
            setattr(module, attr, tr(msgid))


class _Original(_gettext.NullTranslations):
    """What the standard library's gettext would have said: the fallback for messages not in our catalog."""

    def gettext(self, message: str) -> str:
        assert _click_original is not None
        return _click_original[0](message)  # type: ignore[operator,no-any-return]

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        assert _click_original is not None
        return _click_original[1](msgid1, msgid2, n)  # type: ignore[operator,no-any-return]


def pgettext(context: str, message: str) -> str:
    """``message`` in the chosen language, as meant in ``context`` (a verdict "PASSED" is not a check's)."""
    return _current.pgettext(context, message)


def document_language(given: str | None) -> str:
    """The language of a report or certificate: ``--lang`` of the command, else the language of the messages
    when it was asked for (root ``--lang``, ``$EVIDENCECTL_LANG``, config), else Chinese, the courts'."""
    if given is not None:
        return normalise(given) or given
    return _language if _explicit else "zh"
