"""Reading, hashing, analysing and recording many small files in worker processes.

A deposit of thousands of small files is bound by per-file work in Python (open, read, SM3 and SHA-256,
type sniffing, the canonical record and its two leaf hashes, the ZIP member header), not by the disk. On a
machine with several CPUs that work is shared out to forked worker processes, a chunk of consecutive files
each; the deposit process takes the results back in input order and only appends them to the package, the
record spool and the leaf lists. The package is byte-for-byte what the one-process path writes, apart from
the random salts.

A worker prepares a file completely when it has no derived parts, no warnings, a portable UTF-8 name and at
most :data:`~evidencectl.hashing.SMALL` bytes. Its record assumes item id = input position + 1; once a mail
or mailbox before it has added derived items, the deposit process writes the right id into the record and
hashes its leaf again. For any other file a worker hands back what it read and analysed (or nothing) and
the deposit process does the rest, exactly as it would without workers, so every error is raised in input
order with the same message.

What it buys (benchmarks/README.md): a deposit of 20,000 x 4 KiB files went from 1.95 s to about 1.0 s on 2
CPUs. The members travel through an anonymous shared ``mmap`` (:data:`SLOT` bytes a chunk in flight), not the
pipe: about 0.8 KB a file goes through the pipe instead of 5 KB, and taking 20,000 members of 4 KiB costs the
deposit process 12 ms of CPU time instead of 99 ms unpickling them (benchmarks/fastpaths.py).
tests/test_intake.py checks that the package is the one the one-process path writes.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import hashlib
import itertools
import mmap
import os
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from . import workers as forks
from .collect.files import InputFile, Whole, changed_while_read
from .display import invisible_in_name
from .hashing import SMALL, Digests
from .merkle import leaf_hash
from .package.layout import EVIDENCE
from .package.manifest import new_salt
from .package.model import item_leaf
from .package.prepared import stored_member
from .preparedfiles import Handed, Prepared, PreparedRun, run_of

MIN_FILES = 512
"""Fewer files than this are done in the deposit process: forking workers would cost more than it saves."""
CHUNK = 128
"""Files per task handed to a worker."""
SLOT = 2 << 20
"""Bytes of shared memory per chunk in flight: workers put the members they make there, not in the pipe."""


@dataclass(frozen=True)
class _Job:
    """What the workers of one deposit read, and where its members are: the options they need, the shared
    buffer."""

    hash_only: bool
    strict: bool
    offline: bool
    keys: Mapping[str, bytes] | None
    member_for: Any
    shared: mmap.mmap
    view: memoryview


_JOBS: dict[int, _Job] = {}
"""The deposits with workers under way in this process, by key. Forked workers inherit this dict as it is
when they are forked; every task names its deposit's key, and every prepared member names the key whose
buffer holds it. Never one job replaced in place: the evidence service deposits in a thread pool, and with
one shared job a deposit whose workers were forked after another had registered its own stored into that
other's buffer and read its members back from it (tests/test_attack_deposit_concurrent.py)."""
_KEYS = itertools.count(1)

_OPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_NONBLOCK", 0)
_MORE = 1 << 16
"""What a read after the first asks for: only a file that grew since its status was taken has more."""


def read_small(location: str) -> Whole | None:
    """:func:`~evidencectl.collect.files.read_whole` ``(location, SMALL, SMALL)`` as a worker does it: the
    same bytes, status and changed-while-read flag, and the same refusal of a file that is no longer regular
    (opened without blocking, so a FIFO put in its place is not waited on; OSError, and the deposit process
    then redoes the file through ``read_whole``, which words the refusal). It costs less per file: one
    status call at the open instead of two (the type check takes the status that is kept), and reads sized
    by that status. read_whole asks each read for everything up to the limit: 256 KiB allocated and handed
    back for a 4 KiB file, twice (the second read finds the end). Measured on 10,000 x 4 KiB files, CPU
    time: 14.4 us a file through read_whole, 9-10 us this way (benchmarks/README.md, "Small files, issue
    16"). The status after the read is compared field by field before ``changed_while_read`` words a change
    (0.2 us a file less, "Worker per-file CPU"). tests/test_small_files.py compares the two."""
    fd = os.open(location, _OPEN_FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file (replaced since the inputs were listed)")
        if st.st_size > SMALL:
            return None
        chunks = []
        total = 0
        ask = st.st_size + 1  # everything there is, and one byte to see whether there is more
        while total <= SMALL:  # read_whole's loop: until the end, or past the limit
            chunk = os.read(fd, min(ask, SMALL + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            ask = _MORE
        after = os.fstat(fd)
    finally:
        os.close(fd)
    if total > SMALL:
        return None
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    if after.st_size == st.st_size and after.st_mtime_ns == st.st_mtime_ns and after.st_ctime_ns == st.st_ctime_ns:
        return Whole(data, st, None)  # changed_while_read's three fields, unchanged
    return Whole(data, st, changed_while_read(st, after))


_SM3 = hashlib.new("sm3")
_SHA256 = hashlib.sha256()


def digests_of(data: bytes) -> Digests:
    """:func:`~evidencectl.hashing.digest_bytes`: copies of two empty hash objects cost less than two new
    ones (``hashlib.new("sm3")`` looks the algorithm up in OpenSSL every time, ~1.7 us)."""
    sm3, sha256 = _SM3.copy(), _SHA256.copy()
    sm3.update(data)
    sha256.update(data)
    return Digests(sm3.hexdigest(), sha256.hexdigest(), len(data))


_ANALYZE: Any = None
"""collect.analyze.analyze once a worker has called it: imported when first needed (the deposit process does
not load the analysers to import this module), then one global look-up a file instead of an import
statement (0.6 us)."""


def _prepare(
    job: _Job, key: int, index: int, location: str, name: str, member: str | None, place: Any
) -> Prepared | Handed | None:
    global _ANALYZE
    if not location or (member != EVIDENCE + name if member is not None else invisible_in_name(name)):
        # stdin, a non-UTF-8 name, a non-portable name (its member is named by its item id), or, with no
        # member (--hash-only), a name hiding characters: the deposit process warns of it (_hash_input)
        return None
    analyze = _ANALYZE
    if analyze is None:
        from .collect.analyze import analyze

        _ANALYZE = analyze
    try:
        got = read_small(location)
        if got is None:
            return None
        data, st, changed = got
        analysis = analyze(
            location,
            strict=job.strict,
            dkim_keys=job.keys,
            offline=job.offline,
            data=data,  # analysed from the very bytes hashed and stored
            stat=st,
            changed=changed,
        )
    except Exception:  # noqa: BLE001 - the deposit process redoes this file and reports the error in order
        return None
    digests = digests_of(data)
    if analysis.children or analysis.warnings:
        return Handed(data, digests, st, analysis)
    sm3, sha256, size = digests
    kind = analysis.kind
    # encode_leaf(ItemRecord(index + 1, name, ..., parent None, ...)) without the record (model.item_leaf).
    record = item_leaf(
        index + 1, name, kind, analysis.media_type, size, sm3, sha256, member, analysis.metadata, new_salt()
    )
    if member is not None:
        header, crc = stored_member(member, data)
        blob, at = place(header, data)
    else:
        header, crc, blob, at = b"", 0, b"", -1
    return Prepared(
        blob,
        at,
        len(header),
        crc,
        size,
        sm3,
        sha256,
        record,
        leaf_hash("sm3", record),
        leaf_hash("sha256", record),
        kind,
        member,
        key,
    )


def _work(
    key: int, start: int, files: list[tuple[str, str]], slot: int
) -> PreparedRun | list[Prepared | Handed | None]:
    """Prepare ``files`` (location and name; the first is input ``start``) of deposit ``key``; their members
    go to slot ``slot`` of its shared buffer while it has room. A chunk of prepared files only comes back as
    one :class:`~evidencectl.preparedfiles.PreparedRun`."""
    if forks.stopping():
        return []  # the deposit is being stopped: nobody reads this
    job = _JOBS[key]
    member_for = None if job.hash_only else job.member_for
    shared = job.shared
    pos, end = slot * SLOT, (slot + 1) * SLOT

    def place(header: bytes, data: bytes) -> tuple[bytes, int]:
        nonlocal pos
        n = len(header) + len(data)
        if pos + n > end:
            return header + data, -1  # the slot is full: this one travels through the pipe
        at = pos
        shared[at : at + len(header)] = header
        shared[at + len(header) : at + n] = data
        pos += n
        return b"", at

    done = [
        _prepare(job, key, i, location, name, member_for and member_for(name, i + 1), place)
        for i, (location, name) in enumerate(files, start)
    ]
    return run_of(start, done) or done


def _chunk_of(files: list[InputFile], start: int) -> list[tuple[str, str]]:
    """The task of the chunk of ``files`` at ``start``: location and name of each file a worker may
    prepare, ("", "") for one it leaves to the deposit process (stdin, a name that is not UTF-8)."""
    return [
        (f.location, f.name) if f.location is not None and f.name_raw is None else ("", "")
        for f in files[start : start + CHUNK]
    ]


class Workers:
    """Worker processes forked for one deposit, and the shared buffer they put members in.

    They are started before the inputs are walked (forking and loading the analysers overlaps the walk) and
    take their files with each task. :meth:`close` stops them; it is safe to call twice.
    """

    def __init__(
        self,
        count: int,
        *,
        hash_only: bool,
        strict: bool,
        offline: bool,
        keys: Mapping[str, bytes] | None,
        member_for: Any,
    ) -> None:
        self.count = count
        self.slots = 3 * count + 1
        self._free = list(range(self.slots))
        self._pending: collections.deque[tuple[Any, int, int, list[tuple[str, str]]]] = collections.deque()
        self._next = 0  # the first input not handed out yet
        self.shared = mmap.mmap(-1, self.slots * SLOT)  # anonymous, shared with the forked workers
        self.view = memoryview(self.shared)
        # Registered before the fork, never changed after it: the workers inherit it as it is.
        self.key = next(_KEYS)
        _JOBS[self.key] = _Job(hash_only, strict, offline, keys, member_for, self.shared, self.view)
        # The workers load the analysers while the deposit process is still walking the folders.
        try:
            self.pool: Any = forks.fork_pool(count, preload=("evidencectl.collect.analyze",))
        except BaseException:
            del _JOBS[self.key]
            raise

    def _submit(self, files: list[InputFile]) -> None:
        """Hand out the chunk of ``files`` that starts at the first input not handed out yet."""
        start = self._next
        chunk = _chunk_of(files, start)
        self._next = start + len(chunk)
        slot = self._free.pop()
        self._pending.append((self.pool.apply_async(_work, (self.key, start, chunk, slot)), slot, start, chunk))

    def ahead(self, files: list[InputFile]) -> None:
        """Hand out the complete chunks of ``files``, the inputs walked so far, while the walk goes on (as
        many as :meth:`prepared` keeps in flight): the workers hash the first folders while the next ones are
        listed. A chunk whose files are not the inputs finally deposited at its place (a name changed by the
        listing, a file passed over) is not used (:meth:`prepared`)."""
        while len(self._pending) < self.slots - 1 and self._next + CHUNK <= len(files):
            self._submit(files)

    def prepared(
        self, files: list[InputFile], meanwhile: Callable[[], None] | None = None
    ) -> Iterator[PreparedRun | Prepared | Handed | None]:
        """What the workers made of each of ``files``, in order (None: the caller does that file itself); a
        :class:`~evidencectl.preparedfiles.PreparedRun` stands for as many files as it holds.

        At most a few chunks per worker are in flight, so results never pile up in memory when the caller
        is the slower side. Stdin, non-UTF-8 names and names that are not portable are left to the caller.
        ``meanwhile`` runs once the first chunks are handed out, while the workers hash them. It runs in
        this thread, not another: two threads importing modules at once can meet a circular import half
        done and fail.
        """
        while len(self._pending) < self.slots - 1 and self._next < len(files):
            self._submit(files)
        if meanwhile is not None:
            meanwhile()
        while self._pending:
            result, slot, start, chunk = self._pending.popleft()
            done = result.get()
            if self._next < len(files):
                self._submit(files)  # keep the workers busy while this chunk is taken (its slot is not free yet)
            if chunk != _chunk_of(files, start):  # handed out by ahead() for inputs that came out otherwise
                done = [None] * len(files[start : start + CHUNK])
            if isinstance(done, PreparedRun):
                yield done
            else:
                yield from done
            self._free.append(slot)

    def close(self) -> None:
        """Stop the workers and drop the shared buffer."""
        if self.pool is None:
            return
        forks.stop_pool(self.pool)
        self.pool = None
        self.view.release()
        with contextlib.suppress(BufferError):  # a caller still holding a member view: the mmap goes with it
            self.shared.close()
        _JOBS.pop(self.key, None)


def member_blob(p: Prepared) -> bytes | memoryview:
    """The local header and bytes of a prepared member (valid until :meth:`Workers.close` of its deposit):
    from the shared buffer of the deposit ``p`` names, whichever other deposits run beside it."""
    if p.at < 0:
        return p.blob
    return _JOBS[p.job].view[p.at : p.at + p.header_len + p.size]


def run_members(run: PreparedRun) -> memoryview:
    """The local headers and bytes of every member of ``run``, one after another (valid as
    :func:`member_blob`'s)."""
    return _JOBS[run.job].view[run.at : run.at + run.length]
