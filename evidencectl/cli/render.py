"""Rendering for people (rich) and for scripts (one JSON document)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import IO, TYPE_CHECKING, Any

from ..display import visible, visible_all
from ..i18n import N_, _, language, ngettext, pgettext
from .progress_bar import StageProgress, TerminalProgress

if TYPE_CHECKING:
    from rich.console import Console

_STYLE = {"PASSED": "bold green", "FAILED": "bold red", "INDETERMINATE": "bold yellow"}

SUMMARY_ABOVE = 300
"""``verify`` prints a summary instead of every check when there are more checks than this."""
ID_DATE_NOTE = N_("the date in the number is the depositor's clock, not a proven time")
"""Said beside every deposit number shown: its date is what the depositor's computer said (docs/format.md)."""


def colour(stream: IO[str]) -> bool:
    """Whether to write colour to ``stream``: only on a terminal, never under NO_COLOR (https://no-color.org)
    or TERM=dumb. rich consoles follow the same rule; this is for the lines written without rich."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@cache
def console() -> Console:
    """The stdout console (no colour when piped or under NO_COLOR); rich is imported only by the commands
    that use it."""
    from rich.console import Console

    # No emoji codes: a file named ":white_check_mark: PASSED" must print as typed, not as a tick.
    return Console(highlight=False, soft_wrap=True, emoji=False, no_color=not colour(sys.stdout) or None)


@cache
def err_console() -> Console:
    """The stderr console, for progress and warnings."""
    from rich.console import Console
    from rich.theme import Theme

    # rich draws transfer speeds in red, which reads as an error: a neutral style instead.
    theme = Theme({"progress.data.speed": "cyan", "progress.percentage": "bold"})
    return Console(stderr=True, highlight=False, emoji=False, theme=theme, no_color=not colour(sys.stderr) or None)


def print_json(doc: Any) -> None:
    """Exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")


@contextmanager
def progress_callback(label: str) -> Iterator[TerminalProgress | None]:
    """A progress bar on stderr for a long operation (deposit, verify, report), only when stderr is a
    terminal: a total, a percentage, the file at hand and an estimate of the time left."""
    if not sys.stderr.isatty():
        yield None
        return
    with TerminalProgress(label, err_console()) as bar:
        yield bar


@contextmanager
def stage_progress(url: str) -> Iterator[StageProgress | None]:
    """A web capture's steps, with its URL, on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from ..capture import STAGES

    with StageProgress(visible(url), STAGES, err_console()) as bar:
        yield bar


def print_deposit(result: Any) -> None:
    """Summary of a deposit, as plain lines (colour only on a terminal): a deposit prints this and nothing
    else, and loading a rich console for it cost more than some deposits."""
    warn = f"\033[33m{_('warning:')}\033[0m" if colour(sys.stderr) else _("warning:")
    if result.warnings:
        sys.stderr.write("".join(f"{warn} {visible(w)}\n" for w in result.warnings))
    tty = colour(sys.stdout)
    deposit_id = f"\033[1m{visible(result.deposit_id)}\033[0m" if tty else visible(result.deposit_id)
    head = ngettext(
        "Deposit {deposit_id} {status}: {n} item(s) -> {package}",
        "Deposit {deposit_id} {status}: {n} item(s) -> {package}",
        result.items,
    )
    statuses = {"complete": pgettext("deposit status", "complete"), "pending": pgettext("deposit status", "pending")}
    status = statuses.get(str(result.status), str(result.status))
    out = [head.format(deposit_id=deposit_id, status=status, n=result.items, package=visible(result.package))]
    out.append(_("  SM3 root     {root}").format(root=result.roots["sm3"]))
    out.append(_("  SHA-256 root {root}").format(root=result.roots["sha256"]))
    out += [_("  timestamp    {timestamp}").format(timestamp=visible(t)) for t in result.timestamps]
    out += [_("  anchor       {anchor}").format(anchor=visible(a)) for a in result.anchors]
    word = _("pending")
    pending = f"\033[33m{word}\033[0m" if tty else word
    pad = " " * max(1, 13 - _width(word))
    out += [f"  {pending}{pad}{p['kind']} {visible(p['spec'])}: {visible(p['error'])}" for p in result.pending]
    sys.stdout.write("\n".join(out) + "\n")


_ANSI = {"PASSED": "\033[1;32m", "FAILED": "\033[1;31m", "INDETERMINATE": "\033[1;33m"}


def print_report(report: Any, *, summary: bool | None = None) -> None:
    """A verification report: every check (or, with ``summary``, counts and the checks that did not pass),
    then the trust anchors and the verdict. ``summary=None`` chooses: a summary above
    :data:`SUMMARY_ABOVE` checks.

    Written as plain lines (colour only on a terminal): a package of 200,000 items has 400,000 checks, and
    a rich renderer would spend longer printing them than verifying them.
    """
    paint = colour(sys.stdout)

    words = {"PASSED": _("PASSED"), "FAILED": _("FAILED"), "INDETERMINATE": _("INDETERMINATE")}

    column = max(_width(w) for w in words.values())  # 13 in English, as INDETERMINATE

    def status(value: str, width: int = column, word: str | None = None) -> str:
        shown = words[value] if word is None else word
        text = shown + " " * max(0, width - _width(shown))
        return f"{_ANSI[value]}{text}\033[0m" if paint else text

    checks = report.checks
    if summary is None:
        summary = len(checks) > SUMMARY_ABOVE
    out = [
        _("Package   {package}").format(package=visible(report.package)),
        _("Deposit   {deposit_id}  ({note})").format(deposit_id=visible(report.deposit_id), note=_(ID_DATE_NOTE)),
    ]
    if summary:
        out += _summary_lines(checks, status)
    else:
        names = visible_all([c.check for c in checks])
        details = visible_all(check_details(checks))
        out += [f"{status(c.status.value)} {n}: {d}" for c, n, d in zip(checks, names, details, strict=True)]
    out.append(_("Time      {summary}").format(summary=visible(report.time_summary(language()))))
    created = ((report.manifest or {}).get("statement") or {}).get("created")
    if created:
        out.append(
            _("Declared  created {created} (declared by the depositor, not proven)").format(created=visible(created))
        )
    if report.trust_anchors:
        out.append(_("Trust anchors used:"))
        out += [f"  {a['role']:<9} {a['fingerprint'][:16]}…  {visible(a['subject'])}" for a in report.trust_anchors]
    if language() == "zh":
        out.append(_("In short  {sentence}").format(sentence=visible(_summary_sentence(report))))
    verdict = report.verdict.value
    counts = {s: sum(1 for ch in checks if ch.status.value == s) for s in _STYLE}
    line = _("Verdict: {verdict} ({passed} passed, {failed} failed, {indeterminate} indeterminate)")
    verdicts = {
        "PASSED": pgettext("verdict", "PASSED"),
        "FAILED": pgettext("verdict", "FAILED"),
        "INDETERMINATE": pgettext("verdict", "INDETERMINATE"),
    }
    word = verdicts[verdict]
    out.append(
        line.format(
            verdict=status(verdict, 0, word),
            passed=counts["PASSED"],
            failed=counts["FAILED"],
            indeterminate=counts["INDETERMINATE"],
        )
    )
    if summary:
        note = _("(summary of {n:,} checks; --full lists every one, --json gives them all)")
        out.append(note.format(n=len(checks)))
    sys.stdout.write("\n".join(out) + "\n")


def _width(text: str) -> int:
    """Columns ``text`` takes on a terminal: Chinese characters take two."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def check_details(checks: list[Any]) -> list[str]:
    """What each check line says: the check's own detail in English, the report's sentence for it in Chinese
    (report/sentences.py, the same words the verification report uses), with the detail after a sentence
    that does not tell everything."""
    if language() != "zh":
        return [c.detail for c in checks]
    from ..report.labels import labels
    from ..report.sentences import sentence

    L, out = labels("zh"), []
    for c in checks:
        text, with_detail = sentence(c, "zh", L)
        out.append(
            _("{sentence} (technical detail: {detail})").format(sentence=text, detail=c.detail) if with_detail else text
        )
    return out


def _summary_sentence(report: Any) -> str:
    from ..report.answer import summary_sentence
    from ..report.labels import labels

    return summary_sentence(report, labels("zh"))


def _summary_lines(checks: list[Any], status: Any) -> list[str]:
    """Counts by kind of check (the part before the first ':'), then each check that did not pass."""
    kinds: dict[str, dict[str, int]] = {}
    for c in checks:
        kind = c.check.split(":", 1)[0]
        per = kinds.setdefault(kind, {"PASSED": 0, "FAILED": 0, "INDETERMINATE": 0})
        per[c.status.value] += 1
    out = [_("Checks by kind:")]
    counted = {"PASSED": _("{n:,} passed"), "FAILED": _("{n:,} failed"), "INDETERMINATE": _("{n:,} indeterminate")}
    for kind, per in kinds.items():
        parts = [counted[s].format(n=n) for s, n in per.items() if n]
        out.append(f"  {visible(kind):<12} {sum(per.values()):>8,}  ({', '.join(parts)})")
    bad = [c for c in checks if c.status.value != "PASSED"]
    if bad:
        out.append(_("Checks that did not pass ({n:,}):").format(n=len(bad)))
        details = check_details(bad)
        out += [f"{status(c.status.value)} {visible(c.check)}: {visible(d)}" for c, d in zip(bad, details, strict=True)]
    return out


def _flatten(value: Any, prefix: str = "", depth: int = 0) -> list[tuple[str, str]]:
    """Metadata as ``dotted.key: value`` lines (mail headers, DKIM results, EXIF), long values cut for the screen."""
    if isinstance(value, dict) and depth < 5:
        out: list[tuple[str, str]] = []
        for k, v in value.items():
            out.extend(_flatten(v, f"{prefix}.{k}" if prefix else str(k), depth + 1))
        return out
    if isinstance(value, list) and depth < 5 and all(isinstance(v, dict) for v in value):
        out = []
        for i, v in enumerate(value[:20]):
            out.extend(_flatten(v, f"{prefix}[{i}]", depth + 1))
        return out
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return [(prefix, text if len(text) <= 160 else text[:157] + "…")]


def print_manifest(manifest: dict[str, Any], members: list[str]) -> None:
    """A readable tree of the manifest."""
    from rich.markup import escape as markup

    def escape(value: object) -> str:
        # Names, headers and notes are the adversary's: hidden characters shown, then rich markup escaped.
        return markup(visible(value))

    c = console()
    st = manifest["statement"]
    c.print(
        _("Deposit   [bold]{deposit_id}[/]  ({tool}; {note})").format(
            deposit_id=escape(manifest["deposit_id"]), tool=escape(st["tool"]), note=_(ID_DATE_NOTE)
        )
    )
    c.print(
        _("Declared  created {created} (declared by the depositor, not proven)").format(created=escape(st["created"]))
    )
    from ..package.private import declared_note

    for key, label in (("case", _("Case")), ("depositor", _("Depositor"))):
        if st.get(key):
            c.print(f"{label}{' ' * max(1, 10 - _width(label))}{escape(str(st[key]))}")
    note, withheld = declared_note(manifest)
    pad = " " * max(1, 10 - _width(_("Note")))
    if withheld:
        c.print(_("Note") + pad + _("withheld by this disclosure (the statement seals only its salted hash)"))
    elif note:
        c.print(_("Note") + pad + escape(note))
    if manifest.get("disclosure"):
        shown = _("Disclosure of {n} of {total} items")
        c.print(shown.format(n=len(manifest["items"]), total=manifest["tree_size"] - 1))
    c.print(_("SM3 root     {root}").format(root=escape(manifest["roots"]["sm3"])))
    c.print(_("SHA-256 root {root}").format(root=escape(manifest["roots"]["sha256"])))
    depth: dict[int, int] = {}
    for item in manifest["items"]:
        level = depth.get(item["parent"], -1) + 1 if item["parent"] else 0
        depth[item["id"]] = level
        pad = "  " * (level + 1)
        where = item["path"] or _("(hash only)")
        facts = _("{kind}  {media_type}  {size} bytes  {path}").format(
            kind=escape(item["kind"]),
            media_type=escape(item["media_type"]),
            size=escape(item["size"]),
            path=escape(where),
        )
        c.print(f"{pad}[bold]{escape(item['name'])}[/]  {facts}")
        c.print(f"{pad}  SM3     {escape(item['digests']['sm3'])}")
        c.print(f"{pad}  SHA-256 {escape(item['digests']['sha256'])}")
        for k, text in _flatten(item["metadata"]):
            c.print(f"{pad}  {escape(k)}: {escape(text)}")
    from ..package.inspect import other_members

    proofs = other_members(manifest, members)
    if proofs:
        c.print(_("Other members (manifest, proofs, certificates, anything no item lists):"))
        for m in proofs:
            c.print(f"  {escape(m)}")
