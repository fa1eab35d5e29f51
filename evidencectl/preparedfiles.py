"""What the worker processes of a deposit (evidencectl/intake.py) hand back: a file prepared, a file handed
back with its bytes and analysis, and a chunk of prepared files as one run of columns, taken in bulk.

When every file of a chunk came out :class:`Prepared` with its member in the shared
buffer, the worker sends the chunk as a :class:`PreparedRun`: the members lie one after another in the
buffer, so the deposit process appends them with one write; the records go to the spool as one write, the
registry rows into the batch in one ``extend``, the names into the name tables with set operations
(:meth:`~evidencectl.package.membernames.NameSpace.take_all`). Anything that could make one file of the run
differ from what the per-file path does (an item id moved by a mail's parts, a name already taken, a digest
the input list gives, a member name not at C speed, an offset near the ZIP64 limit) sends the whole run
through the per-file path instead, as the :class:`Prepared` files it is made of
(:meth:`PreparedRun.expand`).

What it buys (benchmarks/README.md, "Runs of prepared files"): taking 10,000 prepared 4 KiB files cost the
deposit process 12 us a file one by one, about 5 us as runs of 128, and the results travel as columns rather
than 128 pickled tuples. tests/test_intake_runs.py checks that a package taken as runs is the one taken file
by file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

from .collect.analysis import Analysis
from .hashing import Digests


class Prepared(NamedTuple):
    """A small file a worker read, hashed, analysed and recorded (plain values only: cheap to pickle)."""

    blob: bytes
    """The ZIP local header followed by the file's bytes, when not in shared memory (empty for
    ``--hash-only``); see :func:`~evidencectl.intake.member_blob`."""
    at: int
    """Where the header and bytes are in the shared buffer; -1 when they are in ``blob``."""
    header_len: int
    """Length of the local header at the start of ``blob``."""
    crc: int
    """CRC-32 of the bytes."""
    size: int
    """Number of bytes."""
    sm3: str
    """SM3 of the bytes, hex."""
    sha256: str
    """SHA-256 of the bytes, hex."""
    record: bytes
    """Canonical JSON of its item record, with id = input position + 1."""
    leaf_sm3: bytes
    """SM3 leaf hash of ``record``."""
    leaf_sha256: bytes
    """SHA-256 leaf hash of ``record``."""
    kind: str
    """The record's kind (for the registry row)."""
    member: str | None
    """The package member holding the file (None for ``--hash-only``)."""
    job: int
    """The key of the deposit whose shared buffer holds the member (see :func:`~evidencectl.intake.member_blob`)."""


class Handed(NamedTuple):
    """A small file a worker read and analysed but left for the deposit process to record."""

    data: bytes
    """The file's bytes."""
    digests: Digests
    """SM3 and SHA-256 of the bytes."""
    stat: os.stat_result
    """The file's status, taken from the open file."""
    analysis: Analysis
    """Its :class:`~evidencectl.collect.analysis.Analysis` (derived parts or warnings), so that a mail is not
    parsed twice."""


class PreparedRun(NamedTuple):
    """Consecutive prepared files, input ``start`` first, as columns (one value per file in each)."""

    start: int
    """Input index of the first file (its item id is ``start + 1`` when no derived part came before)."""
    job: int
    """The key of the deposit whose shared buffer holds the members."""
    at: int
    """Where the first member's local header is in that buffer (-1 for ``--hash-only``: no members)."""
    length: int
    """Bytes of all the local headers and file bytes, one member after another from ``at``."""
    offsets: tuple[int, ...]
    """Where each member's local header is, from ``at``."""
    header_lens: tuple[int, ...]
    sizes: tuple[int, ...]
    crcs: tuple[int, ...]
    sm3s: tuple[str, ...]
    sha256s: tuple[str, ...]
    kinds: tuple[str, ...]
    members: tuple[str | None, ...]
    records: bytes
    """Every record's canonical JSON followed by a newline: the lines the item spool writes."""
    leaves_sm3: tuple[bytes, ...]
    leaves_sha256: tuple[bytes, ...]

    def expand(self) -> list[Prepared]:
        """The run as the :class:`Prepared` files it was made of."""
        records = self.records.split(b"\n")  # canonical JSON holds no raw newline
        return [
            Prepared(
                b"",
                -1 if self.at < 0 else self.at + self.offsets[i],
                self.header_lens[i],
                self.crcs[i],
                self.sizes[i],
                self.sm3s[i],
                self.sha256s[i],
                records[i],
                self.leaves_sm3[i],
                self.leaves_sha256[i],
                self.kinds[i],
                self.members[i],
                self.job,
            )
            for i in range(len(self.sizes))
        ]


def run_of(start: int, done: Sequence[object]) -> PreparedRun | None:
    """``done`` (a worker's results for inputs ``start``, ``start + 1``, …) as a run, or None when one of
    them is not a Prepared file, or its member travels in the pipe, or the members do not follow one
    another in the shared buffer."""
    if not done or not all(type(p) is Prepared for p in done):
        return None
    cols = list(zip(*done, strict=True))  # type: ignore[call-overload]
    blobs, ats, header_lens, crcs, sizes, sm3s, sha256s, records, leaves_sm3, leaves_sha256, kinds, members, jobs = cols
    if any(blobs) or len(set(jobs)) != 1:
        return None
    length = sum(header_lens) + sum(sizes)
    if members[0] is None:
        if any(m is not None for m in members):
            return None
        at, offsets = -1, (0,) * len(done)
    else:
        at = ats[0]
        last = done[-1]
        assert isinstance(last, Prepared)
        if min(ats) < 0 or any(m is None for m in members) or last.at + last.header_len + last.size - at != length:
            return None
        offsets = tuple(a - at for a in ats)
    return PreparedRun(
        start,
        jobs[0],
        at,
        length if at >= 0 else 0,
        offsets,
        header_lens,
        sizes,
        crcs,
        sm3s,
        sha256s,
        kinds,
        members,
        b"\n".join(records) + b"\n",
        leaves_sm3,
        leaves_sha256,
    )
