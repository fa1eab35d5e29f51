"""What an analysis of a file says: its kind, media type, metadata, derived parts and warnings.

The analysers (email, mbox, outlook, image) build these; :mod:`.analyze` dispatches to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ChildPart:
    """A part derived from a file: a mail body, an attachment, a message inside an mbox."""

    name: str
    """Relative name under the parent, unique within it, never absolute and never containing ``..``."""
    kind: str
    """``body``, ``attachment``, ``message`` (a message inside an mbox) or ``part``."""
    media_type: str
    """Media type as declared by the container (for attachments) or detected."""
    data: bytes
    """The decoded bytes of the part (after transfer decoding); for an mbox message its raw bytes."""
    metadata: dict[str, Any]
    """JSON-able facts about the part (no floats, valid Unicode only)."""
    children: tuple[ChildPart, ...] = ()
    """Parts derived from this part (the attachments of a message inside an mbox)."""


@dataclass(frozen=True)
class Analysis:
    """The result of :func:`analyze` for one file."""

    kind: str
    """``email``, ``mbox``, ``msg``, ``image`` or ``file``."""
    media_type: str
    """Media type detected from the content (magic bytes), not from the file name."""
    metadata: dict[str, Any]
    """JSON-able facts about the file (no floats, valid Unicode only)."""
    children: tuple[ChildPart, ...]
    """Derived parts (bodies, attachments, mbox messages)."""
    warnings: tuple[str, ...] = field(default=())
    """What could not be read, one line each."""
