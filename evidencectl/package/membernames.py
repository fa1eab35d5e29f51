"""Member names of a package: which names the layout allows, and which names collide on disk.

A package must extract the same way with ``unzip``, ``7z`` and ``bsdtar`` on Linux, macOS and Windows
(docs/format.md §2). macOS and Windows fold case and macOS normalises Unicode: ``A.txt`` and ``a.txt``, or
``café.txt`` in NFC and in NFD, are one file there, and whichever member is extracted last wins. A name
that is a file and also a folder (``mail.eml`` and ``mail.eml/body-1.txt``) cannot be extracted at all.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe_name(name: str) -> str | None:
    """Why ``name`` can never be a member (absolute, escaping, NUL, a folder entry), or None."""
    if not name or name.startswith("/") or "\\" in name or _DRIVE.match(name):
        return "absolute or non-portable member name"
    if "\x00" in name:
        return "NUL in member name"
    if name.endswith("/"):
        return "directory entry"
    parts = name.split("/")
    if any(p in ("..", ".") for p in parts) or "" in parts:
        return "member name escapes the package"
    return None


_FIXED = frozenset({"mimetype", "manifest.json", "manifest.sig", "report.pdf"})


def outside_layout(name: str) -> bool:
    """True for a name the package layout has no place for (docs/format.md §1)."""
    if name in _FIXED or name.startswith("evidence/"):
        return False
    folder, _, leaf = name.rpartition("/")
    return not (
        (folder == "proofs/timestamps" and leaf.endswith(".tsr"))
        or (folder == "proofs/anchors" and leaf.endswith(".json"))
        or (folder == "certs" and leaf.endswith(".pem"))
    )


def fold(name: str) -> str:
    """The name as a case-folding, normalising file system sees it (NFC, then case folded)."""
    if name.isascii():
        return name.lower()
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


class NameSpace:
    """The file and folder names taken so far, as a case-folding, normalising file system sees them.

    A name in a folder already known skips the walk over its folders, in :meth:`clash` and :meth:`add`
    alike, as long as every name was added right after :meth:`clash` (with ``folders``) found it clean:
    then no known folder, nor any folder above it, can be a file (a file of that name would have been
    refused, as a folder of its own is refused for a file taken before). One name added without that check
    (a version-1 package read, a caller that skips it) turns the shortcut off for good.
    """

    def __init__(self) -> None:
        self._files: dict[str, str] = {}
        self._folders: dict[str, str] = {}
        self._clean: str | None = None  # the key last found clean by clash(folders=True)
        self._checked = True  # every name added so far was added right after a clean check

    def clash(self, name: str, *, folders: bool = True) -> str | None:
        """Why ``name`` cannot join the names taken (the name it collides with), or None; with ``folders``
        false, only a collision of two files counts (a version-1 package keeps a mail's parts in a folder
        named like the mail)."""
        return self._clash(name, fold(name), folders)

    def _clash(self, name: str, key: str, folders: bool) -> str | None:
        if key in self._files:
            other = self._files[key]
            if unicodedata.normalize("NFC", other) == unicodedata.normalize("NFC", name):
                return f"{name!a} and {other!a} are one name in two Unicode normalisations (one file on macOS)"
            return f"{name!r} and {other!r} are one file on case-insensitive or normalising systems"
        if not folders:
            return None
        if key in self._folders:
            return f"{name!r} is a file and also the folder of {self._folders[key]!r}"
        at = key.rfind("/")
        if at >= 0 and not (self._checked and key[:at] in self._folders):
            at = key.find("/")
            while at >= 0:
                if key[:at] in self._files:
                    return f"{self._files[key[:at]]!r} is a file and also the folder of {name!r}"
                at = key.find("/", at + 1)
        self._clean = key
        return None

    def add(self, name: str) -> None:
        """Take ``name`` and its folders (call :meth:`clash` first)."""
        self._add(name, fold(name))

    def take(self, name: str) -> str | None:
        """Take ``name`` when :meth:`clash` finds it clean (folders included) and return None, else return
        the clash and take nothing: one folding of the name where the two calls make two."""
        key = fold(name)
        problem = self._clash(name, key, True)
        if problem is None:
            self._add(name, key)
        return problem

    def take_all(self, names: list[str] | tuple[str, ...]) -> bool:
        """Take every one of ``names`` and return True when :meth:`take` would take each in turn, in that
        order; else take none of them and return False (the caller then takes them one by one, which
        words the clash). A name may add a folder, as :meth:`take` does; set operations instead of a walk
        a name make a run of 128 files of known folders cost a fraction of 128 :meth:`take` calls."""
        if not self._checked:
            return False  # the walk over every folder is owed: one by one
        keys = [fold(n) for n in names]
        files, folders = self._files, self._folders
        chosen = set(keys)
        if len(chosen) != len(keys) or not chosen.isdisjoint(files) or not chosen.isdisjoint(folders):
            return False  # twins among them, or a name already a file or a folder
        added: dict[str, str] = {}
        for key, name in zip(keys, names, strict=True):
            at = key.rfind("/")
            if at < 0 or key[:at] in folders or key[:at] in added:
                continue  # its folder, and every folder above it, is known free of files
            at = key.find("/")
            while at >= 0:
                folder = key[:at]
                if folder in files or folder in chosen:
                    return False  # a file of that name, before or among these
                if folder not in folders:
                    added.setdefault(folder, name)
                at = key.find("/", at + 1)
        files.update(zip(keys, names, strict=True))
        folders.update(added)
        self._clean = None
        return True

    def _add(self, name: str, key: str) -> None:
        self._files[key] = name
        if key != self._clean:
            self._checked = False
        self._clean = None
        at = key.rfind("/")
        if at < 0 or key[:at] in self._folders:
            return  # its folder is known, and so is every folder above it (each name adds all of its own)
        at = key.find("/")
        while at >= 0:
            self._folders.setdefault(key[:at], name)
            at = key.find("/", at + 1)


def first_clash(names: Iterable[str], *, folders: bool = True) -> str | None:
    """The first collision among ``names``; with ``folders`` false, only file-on-file collisions count."""
    space = NameSpace()
    for name in names:
        problem = space.clash(name, folders=folders)
        if problem:
            return problem
        space.add(name)
    return None
