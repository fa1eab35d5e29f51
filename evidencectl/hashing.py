"""Streaming multi-digest: SM3 and SHA-256 of the same bytes in one read, the algorithms in parallel threads.

hashlib releases the GIL while it hashes buffers of 2 KiB and more, so SHA-256 runs on one core while SM3
(the slower of the two) runs on the other: a large file costs about what SM3 alone costs.

Small inputs (the common case when a folder of documents is deposited) never start a thread: they are read
into a per-thread scratch buffer that is reused from one file to the next, and hashed inline. Allocating
(and zero-filling) fresh megabyte buffers and starting two threads per file used to cost more than hashing
a 4 KiB file itself.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from .errors import BadInputError
from .i18n import _

if TYPE_CHECKING:
    from concurrent.futures import Future

ALGORITHMS: tuple[str, ...] = ("sm3", "sha256")
"""Digest algorithms every item gets, in the order they appear in files."""

CHUNK = 1 << 20
"""Read size for large inputs: large enough to amortise thread hand-offs, small enough for constant memory."""

SMALL = 256 << 10
"""Inputs up to this size are hashed inline: two thread hand-offs would cost more than they save."""

SLOTS = 4
"""Buffers in the ring of the parallel pipeline: the reader can run up to three chunks ahead of a hasher."""

_local = threading.local()


class Digests(NamedTuple):
    """The digests of one item's bytes (a named tuple: a verification makes one per item, and a frozen
    dataclass took 3 us to build)."""

    sm3: str
    """SM3 (GB/T 32905), lower-case hex."""
    sha256: str
    """SHA-256, lower-case hex."""
    size: int
    """Number of bytes hashed."""

    def as_dict(self) -> dict[str, str]:
        """``{"sm3": ..., "sha256": ...}`` as stored in the manifest."""
        return {"sm3": self.sm3, "sha256": self.sha256}


def new_hash(name: str) -> hashlib._Hash:
    """A hashlib object for ``sm3``, ``sha256``, ``sha384`` or ``sha512``."""
    return hashlib.new(name)


def digest_bytes(data: bytes | bytearray | memoryview) -> Digests:
    """Digests of an in-memory byte string."""
    return Digests(
        sm3=hashlib.new("sm3", data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )


def _ring(chunk: int) -> list[bytearray]:
    """This thread's ring of reusable read buffers of ``chunk`` bytes (allocated once per thread and size)."""
    rings: dict[int, list[bytearray]] | None = getattr(_local, "rings", None)
    if rings is None:
        rings = _local.rings = {}
    ring = rings.get(chunk)
    if ring is None:
        # Keep only the default size for reuse; odd sizes (tests, callers tuning the chunk) are transient.
        ring = [bytearray(chunk) for _ in range(SLOTS)]
        if chunk == CHUNK:
            rings[chunk] = ring
    return ring


def _fill(stream: BinaryIO, view: memoryview) -> int:
    """Read until ``view`` is full or the stream ends (pipes return short reads before their end)."""
    total = 0
    while total < len(view):
        n = stream.readinto(view[total:])  # type: ignore[attr-defined]
        if not n:
            break
        total += n
    return total


def _hasher(
    name: str,
    inbox: queue.SimpleQueue[tuple[int, int] | None],
    buffers: list[bytearray],
    release: Callable[[int], None],
    out: dict[str, str],
) -> None:
    h = hashlib.new(name)
    while True:
        job = inbox.get()
        if job is None:
            break
        index, length = job
        h.update(memoryview(buffers[index])[:length])
        release(index)
    out[name] = h.hexdigest()


def digest_stream(
    stream: BinaryIO,
    *,
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
    sink: Callable[[memoryview], object] | None = None,
) -> Digests:
    """Digests of a binary stream read once to its end, in constant memory.

    The first chunk is read into this thread's reusable buffer; a stream that ends within it is hashed
    inline. A longer stream goes through the pipeline: this thread fills a ring of reused buffers with
    ``readinto``, one thread per algorithm hashes each buffer, and a buffer returns to the ring when every
    hasher is done with it. ``sink``, when given, receives every chunk before it is hashed (the package
    writer copies the original this way, so the bytes are read once for hashing and storing).
    """
    buffers = _ring(chunk)
    first = _fill(stream, memoryview(buffers[0]))
    if first < chunk:
        view = memoryview(buffers[0])[:first]
        if sink is not None and first:
            sink(view)
        if progress is not None:
            progress(first)
        return digest_bytes(view)
    return _pipeline(stream, buffers, first, progress, sink)


def _pipeline(
    stream: BinaryIO,
    buffers: list[bytearray],
    first: int,
    progress: Callable[[int], None] | None,
    sink: Callable[[memoryview], object] | None,
) -> Digests:
    free: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(1, len(buffers)):
        free.put(i)
    pending = [0] * len(buffers)
    lock = threading.Lock()

    def release(index: int) -> None:
        with lock:
            pending[index] -= 1
            done = pending[index] == 0
        if done:
            free.put(index)

    inboxes: dict[str, queue.SimpleQueue[tuple[int, int] | None]] = {a: queue.SimpleQueue() for a in ALGORITHMS}
    out: dict[str, str] = {}
    threads = [
        threading.Thread(target=_hasher, args=(a, inboxes[a], buffers, release, out), daemon=True) for a in ALGORITHMS
    ]
    for t in threads:
        t.start()
    size = 0
    index, n = 0, first
    try:
        while n:
            size += n
            if sink is not None:
                sink(memoryview(buffers[index])[:n])
            with lock:
                pending[index] = len(ALGORITHMS)
            for a in ALGORITHMS:
                inboxes[a].put((index, n))
            if progress is not None:
                progress(n)
            index = free.get()
            n = stream.readinto(memoryview(buffers[index]))  # type: ignore[attr-defined]
    finally:
        for a in ALGORITHMS:
            inboxes[a].put(None)
        for t in threads:
            t.join()
    # The ring is this thread's again only after every hasher has stopped reading it.
    return Digests(sm3=out["sm3"], sha256=out["sha256"], size=size)


def read_head(path: Path, size: int) -> tuple[bytes, Digests | None]:
    """The first ``size`` bytes of a file and, when the file is no longer than that, its digests.

    One open and one read serve both the content sniffing of a deposit and the hashing of small files.
    """
    buf = _ring(CHUNK)[0]
    view = memoryview(buf)[: max(size, SMALL) + 1]
    try:
        with open(path, "rb", buffering=0) as f:
            n = _fill(f, view)
    except IsADirectoryError as exc:
        raise BadInputError(_("is a directory, not a file"), path=path) from exc
    except OSError as exc:
        raise BadInputError(_("cannot read: {value}").format(value=exc.strerror or exc), path=path) from exc
    head = bytes(view[: min(n, size)])
    return head, (digest_bytes(view[:n]) if n <= SMALL else None)


def digest_file(path: Path, *, progress: Callable[[int], None] | None = None) -> Digests:
    """Digests of a file's bytes; small files inline, large ones through the parallel pipeline."""
    try:
        with open(path, "rb", buffering=0) as f:
            return digest_stream(f, progress=progress)
    except IsADirectoryError as exc:
        raise BadInputError(_("is a directory, not a file"), path=path) from exc
    except OSError as exc:
        raise BadInputError(_("cannot read: {value}").format(value=exc.strerror or exc), path=path) from exc


def _digest_batch(paths: list[Path], progress: Callable[[int], None] | None) -> list[Digests]:
    return [digest_file(p, progress=progress) for p in paths]


def digest_files(
    paths: Iterable[Path], *, workers: int = 2, batch: int = 64, progress: Callable[[int], None] | None = None
) -> Iterator[tuple[Path, Digests]]:
    """Digests of many files, in input order.

    Files go to ``workers`` threads in batches of ``batch``: one hand-off per batch instead of one per file,
    so the per-file cost stays that of opening, reading and hashing the file.
    """
    # here: a deposit hashes in worker processes, and concurrent.futures (with logging) costs its start ~2 ms
    from concurrent.futures import ThreadPoolExecutor

    window = max(2, workers * 2)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        queued: list[tuple[list[Path], Future[list[Digests]]]] = []
        group: list[Path] = []

        def submit() -> None:
            queued.append((group[:], pool.submit(_digest_batch, group[:], progress)))
            group.clear()

        for p in paths:
            group.append(p)
            if len(group) >= batch:
                submit()
                if len(queued) >= window:
                    done_paths, fut = queued.pop(0)
                    yield from zip(done_paths, fut.result(), strict=True)
        if group:
            submit()
        for done_paths, fut in queued:
            yield from zip(done_paths, fut.result(), strict=True)
