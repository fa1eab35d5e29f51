"""mbox files: split into messages at ``From `` separator lines, each analysed as a message.

Splitting is done on the bytes, not with :mod:`mailbox`, so each message's bytes are exactly the bytes
in the file (a message is evidence as deposited) and the offset of every message is known. A line
starting ``From `` begins a message only at the start of the file or after an empty line; one without
a sender and an asctime date is reported as broken, and still starts a message, since that is what
every mail reader would do with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .analysis import Analysis, ChildPart
from .email import message_analysis
from .media import mbox_start
from .parts import PartNamer

# "From sender@example.com Thu Jan  1 00:00:00 2015" (asctime, optionally with a zone before the year).
_FROM_LINE = re.compile(rb"^From (?P<sender>\S+) +(?P<date>.+?)\s*$")
_STRICT_DATE = re.compile(
    rb"^[A-Z][a-z]{2} [A-Z][a-z]{2} +\d{1,2} \d{1,2}:\d{2}(?::\d{2})?(?: [A-Z0-9+-]{1,6})? \d{4}$"
)


def split_mbox(data: bytes) -> tuple[list[tuple[int, bytes, bytes]], list[str]]:
    """Split ``data`` into (offset, From_ line, message bytes) triples, and problems found. Blank lines before
    the first From_ line are not a message (Python's mailbox and mutt read past them too)."""
    problems: list[str] = []
    starts: list[int] = []
    first = mbox_start(data)
    for m in re.finditer(rb"(?:\A|\n\r?\n)(From )", data):
        starts.append(m.start(1))
    if first and data.startswith(b"From ", first) and (not starts or starts[0] != first):
        starts.insert(0, first)
    if not starts or starts[0] != first:
        problems.append("mbox does not start with a From_ line")
        starts.insert(0, first)
    out: list[tuple[int, bytes, bytes]] = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        chunk = data[start:end]
        line, nl, body = chunk.partition(b"\n")
        if not data.startswith(b"From ", start):
            line, body = b"", chunk
        elif not nl:
            body = b""
        parsed = _FROM_LINE.match(line.rstrip(b"\r")) if line else None
        if line and (parsed is None or not _STRICT_DATE.match(parsed.group("date").strip())):
            problems.append(f"message {i + 1} at offset {start}: malformed From_ line {line[:80]!r}")
        # The empty line before the next From_ belongs to the mbox format, not to the message.
        if i + 1 < len(starts) and body.endswith(b"\n\n"):
            body = body[:-1]
        elif i + 1 < len(starts) and body.endswith(b"\r\n\r\n"):
            body = body[:-2]
        out.append((start, line.rstrip(b"\r"), body))
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
