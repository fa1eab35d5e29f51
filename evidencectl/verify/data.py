"""The originals a verifier gives with ``verify --data`` (files, or folders walked recursively) and how they
are matched to the items of a ``--hash-only`` deposit: by relative name first, then by digest.

A folder is walked exactly as ``deposit`` walks one (sorted, symbolic links skipped, names relative to the
folder's parent), so ``deposit --hash-only in/`` and ``verify --data in/`` name every file the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..checks import CheckResult, Status
from ..errors import BadInputError, DataNotFoundError
from ..hashing import Digests, digest_file
from ..i18n import _


@dataclass(frozen=True)
class DataFile:
    """One original given with ``--data``."""

    path: Path
    """Where it was read."""
    name: str
    """Its relative name, as a deposit of the same file or folder would record it."""
    digests: Digests
    """Its SM3 and SHA-256 (and size)."""
    folder: Path | None = None
    """The ``--data`` folder it was found in (None: given as a file)."""


@dataclass
class DataIndex:
    """Every ``--data`` original, by relative name and by SHA-256; remembers which ones matched an item."""

    files: list[DataFile] = field(default_factory=list)
    """In the order given (a folder's files sorted by name)."""
    by_name: dict[str, DataFile] = field(default_factory=dict)
    by_sha256: dict[str, DataFile] = field(default_factory=dict)
    used: set[Path] = field(default_factory=set)
    """Paths that matched an item."""

    misnamed: dict[Path, list[str]] = field(default_factory=dict)
    """Path -> the top items whose name it bears though another file was matched to them by content and its
    own content is not theirs (a swap: it is offered as that item and is not it)."""
    source_of: dict[int, DataFile] = field(default_factory=dict)
    """Item id -> the ``--data`` original it was matched to, or (for a part) its top item's original."""
    _derived: tuple[Path, dict[str, Digests]] | None = None

    def find(self, item: dict[str, Any]) -> DataFile | None:
        """The original given for ``item``: the file of the same content (a renamed copy counts), else the
        file of the same relative name (whose digests will then tell that it was altered).

        A part derived from an item (a mail's body, an attachment) is no file of its own: it is found only
        among the parts derived again from its top item's original, by its digests (a ``--data`` file that
        merely bears its name says nothing about it; a part not derived again the same way, e.g. by another
        version of the parser, is not found: INDETERMINATE, never FAILED)."""
        if item.get("parent") is not None:
            return self._find_part(item)
        want = item["digests"]
        match = self.by_sha256.get(want["sha256"])
        named = self.by_name.get(item["name"])
        if match is None or match.digests.sm3 != want["sm3"] or match.digests.size != item["size"]:
            match = named if named is not None else match
        elif named is not None and named is not match and named.digests.sha256 != want["sha256"]:
            # The item's content was given elsewhere, and a file under its name holds other bytes.
            self.misnamed.setdefault(named.path, []).append(item["name"])
        if match is not None:
            self.used.add(match.path)
            if isinstance(item.get("id"), int):
                self.source_of[item["id"]] = match
        return match

    def _find_part(self, item: dict[str, Any]) -> DataFile | None:
        source = self.source_of.get(item["parent"])
        if source is None:
            return None
        self.source_of[item["id"]] = source
        if self._derived is None or self._derived[0] != source.path:
            self._derived = (source.path, _derived_parts(source.path))
        got = self._derived[1].get(item["digests"]["sha256"])
        if got is None or got.sm3 != item["digests"]["sm3"] or got.size != item["size"]:
            return None
        return DataFile(source.path, item["name"], got, source.folder)


def _derived_parts(path: Path) -> dict[str, Digests]:
    """SHA-256 -> digests of every part the analysers derive from the file at ``path`` (none if it cannot
    be read or parsed)."""
    from ..collect.analyze import analyze
    from ..hashing import digest_bytes

    try:
        analysis = analyze(path, offline=True)
    except Exception:  # noqa: BLE001 - an original that does not parse here just gives no parts
        return {}
    out: dict[str, Digests] = {}
    stack = list(analysis.children)
    while stack:
        part = stack.pop()
        got = digest_bytes(part.data)
        out.setdefault(got.sha256, got)
        stack.extend(part.children)
    return out


def sizes(data: Sequence[Path]) -> int:
    """Bytes ``--data`` will make the verifier read (for a progress bar's total); 0 for what cannot be read."""
    total = 0
    for p in data:
        with contextlib.suppress(OSError):
            total += sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else p.stat().st_size
    return total


def index_data(data: Sequence[Path], progress: Callable[[int], None] | None = None) -> DataIndex:
    """Hash every ``--data`` file and every file under each ``--data`` folder.

    Raises :class:`DataNotFoundError` (exit 4) for a path that does not exist, :class:`BadInputError` for a
    folder that holds no file.
    """
    from ..collect.files import collect_inputs

    index = DataIndex()
    for p in data:
        entries: list[tuple[Path, str, Path | None]]
        if p.is_dir():
            try:
                found = collect_inputs([str(p)]).files
            except BadInputError as exc:
                raise BadInputError(_("--data folder: {exc}").format(exc=exc), path=p) from exc
            entries = [(Path(str(f.location)), f.name, p) for f in found]
        elif p.is_file():
            entries = [(p, p.name, None)]
        else:
            raise DataNotFoundError("--data: no such file or folder", path=p)
        for path, name, folder in entries:
            got = DataFile(path, name, digest_file(path, progress=progress), folder)
            index.files.append(got)
            index.by_name.setdefault(name, got)
            index.by_sha256.setdefault(got.digests.sha256, got)
    return index


def data_checks(index: DataIndex, items: Iterable[dict[str, Any]]) -> list[CheckResult]:
    """One ``data:`` check per ``--data`` file, and one per ``--data`` folder: does it belong to the deposit?

    A file is an item of the deposit when an item has its content (a renamed copy counts), or when a
    ``--hash-only`` item was matched to it. A file that bears a deposited top item's relative name (a file
    deposited alone: its name; in a folder: the name relative to the folder's parent) but not its content is
    FAILED (``DIGEST_MISMATCH``): offered in the place of that original, it is not it, even when its bytes are
    another item's (two originals' contents swapped under their names). A file that matches no
    item by content or by name (added since, never deposited, someone else's) proves nothing either way:
    INDETERMINATE (``NOT_COVERED``), naming it; the deposit is judged by its own checks, which it neither fails
    nor passes (DESIGN §4: FAILED is kept for a digest mismatch of a deposited item, a bad trusted signature,
    a package contradicting itself).
    """
    # The items each file is by content, and the top items it is named like (a part is never matched by name:
    # IndexData.find), found in one walk of the items: a large manifest's records are parsed as they are
    # walked, once, not once per file.
    found: dict[int, list[str]] = {}
    like: dict[int, list[str]] = {}
    by_content: dict[tuple[str, str, int], list[list[str]]] = {}
    by_name: dict[str, list[list[str]]] = {}
    for n, f in enumerate(index.files):
        if f.folder is None or f.path not in index.used:
            found[n], like[n] = [], []
            by_content.setdefault((f.digests.sha256, f.digests.sm3, f.digests.size), []).append(found[n])
            by_name.setdefault(f.name, []).append(like[n])
    if found:
        for i in items:
            for names in by_content.get((i["digests"]["sha256"], i["digests"]["sm3"], i["size"]), ()):
                names.append(i["name"])
            # By the whole relative name only, as find() matches: a common last segment ("case/README.txt"
            # beside an unrelated README.txt) is no claim to be that item.
            for names in by_name.get(i["name"], ()) if i.get("parent") is None else ():
                names.append(i["name"])
    out: list[CheckResult] = []
    folders: dict[Path, list[int]] = {}
    for n, f in enumerate(index.files):
        if f.folder is not None:
            folders.setdefault(f.folder, []).append(n)
        elif _misnamed(index, f, found[n], like[n]):
            out.append(_file_check(f, Status.FAILED, index.misnamed.get(f.path, like[n])))
        elif found[n]:
            out.append(_file_check(f, Status.PASSED, found[n]))
        elif f.path in index.used:
            continue  # matched to a hash-only item by name: that item's digest check judges it
        else:
            out.append(_file_check(f, Status.INDETERMINATE, []))
    for folder, members in folders.items():
        out.append(_folder_check(index, folder, members, found, like))
    return out


def _misnamed(index: DataIndex, f: DataFile, found: list[str], like: list[str]) -> bool:
    """Whether ``f`` bears a top item's name (``like``) without that item's content (``found``: the items it
    equals), or was found by :meth:`DataIndex.find` to do so while it was matched as another item's content.
    A file matched to a hash-only item by name alone is judged by that item's digest check instead."""
    if f.path in index.misnamed:
        return True
    if not like or set(like) <= set(found):
        return False
    return bool(found) or f.path not in index.used


def _file_check(f: DataFile, status: Status, items: list[str]) -> CheckResult:
    """The check of a file given alone: it is ``items`` (PASSED), given in their place (FAILED), or no item."""
    p, facts = f.path, {"file": str(f.path), "items": items, "sm3": f.digests.sm3, "sha256": f.digests.sha256}
    reproduce = f"openssl dgst -sm3 '{p}' ; sha256sum '{p}'"
    named = ", ".join(items[:3])
    if status is Status.PASSED:
        detail = f"{p} is item {named} of this deposit (SM3 and SHA-256 match)"
        return CheckResult(f"data:{p}", status, detail, facts, reproduce)
    if status is Status.FAILED:
        detail = (
            f"{p} is given in the place of item {named} of this deposit, but its SM3 and SHA-256 are not that "
            "item's: it is not the deposited original"
        )
        return CheckResult(f"data:{p}", status, detail, facts, reproduce, reason="DIGEST_MISMATCH")
    detail = (
        f"{p} is no item of this deposit (no item has its content or its name): it says nothing about the "
        "deposit, which is judged by its own checks"
    )
    return CheckResult(
        f"data:{p}", status, detail, {k: v for k, v in facts.items() if k != "items"}, reason="NOT_COVERED"
    )


def _folder_check(
    index: DataIndex, folder: Path, members: list[int], found: dict[int, list[str]], like: dict[int, list[str]]
) -> CheckResult:
    """The check of a ``--data`` folder: FAILED when a file in it bears an item's name but not its content,
    INDETERMINATE when a file in it is no item, else PASSED."""
    files = [index.files[n] for n in members]
    altered = [
        index.files[n].name for n in members if _misnamed(index, index.files[n], found.get(n, []), like.get(n, []))
    ]
    extra = [index.files[n].name for n in members if n in found and not found[n] and not like[n]]
    facts: dict[str, Any] = {"folder": str(folder), "files": len(files)}
    facts["matched"] = len(files) - len(altered) - len(extra)
    if extra:
        facts["not_items"] = extra[:100]
    if altered:
        facts["altered"] = altered[:100]
        detail = (
            f"{len(altered)} of the {len(files)} files in {folder}/ bear the name of an item of this deposit but "
            f"not its content: {', '.join(altered[:5])}{' …' if len(altered) > 5 else ''}"
        )
        return CheckResult(f"data:{folder}/", Status.FAILED, detail, facts, reason="DIGEST_MISMATCH")
    if extra:
        detail = (
            f"{len(extra)} of the {len(files)} files in {folder}/ are no item of this deposit: "
            f"{', '.join(extra[:5])}{' …' if len(extra) > 5 else ''}"
        )
        return CheckResult(f"data:{folder}/", Status.INDETERMINATE, detail, facts, reason="NOT_COVERED")
    detail = f"each of the {len(files)} files in {folder}/ is an item of this deposit (by name or digest)"
    return CheckResult(f"data:{folder}/", Status.PASSED, detail, facts)
