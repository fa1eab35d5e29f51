"""Build the message catalogs of evidencectl with Babel (a build and test tool, not a runtime dependency).

    python3 scripts/catalog.py extract   # evidencectl/locale/evidencectl.pot from the sources
    python3 scripts/catalog.py update    # merge the template into the zh_CN catalog (new msgids empty)
    python3 scripts/catalog.py compile   # the .mo files the command line reads (stdlib gettext)
    python3 scripts/catalog.py check     # exit 1 on a missing or untranslated msgid, or a stale .mo

The template holds two kinds of message: every ``_()``, ``ngettext()``, ``pgettext()`` and ``N_()`` in
evidencectl/ (Babel's Python extractor), and every help text of the command line (option help and command
docstrings, which stay plain strings where they are declared and are translated at start-up: they are read
from the typer app, evidencectl/cli/helptext.py). The ``click`` domain translates click's and typer's own
words; its msgids are extracted from the installed click and typer.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "evidencectl" / "locale"
TEMPLATE = LOCALE / "evidencectl.pot"
LANG = "zh_CN"
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}
Key = str | tuple[str, ...]


def po_path(domain: str) -> Path:
    """The catalog of ``domain`` for Chinese."""
    return LOCALE / LANG / "LC_MESSAGES" / f"{domain}.po"


def mo_path(domain: str) -> Path:
    """The compiled catalog of ``domain`` the command line reads."""
    return po_path(domain).with_suffix(".mo")


def _extract(root: Path) -> Iterable[tuple[Key, str | None, str]]:
    """(msgid or (singular, plural), context, location) of every marked message under ``root``."""
    for filename, lineno, message, _comments, context in extract_from_dir(
        root, method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        if isinstance(message, tuple):
            message = tuple(m for m in message if m is not None)
            if len(message) == 1:
                message = message[0]
        if message:
            yield message, context, f"{root.name}/{filename}:{lineno}"


def help_texts() -> list[str]:
    """Every help text of the command line, as declared (read from the typer app in English)."""
    argv, path = sys.argv, list(sys.path)
    sys.argv = ["evidencectl", "--lang", "en"]  # the declared texts are recorded whatever the language
    sys.path.insert(0, str(ROOT))
    try:
        import evidencectl.cli.main  # (builds the app; helptext records each text it translates)
        from evidencectl.cli.groups import group_names
        from evidencectl.cli.helptext import DECLARED

        group_names(evidencectl.cli.main.app)  # the groups are imported, and their texts recorded, when first used
    finally:
        sys.argv, sys.path[:] = argv, path
    return list(dict.fromkeys(DECLARED))


def template() -> Catalog:
    """The catalog template of the ``evidencectl`` domain, regenerated from the sources."""
    cat = Catalog(project="evidencectl", version="0.1.0", fuzzy=False)
    for message, context, where in _extract(ROOT / "evidencectl"):
        cat.add(message, locations=[(where, None)], context=context)
    for text in help_texts():
        if text not in cat:
            cat.add(text, auto_comments=["help text of the command line"])
    return cat


def click_template() -> Catalog:
    """click's and typer's own messages (domain ``click``), from the installed packages."""
    import click
    import typer

    cat = Catalog(project="click", fuzzy=False)
    for package in (click, typer):
        root = Path(package.__file__).parent
        for message, context, where in _extract(root):
            cat.add(message, locations=[(where, None)], context=context)
    return cat


def two_forms(cat: Catalog) -> Catalog:
    """Give ``cat`` two plural forms. Chinese has one, but click's singular and plural msgids name different
    placeholders ("{possibility}" / "{possibilities}"), so each needs a msgstr of its own."""
    cat._num_plurals, cat._plural_expr = 2, "(n != 1)"
    return cat


def read(domain: str) -> Catalog:
    """The Chinese catalog of ``domain`` as committed."""
    with po_path(domain).open("rb") as f:
        return two_forms(read_po(f, locale=LANG, domain=domain))


def write(cat: Catalog, path: Path, *, template: bool = False) -> None:
    """Write ``cat`` as a .po (or .pot) file, sorted so that diffs stay small."""
    buf = io.BytesIO()
    write_po(buf, cat, width=120, sort_output=True, omit_header=False, include_lineno=False, ignore_obsolete=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())


def compiled(cat: Catalog) -> bytes:
    """The .mo bytes of ``cat`` (untranslated and fuzzy entries left out: English is shown for them)."""
    buf = io.BytesIO()
    write_mo(buf, cat, use_fuzzy=False)
    return buf.getvalue()


def missing(pot: Catalog, po: Catalog) -> list[str]:
    """msgids of ``pot`` that ``po`` lacks, leaves empty or marks fuzzy."""
    out = []
    for msg in pot:
        if not msg.id:
            continue
        have = po.get(msg.id, context=msg.context)
        strings = have.string if have is not None else None
        empty = have is None or not (all(strings) if isinstance(strings, tuple | list) else strings)
        if empty or (have is not None and have.fuzzy):
            out.append(msg.id if isinstance(msg.id, str) else msg.id[0])
    return out


def main(argv: list[str]) -> int:
    """Run one of extract, update, compile, check."""
    what = argv[0] if argv else "check"
    pot = template()
    if what == "extract":
        write(pot, TEMPLATE, template=True)
        print(f"{TEMPLATE}: {len(pot)} msgids")
        return 0
    if what == "update":
        for domain, tmpl in (("evidencectl", pot), ("click", click_template())):
            po = read(domain) if po_path(domain).exists() else two_forms(Catalog(locale=LANG, domain=domain))
            po.update(tmpl, no_fuzzy_matching=True)
            write(po, po_path(domain))
            print(f"{po_path(domain)}: {len(po)} messages, {len(missing(tmpl, po))} untranslated")
        return 0
    if what == "compile":
        for domain in ("evidencectl", "click"):
            mo_path(domain).write_bytes(compiled(read(domain)))
            print(f"wrote {mo_path(domain)}")
        return 0
    bad = missing(pot, read("evidencectl")) + missing(click_template(), read("click"))
    stale = [d for d in ("evidencectl", "click") if mo_path(d).read_bytes() != compiled(read(d))]
    for m in bad:
        print(f"untranslated: {m!r}")
    for d in stale:
        print(f"out of date: {mo_path(d)} (run: python3 scripts/catalog.py compile)")
    return 1 if bad or stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
