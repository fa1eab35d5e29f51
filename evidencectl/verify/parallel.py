"""Reading back and hashing the originals of a large package in forked worker processes.

Verifying a package of 200,000 items reads and hashes 200,000 originals; each depends on nothing but its own
bytes. Worker processes forked after the package is opened and checked read the small stored members of a
chunk each (``pread`` only: the file offset stays the verifier's) and answer with their digests, packed
in a few byte strings. What a worker cannot do (a member that is large, compressed or whose header
disagrees with the directory) is left out of its answer, and the verifier reads it itself as it always
has, so every refusal and every check reads exactly as without workers.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from ..hashing import Digests, digest_bytes
from ..package.canonical import is_canonical
from ..package.manifest import join_subtrees, stored_subtree, subtree_starts
from ..package.reader import PackageReader
from ..workers import stop_pool, stopping

MIN_RECORDS = 2048
"""Fewer items than this are read in one process."""
CHUNK = 2048

_JOBS: dict[int, dict[str, Any]] = {}
"""What forked workers inherit: per verification under way in this process (by key, which every task
names), the opened package and the parsed item records. Never one job replaced in place: verifications run
side by side in the service's threads, and a worker must read its own verification's package
(verify/stream.py says what a shared job let a forged package do)."""
_KEYS = itertools.count(1)

MemberDigest = tuple[Digests, bool]
NOT_CANONICAL = "manifest.json is not in canonical form (RFC 8785): its SM3 would not identify one byte string"


def _chunk(job: dict[str, Any], start: int, members: list[str]) -> tuple[str | None, list[MemberDigest | None]]:
    """The first schema problem of the item records from ``start`` on (or None), then the digests and CRC
    verdict of every member of ``members`` read here (None: not read here)."""
    from ..package.schema import validate_items

    items: Sequence[Any] = job["items"]
    problem = validate_items(items[start : start + len(members)], start)
    if problem is not None:
        return problem, []
    spans = job["spans"]
    if spans is not None:
        # The stored bytes of these records are their canonical form joined by commas, or the manifest is
        # refused: checked here, in parallel, rather than by re-encoding the whole manifest in the verifier.
        _, body, starts = spans
        end = start + len(members)
        stop = starts[end] - 1 if end < len(starts) else len(body)
        if not is_canonical(list(items[start:end]), b"[" + body[starts[start] : stop] + b"]"):
            return NOT_CANONICAL, []
    reader: PackageReader = job["reader"]
    got: list[MemberDigest | None] = []
    for member in members:
        data = reader.small_stored(member) if member else None
        got.append(None if data is None else (digest_bytes(data), reader.crc_ok(member, zlib.crc32(data))))
    return None, got


def _chunk_at(args: tuple[int, int, list[str]]) -> tuple[str | None, list[MemberDigest | None]]:
    if stopping():
        return None, []  # the verification is being stopped: nobody reads this
    key, start, members = args
    return _chunk(_JOBS[key], start, members)


def _block(task: tuple[int, int]) -> tuple[bytes, ...]:
    if stopping():
        return ()
    key, first = task
    return stored_subtree(_JOBS[key]["spans"], first)


def check_and_digest(
    reader: PackageReader,
    items: Sequence[dict[str, Any]],
    workers: int,
    spans: tuple[bytes, bytes, list[int]] | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[str | None, dict[str, MemberDigest], dict[str, bytes] | None]:
    """By ``workers`` forked processes: the first schema problem of the item records (None when they all
    follow the schema); the digests and CRC verdicts of the small stored members they name (members left
    out are for the caller to read); and, given the :func:`~evidencectl.package.manifest.record_spans` of
    the manifest, the SM3 and SHA-256 roots its stored bytes rebuild (subtrees hashed in the workers,
    joined here)."""
    from ..package.schema import item_validator
    from ..workers import fork_pool

    item_validator()  # compiled once, here, and inherited
    paths = (i.get("path") if isinstance(i, dict) else None for i in items)
    names = [m if isinstance(m, str) and m in reader.infos else "" for m in paths]
    key = next(_KEYS)
    _JOBS[key] = {"reader": reader, "items": items, "spans": spans}
    try:
        pool = fork_pool(workers)
        try:
            starts = range(0, len(names), CHUNK)
            chunks = [names[s : s + CHUNK] for s in starts]
            checked = pool.imap(_chunk_at, [(key, s, c) for s, c in zip(starts, chunks, strict=True)])
            blocks = None
            if spans is not None:
                blocks = pool.map_async(_block, [(key, first) for first in subtree_starts(spans)], chunksize=1)
            results = []
            for answer in checked:  # in order, each as soon as it is done: a progress bar follows the chunks
                results.append(answer)
                if progress is not None:
                    progress(sum(got[0].size for got in answer[1] if got is not None))
            heads = blocks.get() if blocks is not None else None
        finally:
            stop_pool(pool)
    finally:
        del _JOBS[key]
    for problem, _ in results:
        if problem is not None:
            return problem, {}, None
    known = {
        member: got
        for chunk, (_, digests) in zip(chunks, results, strict=True)
        for member, got in zip(chunk, digests, strict=True)
        if got is not None
    }
    return None, known, None if heads is None else join_subtrees(heads)
