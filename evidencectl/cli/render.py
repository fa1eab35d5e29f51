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
from .progress_bar import StageProgress, TerminalProgress

if TYPE_CHECKING:
    from rich.console import Console

_STYLE = {"PASSED": "bold green", "FAILED": "bold red", "INDETERMINATE": "bold yellow"}

SUMMARY_ABOVE = 300
"""``verify`` prints a summary instead of every check when there are more checks than this."""
ID_DATE_NOTE = "the date in the number is the depositor's clock, not a proven time"
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
    warn = "\033[33mwarning:\033[0m" if colour(sys.stderr) else "warning:"
    if result.warnings:
        sys.stderr.write("".join(f"{warn} {visible(w)}\n" for w in result.warnings))
    tty = colour(sys.stdout)
    deposit_id = f"\033[1m{visible(result.deposit_id)}\033[0m" if tty else visible(result.deposit_id)
    out = [f"Deposit {deposit_id} {result.status}: {result.items} item(s) -> {visible(result.package)}"]
    out.append(f"  SM3 root     {result.roots['sm3']}")
    out.append(f"  SHA-256 root {result.roots['sha256']}")
    out += [f"  timestamp    {visible(t)}" for t in result.timestamps]
    out += [f"  anchor       {visible(a)}" for a in result.anchors]
    pending = "\033[33mpending\033[0m" if tty else "pending"
    out += [f"  {pending}      {p['kind']} {visible(p['spec'])}: {visible(p['error'])}" for p in result.pending]
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

    def status(value: str, width: int = 13) -> str:
        text = f"{value:<{width}}"
        return f"{_ANSI[value]}{text}\033[0m" if paint else text

    checks = report.checks
    if summary is None:
        summary = len(checks) > SUMMARY_ABOVE
    out = [f"Package   {visible(report.package)}", f"Deposit   {visible(report.deposit_id)}  ({ID_DATE_NOTE})"]
    if summary:
        out += _summary_lines(checks, status)
    else:
        names = visible_all([c.check for c in checks])
        details = visible_all([c.detail for c in checks])
        out += [f"{status(c.status.value)} {n}: {d}" for c, n, d in zip(checks, names, details, strict=True)]
    out.append(f"Time      {visible(report.time_summary())}")
    created = ((report.manifest or {}).get("statement") or {}).get("created")
    if created:
        out.append(f"Declared  created {visible(created)} (declared by the depositor, not proven)")
    if report.trust_anchors:
        out.append("Trust anchors used:")
        out += [f"  {a['role']:<9} {a['fingerprint'][:16]}…  {visible(a['subject'])}" for a in report.trust_anchors]
    verdict = report.verdict.value
    counts = {s: sum(1 for ch in checks if ch.status.value == s) for s in _STYLE}
    out.append(
        f"Verdict: {status(verdict, 0)} ({counts['PASSED']} passed, {counts['FAILED']} failed, "
        f"{counts['INDETERMINATE']} indeterminate)"
    )
    if summary:
        out.append(f"(summary of {len(checks):,} checks; --full lists every one, --json gives them all)")
    sys.stdout.write("\n".join(out) + "\n")


def _summary_lines(checks: list[Any], status: Any) -> list[str]:
    """Counts by kind of check (the part before the first ':'), then each check that did not pass."""
    kinds: dict[str, dict[str, int]] = {}
    for c in checks:
        kind = c.check.split(":", 1)[0]
        per = kinds.setdefault(kind, {"PASSED": 0, "FAILED": 0, "INDETERMINATE": 0})
        per[c.status.value] += 1
    out = ["Checks by kind:"]
    for kind, per in kinds.items():
        parts = [f"{n:,} {s.lower()}" for s, n in per.items() if n]
        out.append(f"  {visible(kind):<12} {sum(per.values()):>8,}  ({', '.join(parts)})")
    bad = [c for c in checks if c.status.value != "PASSED"]
    if bad:
        out.append(f"Checks that did not pass ({len(bad):,}):")
        out += [f"{status(c.status.value)} {visible(c.check)}: {visible(c.detail)}" for c in bad]
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
    c.print(f"Deposit   [bold]{escape(manifest['deposit_id'])}[/]  ({escape(st['tool'])}; {ID_DATE_NOTE})")
    c.print(f"Declared  created {escape(st['created'])} (declared by the depositor, not proven)")
    from ..package.private import declared_note

    for key, label in (("case", "Case"), ("depositor", "Depositor")):
        if st.get(key):
            c.print(f"{label:<9} {escape(str(st[key]))}")
    note, withheld = declared_note(manifest)
    if withheld:
        c.print(f"{'Note':<9} withheld by this disclosure (the statement seals only its salted hash)")
    elif note:
        c.print(f"{'Note':<9} {escape(note)}")
    if manifest.get("disclosure"):
        c.print(f"Disclosure of {len(manifest['items'])} of {manifest['tree_size'] - 1} items")
    c.print(f"SM3 root     {escape(manifest['roots']['sm3'])}")
    c.print(f"SHA-256 root {escape(manifest['roots']['sha256'])}")
    depth: dict[int, int] = {}
    for item in manifest["items"]:
        level = depth.get(item["parent"], -1) + 1 if item["parent"] else 0
        depth[item["id"]] = level
        pad = "  " * (level + 1)
        where = item["path"] or "(hash only)"
        facts = f"{escape(item['kind'])}  {escape(item['media_type'])}  {escape(item['size'])} bytes  {escape(where)}"
        c.print(f"{pad}[bold]{escape(item['name'])}[/]  {facts}")
        c.print(f"{pad}  SM3     {escape(item['digests']['sm3'])}")
        c.print(f"{pad}  SHA-256 {escape(item['digests']['sha256'])}")
        for k, text in _flatten(item["metadata"]):
            c.print(f"{pad}  {escape(k)}: {escape(text)}")
    from ..package.inspect import other_members

    proofs = other_members(manifest, members)
    if proofs:
        c.print("Other members (manifest, proofs, certificates, anything no item lists):")
        for m in proofs:
            c.print(f"  {escape(m)}")
