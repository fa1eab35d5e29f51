"""Safe, unique names for parts derived from a file (bodies, attachments, mbox messages).

A part's name ends up as a path inside an evidence package and on a user's disk when extracted, so an
attachment called ``../../.bashrc`` or ``C:\\boot.ini`` must not escape. Original file names are kept
where they are sane (Chinese names included), because a court refers to an attachment by its name.
"""

from __future__ import annotations

import re
import unicodedata

from .media import extension_for

#: Longest kept file name, in characters (common file systems allow 255 bytes; CJK takes 3 bytes each).
MAX_NAME = 80
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"|?*\\/]')


def safe_filename(name: str) -> str | None:
    """A sane single path component for ``name``, or None if nothing usable remains."""
    name = unicodedata.normalize("NFC", name)
    # Keep only the last component of a path a sender's client may have left in the name.
    name = re.split(r"[\\/]", name)[-1]
    name = _UNSAFE.sub("_", name).strip().strip(".")
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co"))
    if not name or set(name) <= {"_", " "}:
        return None
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:12] if dot and len(ext) <= 12 else ""
        name = (stem if dot else name)[: MAX_NAME - len(ext) - 1] + ("." + ext if ext else "")
    return name


class PartNamer:
    """Hands out unique child names within one parent: ``body-1.txt``, ``attachments/合同.pdf``..."""

    def __init__(self) -> None:
        self._taken: set[str] = set()
        self._bodies = 0
        self._parts = 0
        self._attachments = 0

    def unique(self, name: str) -> str:
        """``name``, or ``name`` with ``-2``, ``-3``... before its extension if already taken."""
        candidate = name
        stem, dot, ext = name.rpartition(".")
        if not dot or "/" in ext:
            stem, ext = name, ""
        n = 2
        while candidate.lower() in self._taken:
            candidate = f"{stem}-{n}" + (f".{ext}" if ext else "")
            n += 1
        self._taken.add(candidate.lower())
        return candidate

    def body(self, media_type: str) -> str:
        """Name of the next body part, numbered from 1."""
        self._bodies += 1
        return self.unique(f"body-{self._bodies}{extension_for(media_type)}")

    def part(self, media_type: str) -> str:
        """Name of the next leaf part that is neither body nor attachment."""
        self._parts += 1
        return self.unique(f"part-{self._parts}{extension_for(media_type)}")

    def attachment(self, filename: str | None, media_type: str) -> str:
        """``attachments/<original name>`` when the name is sane, else a numbered name."""
        self._attachments += 1
        safe = safe_filename(filename) if filename else None
        if safe is None:
            safe = f"attachment-{self._attachments}{extension_for(media_type)}"
        return self.unique(f"attachments/{safe}")

    def message(self, index: int) -> str:
        """Name of the mbox message with 1-based ``index``."""
        return self.unique(f"message-{index:04d}.eml")


PARTS_SUFFIX = ".parts"
"""The folder beside a stored mail (or mailbox, or web capture) that holds its parts: ``mail.eml`` is a
file, so its parts cannot live under ``mail.eml/`` in a package that must extract anywhere."""


def part_member(parent_member: str, child_name: str) -> str:
    """The package member of a part named ``child_name`` (``body-1.txt``, ``attachments/合同.pdf``…) of the
    item stored as ``parent_member``: ``evidence/x/mail.eml.parts/body-1.txt`` (format version 2)."""
    return f"{parent_member}{PARTS_SUFFIX}/{child_name}"


class MemberNames:
    """The members of one deposit, kept distinct as Windows and macOS see names (case folded, NFC), so the
    package extracts there without one original overwriting another. A member that would collide is
    renamed to ``evidence/_renamed/ID/NAME`` and the rename recorded for the item's warnings."""

    def __init__(self) -> None:
        from ..package.membernames import NameSpace

        self._space = NameSpace()
        self.renamed: dict[str, str] = {}
        """new member -> why it was renamed."""

    def free(self, member: str | None) -> bool:
        """True when ``member`` (None: nothing stored) can be taken as it is."""
        return member is None or self._space.clash(member) is None

    def take(self, member: str | None) -> bool:
        """Take ``member`` (None: nothing stored) when it is free and return True; False when it collides
        (nothing taken). One look-up where :meth:`free` then :meth:`claim` make two."""
        return member is None or self._space.take(member) is None

    def take_all(self, members: tuple[str, ...] | list[str]) -> bool:
        """Take every one of ``members`` when each is free in turn (True), else none of them (False); see
        :meth:`~evidencectl.package.membernames.NameSpace.take_all`."""
        return self._space.take_all(members)

    def claim(self, member: str | None, item_id: int) -> str | None:
        """``member``, or the name it is stored under instead when it collides; taken either way."""
        if member is None:
            return None
        clash = self._space.clash(member)
        chosen = member
        if clash is not None:
            leaf = member.rpartition("/")[2]
            n = 1
            while True:
                chosen = f"evidence/_renamed/{item_id}{'' if n == 1 else f'-{n}'}/{leaf}"
                if self._space.clash(chosen) is None:
                    break
                n += 1
            self.renamed[chosen] = f"stored as {chosen}, not {member}: {clash}"
        self._space.add(chosen)
        return chosen
