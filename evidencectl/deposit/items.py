"""Stage: the item spool. Every item record is numbered, spooled and folded into the trees as it is made.

A deposit of 200,000 files must not hold 200,000 records: each record's canonical JSON (its leaf bytes) goes
to a spool file, one a line (canonical JSON holds no raw newline), and manifest.json is later streamed from
it (:mod:`.seal`). Only the trees' running state and the registry rows (marshalled a batch at a time) are
kept, the rows in a second spool.
"""

from __future__ import annotations

import base64
import marshal
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from itertools import repeat
from pathlib import Path
from typing import Any, BinaryIO

from ..collect.analysis import ChildPart
from ..collect.files import InputFile
from ..collect.parts import MemberNames, part_member
from ..display import invisible_in_name
from ..hashing import ALGORITHMS, Digests, digest_bytes, digest_stream
from ..intake import member_blob, run_members
from ..merkle import RootAfterFirst, leaf_hash
from ..package.model import ItemRecord, encode_leaf, renumbered
from ..package.writer import PackageWriter
from ..preparedfiles import Prepared, PreparedRun
from ..registry import ItemRow

_PORTABLE = re.compile(r"^[^\x00-\x1f\x7f\\:*?\"<>|]+\Z")  # \Z: ``$`` also matches before a final newline
# Names Windows cannot give a file (a device, whatever the extension: ``CON``, ``aux.txt``, ``com1``), and
# names it changes (a trailing dot or space is dropped, so ``x.txt.`` and ``x.txt`` are one file there).
_WINDOWS_DEVICE = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)


def _component_ok(part: str) -> bool:
    return part not in ("", ".", "..") and not part.endswith((".", " ")) and not _WINDOWS_DEVICE.match(part)


_FOLDERS_OK: dict[str, bool] = {}
"""Whether every component of a folder name is one Windows can create, per folder seen: the files of a
folder share it (10,000 files in 10 folders: 10 folder checks, not 30,000 component checks)."""


def _folder_ok(folder: str) -> bool:
    ok = _FOLDERS_OK.get(folder)
    if ok is None:
        if len(_FOLDERS_OK) >= 4096:
            _FOLDERS_OK.clear()  # a tree of many folders: keep the memory bounded
        ok = _FOLDERS_OK[folder] = all(_component_ok(p) for p in folder.split("/"))
    return ok


def _member_for(name: str, item_id: int) -> str:
    """The package member that holds item ``name`` (its item id names it when the name is not portable)."""
    # A bidi control or an invisible character would make the member read as another name in every ZIP
    # tool's listing: such a name is kept exactly in the manifest only, its member named by its id. So is
    # a name Windows cannot extract as it is (a device name, a trailing dot or space) in any component.
    if _PORTABLE.match(name) and not invisible_in_name(name):
        folder, slash, leaf = name.rpartition("/")
        # A leaf of five characters or more whose 4th and 5th are not a dot and that does not end with a dot
        # or a space is no device name (3 or 4 letters, then the end or a dot): _component_ok without its
        # pattern (0.70 -> 0.56 us a name, "Worker per-file CPU" in benchmarks/README.md).
        plain = len(leaf) > 4 and leaf[3] != "." and leaf[4] != "." and leaf[-1] not in ". "
        if (plain or _component_ok(leaf)) and (not slash or _folder_ok(folder)):
            return f"evidence/{name}"
    return f"evidence/_nonportable/{item_id}"


class ItemSpool:
    """The items of one deposit as they are made: spooled records, running trees, registry rows.

    ``writer`` is None for ``--hash-only`` (no originals are stored).
    """

    def __init__(self, writer: PackageWriter | None, spool_dir: Path, deposit_id: str) -> None:
        self.writer = writer
        self.deposit_id = deposit_id
        self.count = 0
        self.spool = tempfile.TemporaryFile(dir=spool_dir)  # noqa: SIM115 - closed by close()
        # The registry's row of every item, marshalled a batch at a time: parsing the records back was a
        # quarter of their cost.
        self.rows = tempfile.TemporaryFile(dir=spool_dir)  # noqa: SIM115 - closed by close()
        self.batch: list[ItemRow] = []
        # The trees are folded as the leaves come: no list of leaf hashes, no tree to build at the end.
        self.trees = {alg: RootAfterFirst(alg) for alg in ALGORITHMS}
        self.warnings: list[str] = []
        self.names = MemberNames()
        # Item names, kept distinct: a part's name (``x.eml/body-1.txt``) can be the name of another input
        # (a folder ``x.eml/`` given beside the mail), and a name must pick one item (``extract --item``).
        self.taken: set[str] = set()
        self.renamed: dict[str, str] = {}
        """new item name -> why it was renamed."""

    def unique_name(self, name: str) -> str:
        """``name``, or ``name (2)`` (before its extension) when another item of the deposit has it; taken."""
        if name not in self.taken:
            self.taken.add(name)
            return name
        head, slash, leaf = name.rpartition("/")
        stem, dot, ext = leaf.rpartition(".")
        n = 2
        while True:
            new = f"{head}{slash}{stem} ({n}).{ext}" if dot and stem else f"{name} ({n})"
            if new not in self.taken:
                break
            n += 1
        self.taken.add(new)
        self.renamed[new] = f"named {new}, not {name}: another item of this deposit has that name"
        return new

    def add(
        self,
        name: str,
        kind: str,
        media_type: str,
        digests: Digests,
        metadata: dict[str, Any],
        parent: int | None,
        member: str | None,
        name_raw: bytes | None = None,
    ) -> int:
        """Record one item; returns its id."""
        self.count += 1
        record = ItemRecord(
            self.count, name, kind, media_type, digests.size, digests.as_dict(), parent, member, metadata
        )
        for note in (self.names.renamed.get(member or ""), self.renamed.get(name)):
            if note is not None:  # a member that collided on case-insensitive systems, or a name taken
                record.metadata = {**record.metadata, "warnings": [*record.metadata.get("warnings", []), note]}
                self.warnings.append(f"{name}: {note}")
        if name_raw is not None:
            record.name_raw = base64.b64encode(name_raw).decode("ascii")
            record.metadata = {**record.metadata, "name_not_utf8": True}
        row = (self.deposit_id, self.count, name, kind, digests.size, digests.sm3, digests.sha256)
        self._take(encode_leaf(record), None, row)
        return self.count

    def add_prepared(self, f: InputFile, p: Prepared, assumed_id: int) -> None:
        """Take a record a worker made, numbering it anew when derived parts before it moved its id. Its
        member was taken by the caller (:meth:`~evidencectl.collect.parts.MemberNames.take`), which also
        found its name free."""
        self.taken.add(f.name)
        if self.writer is not None and p.member is not None:
            self.writer.add_prepared(p.member, member_blob(p), p.header_len, p.crc)
        self.count += 1
        record = p.record
        leaves: tuple[bytes, bytes] | None = (p.leaf_sm3, p.leaf_sha256)
        if assumed_id != self.count:
            # The member name does not depend on the id (workers leave non-portable names alone).
            record, leaves = renumbered(record, assumed_id, self.count), None
        self._take(record, leaves, (self.deposit_id, self.count, f.name, p.kind, p.size, p.sm3, p.sha256))

    def add_run(self, names: list[str], run: PreparedRun) -> bool:
        """Take a run of prepared files (``names``: their item names, in order) in bulk, as
        :meth:`add_prepared` of each would (True); False, having taken nothing, when one of them would be
        taken otherwise (its id moved, its name or member taken): the caller then takes them one by one."""
        n = len(names)
        if self.count != run.start or len(run.sizes) != n:
            return False
        taken = self.taken
        if len(set(names)) != n or not taken.isdisjoint(names):
            return False
        if self.writer is not None:
            members = run.members
            if run.at < 0 or not self.names.take_all(members):  # type: ignore[arg-type]
                return False
            self.writer.add_run(members, run_members(run), run.offsets, run.header_lens, run.sizes, run.crcs)  # type: ignore[arg-type]
        taken.update(names)
        self.spool.write(run.records)
        leaves = dict(zip(("sm3", "sha256"), (run.leaves_sm3, run.leaves_sha256), strict=True))
        for alg in ALGORITHMS:
            self.trees[alg].add_all(leaves[alg])
        first = self.count + 1
        self.count += n
        rows = zip(repeat(self.deposit_id), range(first, first + n), names, run.kinds, run.sizes, run.sm3s, run.sha256s)
        self.batch.extend(rows)
        if len(self.batch) >= 1024:
            self._dump_batch()
        return True

    def _take(self, record: bytes, leaves: tuple[bytes, bytes] | None, row: ItemRow) -> None:
        """Spool a record's leaf bytes, fold its leaf hashes (``ALGORITHMS`` order; made here when not given)
        into the trees, and batch its registry row."""
        self.spool.write(record + b"\n")
        for n, alg in enumerate(ALGORITHMS):
            self.trees[alg].add(leaves[n] if leaves is not None else leaf_hash(alg, record))
        self.batch.append(row)
        if len(self.batch) == 1024:
            self._dump_batch()

    def records(self) -> Iterator[bytes]:
        """Every record's canonical JSON, in order."""
        self.spool.flush()
        self.spool.seek(0)
        for line in self.spool:
            yield line.rstrip(b"\n")

    def registry_rows(self) -> Iterator[ItemRow]:
        """The registry's row of every item."""
        if self.batch:
            self._dump_batch()
        self.rows.flush()
        end = self.rows.tell()
        self.rows.seek(0)
        while self.rows.tell() < end:
            size = int.from_bytes(self.rows.read(8), "little")
            yield from marshal.loads(self.rows.read(size))

    def _dump_batch(self) -> None:
        """Spool the batched rows, their length first: ``marshal.load`` of a file reads it a field at a
        time through the file object (30 ms for 10,000 rows, at the end of a deposit), ``marshal.loads``
        of the batch's bytes 2 ms."""
        blob = marshal.dumps(self.batch)
        self.rows.write(len(blob).to_bytes(8, "little"))
        self.rows.write(blob)
        self.batch.clear()

    def store(
        self,
        member: str | None,
        source: BinaryIO | None,
        data: bytes | None,
        progress: Callable[[int], None] | None,
    ) -> Digests:
        """Hash ``data`` (or stream ``source``) and, unless ``member`` is None, store it in the package."""
        if self.writer is None or member is None:
            if data is not None:
                return digest_bytes(data)
            assert source is not None
            return digest_stream(source, progress=progress)
        return self.writer.add_original(member, source, data=data, progress=progress)

    def add_children(
        self,
        parent_id: int,
        parent_name: str,
        children: Iterable[ChildPart],
        hash_only: bool,
        parent_member: str | None,
    ) -> None:
        """Record the parts derived from item ``parent_id`` (and theirs), depth first."""
        for child in children:
            name = self.unique_name(f"{parent_name}/{child.name}")
            member = None if hash_only or not parent_member else part_member(parent_member, child.name)
            member = self.names.claim(member, self.count + 1)
            digests = self.store(member, None, child.data, None)
            cid = self.add(name, child.kind, child.media_type, digests, dict(child.metadata), parent_id, member)
            self.add_children(cid, name, child.children, hash_only, member)

    def close(self) -> None:
        """Drop the spools."""
        self.spool.close()
        self.rows.close()
