"""Reading back and hashing the originals of a large package in forked worker processes.

Verifying a package of 200,000 items reads and hashes 200,000 originals; each depends on nothing but its own
bytes. Worker processes forked after the package is opened and checked read the small stored members of a
chunk each (``pread`` only: the file offset stays the verifier's) and answer with their digests, packed
in a few byte strings. What a worker cannot do (a member that is large, compressed or whose header
disagrees with the directory) is left out of its answer, and the verifier reads it itself as it always
has, so every refusal and every check reads exactly as without workers.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

from ..hashing import Digests
from ..merkle import leaf_hash, tree_root
from ..package.manifest import span_of
from ..package.reader import PackageReader

MIN_RECORDS = 2048
"""Fewer items than this are read in one process."""
CHUNK = 2048

_JOB: dict[str, Any] = {}
"""What forked workers inherit: the opened package and the parsed item records."""

MemberDigest = tuple[Digests, bool]


def _chunk(start: int, members: list[str]) -> tuple[str | None, bytes, list[int]]:
    """The first schema problem of the item records from ``start`` on, or None; then SM3 and SHA-256
    (32 bytes each) of every member of ``members`` read here, in order, and for each member
    ``2 * size + crc_ok`` (-1 when it was not read here)."""
    import hashlib

    from ..package.schema import validate_items

    items: Sequence[Any] = _JOB["items"]
    problem = validate_items(items[start : start + len(members)], start)
    if problem is not None:
        return problem, b"", []
    reader: PackageReader = _JOB["reader"]
    digests = bytearray()
    facts: list[int] = []
    for member in members:
        data = reader.small_stored(member) if member else None
        if data is None:
            facts.append(-1)
            continue
        digests += hashlib.new("sm3", data).digest() + hashlib.sha256(data).digest()
        facts.append(len(data) * 2 + int(reader.crc_ok(member, zlib.crc32(data))))
    return None, bytes(digests), facts


BLOCK = 4096
"""Leaves per subtree a worker hashes (a power of two: the blocks are the tree's own subtrees)."""


def _block(first: int) -> tuple[bytes, bytes]:
    """SM3 and SHA-256 heads of the subtree over leaves ``first`` … ``first + BLOCK - 1`` (fewer at the end);
    leaf 0 is the statement, leaf n is item record n - 1 as stored in manifest.json."""
    statement, body, starts = _JOB["spans"]
    leaves = []
    for leaf in range(first, min(first + BLOCK, len(starts) + 1)):
        leaves.append(statement if leaf == 0 else span_of(body, starts, leaf - 1))
    return tuple(  # type: ignore[return-value]
        tree_root(alg, [leaf_hash(alg, data) for data in leaves]) for alg in ("sm3", "sha256")
    )


def check_and_digest(
    reader: PackageReader,
    items: Sequence[dict[str, Any]],
    workers: int,
    spans: tuple[bytes, bytes, list[int]] | None = None,
) -> tuple[str | None, dict[str, MemberDigest], dict[str, bytes] | None]:
    """By ``workers`` forked processes: the first schema problem of the item records (None when they all
    follow the schema); the digests and CRC verdicts of the small stored members they name (members left
    out are for the caller to read); and, given the :func:`~evidencectl.package.manifest.record_spans` of
    the manifest, the SM3 and SHA-256 roots its stored bytes rebuild (subtrees of :data:`BLOCK` leaves
    hashed in the workers, joined here)."""
    import multiprocessing
    import os
    import warnings

    from ..intake import init_worker
    from ..package.schema import _item_validator

    _item_validator()  # compiled once, here, and inherited
    paths = (i.get("path") if isinstance(i, dict) else None for i in items)
    names = [m if isinstance(m, str) and m in reader.infos else "" for m in paths]
    _JOB.update(reader=reader, items=items, spans=spans)
    try:
        ctx = multiprocessing.get_context("fork")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            pool = ctx.Pool(workers, initializer=init_worker, initargs=(os.getpid(),))
        try:
            starts = range(0, len(names), CHUNK)
            chunks = [names[s : s + CHUNK] for s in starts]
            checked = pool.starmap_async(_chunk, zip(starts, chunks, strict=True), chunksize=1)
            blocks = None
            if spans is not None:
                blocks = pool.map_async(_block, range(0, len(spans[2]) + 1, BLOCK), chunksize=1)
            results = checked.get()
            heads = blocks.get() if blocks is not None else None
        finally:
            pool.terminate()
            pool.join()
    finally:
        _JOB.clear()
    for problem, _, _ in results:
        if problem is not None:
            return problem, {}, None
    known: dict[str, MemberDigest] = {}
    for chunk, (_, digests, facts) in zip(chunks, results, strict=True):
        at = 0
        for member, fact in zip(chunk, facts, strict=True):
            if fact < 0:
                continue
            sm3, sha256 = digests[at : at + 32].hex(), digests[at + 32 : at + 64].hex()
            known[member] = (Digests(sm3, sha256, fact // 2), bool(fact & 1))
            at += 64
    roots = None
    if heads is not None:
        roots = {alg: tree_root(alg, [h[n] for h in heads]) for n, alg in enumerate(("sm3", "sha256"))}
    return None, known, roots
