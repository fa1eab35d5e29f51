"""mbox files: split into messages at ``From `` separator lines, each analysed as a message.

Splitting is done on the bytes, not with :mod:`mailbox`, so each message's bytes are exactly the bytes
in the file (a message is evidence as deposited) and the offset of every message is known. The rules are
those of the mail tools that read real mailboxes (mutt, procmail's formail, Thunderbird, Perl's
Email::Folder), which agree where Python's :mod:`mailbox` does not:

- a message starts at a line beginning ``From `` at the start of the file or after an empty line, and only
  when that line is a From_ line (a sender and an asctime date, anything after the year allowed) or the next
  line is a header field: "From time to time" after an empty line in an unquoted (mboxo) body is text;
- a message whose header has ``Content-Length`` (mboxcl, mboxcl2) ends where it says when a From_ line (or
  the end of the file) is there; a length that lies is ignored and the separators decide;
- lines may end in LF, CRLF or CR alone (classic Mac OS).

A From_ line whose date is not an asctime date is reported as malformed, and still starts a message when a
header follows it, since that is what those readers do with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .analysis import Analysis, ChildPart
from .email import message_analysis
from .media import lf_view, mbox_start
from .parts import PartNamer

# "From sender@example.com Thu Jan  1 00:00:00 2015" (asctime, optionally with a zone before the year).
_FROM_LINE = re.compile(rb"^From (?P<sender>\S+) +(?P<date>.+?)\s*$")
_STRICT_DATE = re.compile(
    rb"^[A-Z][a-z]{2} [A-Z][a-z]{2} +\d{1,2} \d{1,2}:\d{2}(?::\d{2})?(?: [A-Z0-9+-]{1,6})? \d{4}(?: .*)?$"
)
_HEADER_FIELD = re.compile(rb"[!-9;-~]+[ \t]*:")
_CANDIDATE = re.compile(rb"(?:\A|\n\r?\n)(From )")
_CONTENT_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*(\d{1,12})[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")


def _line(view: bytes, start: int) -> bytes:
    end = view.find(b"\n", start)
    return view[start : len(view) if end < 0 else end].rstrip(b"\r")


def _good_from_line(line: bytes) -> bool:
    parsed = _FROM_LINE.match(line)
    return parsed is not None and _STRICT_DATE.match(parsed.group("date").strip()) is not None


def _separator(view: bytes, at: int) -> bool:
    """Whether the ``From `` line at ``at`` starts a message: a From_ line, or a header field right after it."""
    if _good_from_line(_line(view, at)):
        return True
    end = view.find(b"\n", at)
    return end >= 0 and _HEADER_FIELD.match(view, end + 1) is not None


def _declared_end(view: bytes, start: int) -> int | None:
    """Where a message's ``Content-Length`` says it ends (its body's last byte + 1), or None without one."""
    header_end = _HEADER_END.search(view, start)
    if header_end is None:
        return None
    length = _CONTENT_LENGTH.search(view, start, header_end.start())
    return None if length is None else header_end.end() + int(length.group(1))


def _next_from_at(view: bytes, end: int) -> int | None:
    """The start of the From_ line at ``end`` (after at most one empty line), or None when none is there."""
    for skip in (b"", b"\n", b"\r\n"):
        at = end + len(skip)
        if view.startswith(skip, end) and view.startswith(b"From ", at) and (at == 0 or view[at - 1 : at] == b"\n"):
            return at
    return None


def message_starts(view: bytes, first: int) -> list[int]:
    """Offsets of every message of the mbox ``view`` (LF or CRLF line ends) whose first From_ line is at
    ``first``."""
    candidates = [m.start(1) for m in _CANDIDATE.finditer(view) if m.start(1) > first]
    starts = [first]
    while True:
        start = starts[-1]
        declared = _declared_end(view, start)
        if declared is not None and declared <= len(view):
            at = _next_from_at(view, declared)
            if at is not None and _separator(view, at):
                starts.append(at)
                continue
            if declared == len(view) or not view[declared:].strip():
                return starts
        following = next((c for c in candidates if c > start and _separator(view, c)), None)
        if following is None:
            return starts
        starts.append(following)


def split_mbox(data: bytes) -> tuple[list[tuple[int, bytes, bytes]], list[str]]:
    """Split ``data`` into (offset, From_ line, message bytes) triples, and problems found. Blank lines before
    the first From_ line are not a message (Python's mailbox and mutt read past them too)."""
    view = lf_view(data)
    problems: list[str] = []
    first = mbox_start(view)
    if view.startswith(b"From ", first):
        starts = message_starts(view, first)
    else:
        problems.append("mbox does not start with a From_ line")
        starts = [first]
    out: list[tuple[int, bytes, bytes]] = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        chunk, seen = data[start:end], view[start:end]
        if view.startswith(b"From ", start):
            cut = seen.find(b"\n")
            line = chunk if cut < 0 else chunk[:cut]
            body = b"" if cut < 0 else chunk[cut + 1 :]
            line = line.rstrip(b"\r")
        else:
            line, body = b"", chunk
        if line and not _good_from_line(line):
            problems.append(f"message {i + 1} at offset {start}: malformed From_ line {line[:80]!r}")
        # The empty line before the next From_ belongs to the mbox format, not to the message.
        if i + 1 < len(starts):
            for blank in (b"\r\n\r\n", b"\n\n", b"\r\r"):
                if body.endswith(blank):
                    body = body[: -len(blank) // 2]
                    break
        out.append((start, line, body))
    return out, problems


def analyze_mbox(data: bytes, *, dkim_keys: Mapping[str, bytes] | None, offline: bool) -> Analysis:
    """The :class:`Analysis` of an mbox file: one ``message`` child per message, with its own parts."""
    messages, warnings = split_mbox(data)
    namer = PartNamer()
    children: list[ChildPart] = []
    for index, (offset, from_line, raw) in enumerate(messages, start=1):
        meta, parts, problems = message_analysis(raw, dkim_keys=dkim_keys, offline=offline)
        if not raw.strip():
            problems.append("empty message")
        info: dict[str, Any] = {
            "index": index,
            "offset": offset,
            "from_line": from_line.decode("utf-8", "replace"),
            "email": meta,
        }
        if problems:
            info["warnings"] = problems
        name = namer.message(index)
        warnings.extend(f"{name}: {p}" for p in problems)
        children.append(ChildPart(name, "message", "message/rfc822", raw, info, parts))
    return Analysis("mbox", "application/mbox", {"mbox": {"messages": len(children)}}, tuple(children), tuple(warnings))
