"""Streaming multi-digest: SM3 and SHA-256 of the same bytes in one read, the algorithms in parallel threads.

hashlib releases the GIL while it hashes buffers of 2 KiB and more, so SHA-256 runs on one core while SM3
(the slower of the two) runs on the other: a large file costs about what SM3 alone costs.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import BadInputError

ALGORITHMS: tuple[str, ...] = ("sm3", "sha256")
"""Digest algorithms every item gets, in the order they appear in files."""

CHUNK = 1 << 20
"""Read size for large inputs: large enough to amortise thread hand-offs, small enough for constant memory."""

SMALL = 256 << 10
"""Inputs up to this size are hashed inline: two thread hand-offs would cost more than they save."""


@dataclass(frozen=True)
class Digests:
    """The digests of one item's bytes."""

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


def digest_bytes(data: bytes) -> Digests:
    """Digests of an in-memory byte string."""
    return Digests(
        sm3=hashlib.new("sm3", data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )


def _hasher(name: str, inbox: queue.Queue[tuple[int, int] | None], buffers: list[bytearray],
            release: Callable[[int], None], out: dict[str, str]) -> None:
    h = hashlib.new(name)
    while True:
        job = inbox.get()
        if job is None:
            break
        index, length = job
        h.update(memoryview(buffers[index])[:length])
        release(index)
    out[name] = h.hexdigest()


def digest_stream(stream: BinaryIO, *, chunk: int = CHUNK, progress: Callable[[int], None] | None = None,
                  sink: Callable[[memoryview], object] | None = None) -> Digests:
    """Digests of a binary stream read once to its end, in constant memory.

    A reader (this thread) fills a small ring of reused buffers with ``readinto``; one thread per algorithm
    hashes each buffer; a buffer returns to the ring when every hasher is done with it. ``sink``, when given,
    receives every chunk before it is hashed (the package writer copies the original this way, so the bytes
    are read once for hashing and storing).
    """
    slots = 4
    buffers = [bytearray(chunk) for _ in range(slots)]
    free: queue.Queue[int] = queue.Queue()
    for i in range(slots):
        free.put(i)
    pending = [0] * slots
    lock = threading.Lock()

    def release(index: int) -> None:
        with lock:
            pending[index] -= 1
            done = pending[index] == 0
        if done:
            free.put(index)

    inboxes: dict[str, queue.Queue[tuple[int, int] | None]] = {a: queue.Queue() for a in ALGORITHMS}
    out: dict[str, str] = {}
    threads = [
        threading.Thread(target=_hasher, args=(a, inboxes[a], buffers, release, out), daemon=True)
        for a in ALGORITHMS
    ]
    for t in threads:
        t.start()
    size = 0
    try:
        while True:
            index = free.get()
            n = stream.readinto(memoryview(buffers[index]))  # type: ignore[attr-defined]
            if not n:
                free.put(index)
                break
            size += n
            if sink is not None:
                sink(memoryview(buffers[index])[:n])
            with lock:
                pending[index] = len(ALGORITHMS)
            for a in ALGORITHMS:
                inboxes[a].put((index, n))
            if progress is not None:
                progress(n)
    finally:
        for a in ALGORITHMS:
            inboxes[a].put(None)
        for t in threads:
            t.join()
    return Digests(sm3=out["sm3"], sha256=out["sha256"], size=size)


def digest_file(path: Path, *, progress: Callable[[int], None] | None = None) -> Digests:
    """Digests of a file's bytes; small files inline, large ones through the parallel pipeline."""
    try:
        with open(path, "rb", buffering=0) as f:
            head = f.read(SMALL + 1)
            if len(head) <= SMALL:
                if progress is not None:
                    progress(len(head))
                return digest_bytes(head)
            f.seek(0)
            return digest_stream(f, progress=progress)  # type: ignore[arg-type]
    except IsADirectoryError as exc:
        raise BadInputError("is a directory, not a file", path=path) from exc
    except OSError as exc:
        raise BadInputError(f"cannot read: {exc.strerror or exc}", path=path) from exc


def digest_files(paths: Iterable[Path], *, workers: int = 2,
                 progress: Callable[[int], None] | None = None) -> Iterator[tuple[Path, Digests]]:
    """Digests of many files, in input order; small files are spread over ``workers`` threads."""
    window = max(4, workers * 16)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        batch: list[tuple[Path, object]] = []
        for p in paths:
            batch.append((p, pool.submit(digest_file, p, progress=progress)))
            if len(batch) >= window:
                path, fut = batch.pop(0)
                yield path, fut.result()  # type: ignore[attr-defined]
        for path, fut in batch:
            yield path, fut.result()  # type: ignore[attr-defined]
