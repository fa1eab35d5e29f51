"""A large manifest verified without ever being parsed whole: its item records handed out in blocks.

In canonical form (the only form a package may have) ``manifest.json`` is the statement and the other
top-level fields around an items array whose records follow each other, each starting with
``{"digests":``. So the verifier keeps the bytes, finds where each record starts, parses only the rest (the
frame), and hands out blocks of :data:`~evidencectl.package.manifest.STORED_BLOCK` leaves to worker
processes. Each parses its block, checks it against the schema and against its canonical form (the bytes
:func:`~evidencectl.package.canonical.canonical_json` would write, compared at C speed: no check is made
twice, and none of the plain path's), hashes the stored records into its subtree, reads and hashes the
originals they name, and answers with what the verifier needs: the names of the items whose digests
matched (:class:`~.compact.PassedDigest`), the others to judge one by one, the members the items claim,
the mails and the capture to re-check.

The streamed path refuses nothing itself. Anything it does not expect (a record that does not parse, a
schema problem, a byte out of canonical form, records with proofs, a disclosure) makes it return None, and
the verifier takes the plain path, which parses the manifest whole and words every refusal as it always has.
"""

from __future__ import annotations

import itertools
import json
import re
import zlib
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..hashing import ALGORITHMS, Digests, digest_bytes
from ..merkle import leaf_hash, tree_root
from ..package.canonical import _structure, canonical_json, is_canonical, parse_json
from ..package.manifest import PROOF_KEY, STORED_BLOCK, join_subtrees
from ..package.reader import PackageReader
from ..workers import stop_pool, stopping
from .compact import ItemRecords

MIN_ITEMS = 2048
"""Fewer items than this take the plain path (parsed whole: small, and the same checks)."""
MAX_FRAME = 16 << 20
"""A manifest's fields beyond its items are a few KB; more means the items were not found where expected."""

_FIRST = b'"items":[{"digests":'
_LAST = b'}],"roots":'
# From format version 3 the private record (package/private.py) follows the items (keys in canonical order).
_LAST_PRIVATE = b'}],"private":'
_NEXT = b'},{"digests":'
_ASTRAL = re.compile(r"[\U00010000-\U0010ffff]")
"""Characters that RFC 8785 sorts apart from Python (UTF-16 code units): such a block is checked exactly."""
MemberDigest = tuple[Digests, bool]


@dataclass(frozen=True)
class _Job:
    """What the workers of one verification read: the opened package, its item records, the statement's
    leaf bytes."""

    reader: PackageReader
    records: ItemRecords
    statement: bytes


_JOBS: dict[int, _Job] = {}
"""The streamed verifications under way in this process, by key. Forked workers inherit this dict as it is
when they are forked, and each block they are handed names its verification's key. The service verifies in
a thread pool: with one job replaced in place, the workers of a verification forked just after another
thread had registered its own read that other package, and a forged copy verified beside its genuine
original PASSED on the original's digests and roots (tests/test_attack_stream_concurrent.py)."""
_KEYS = itertools.count(1)


@dataclass
class Claimed:
    """The package members the items name, by their offset in the package (a member's unique place)."""

    reader: PackageReader
    offsets: set[int]

    def __contains__(self, name: object) -> bool:
        member = self.reader.infos.get(name) if isinstance(name, str) else None
        return member is not None and member.offset in self.offsets


@dataclass
class Streamed:
    """What the blocks answered, put together."""

    frame: dict[str, Any]
    """The manifest, its ``items`` an :class:`ItemRecords`."""
    records: ItemRecords
    checks: list[str | None]
    """Per item: ``digest:NAME`` when its original matched both digests and its size, else None."""
    known: dict[str, MemberDigest]
    """Digests of the members read by the workers for the items that are judged one by one."""
    roots: dict[str, bytes]
    """The roots the stored records rebuild (they are the leaf bytes: checked canonical)."""
    ids_ok: bool
    """Every item's id is its place in the manifest plus one."""
    listed: Claimed | None
    """The members the items name; None when two items name one, or one names a member outside evidence/
    (the plain check words that refusal)."""
    mails: list[int] = field(default_factory=list)
    """Items with DKIM results to re-check."""
    capture: bool = False
    """An item is named capture/environment.json."""


def _parse(data: bytes) -> Any:
    """``data`` parsed when it is in canonical form and :func:`parse_json` (canonical, 63 levels: the block
    sits two levels deep in the manifest, and the brackets around it count one) accepts it; else None."""
    try:
        text = data.decode("utf-8")
        depth = 0
        for bracket in _structure(data):
            depth += 1 if bracket in b"[{" else -1
            if depth > 63:
                return None
        long_int = False

        def integer(token: str) -> int:
            nonlocal long_int
            long_int = long_int or len(token) > 15
            return int(token)

        value = json.loads(text, parse_int=integer, parse_float=_refuse, parse_constant=_refuse)
        if long_int or (not text.isascii() and _ASTRAL.search(text)):
            # What canonical_json writes through the RFC 8785 encoder: checked as the plain path checks it.
            exact = parse_json(data, max_depth=63, canonical=True)
            return exact if is_canonical(exact, data) else None
        # Duplicate keys, whitespace, escapes written another way, keys out of order, -0, a lone surrogate
        # (it cannot be encoded): each makes these bytes differ from the parsed value's canonical form.
        encoded = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
        return value if encoded.encode("utf-8") == data else None
    except (ValueError, RecursionError):
        return None


def _refuse(token: str) -> Any:
    raise ValueError(token[:40])


def split(raw: bytes) -> tuple[dict[str, Any], array[int]] | None:
    """The manifest without its item records (``items`` an empty list), checked against its schema and its
    canonical form, and where each record starts; None when the bytes are not in that form."""
    from ..package.schema import validate_manifest

    first = raw.find(_FIRST)
    last = raw.rfind(_LAST_PRIVATE)
    if last < 0:
        last = raw.rfind(_LAST)
    if first < 0 or last < first:
        return None
    body = first + len(b'"items":[')
    framed = raw[:body] + raw[last + 1 :]
    try:
        frame = parse_json(framed, canonical=True) if len(framed) < MAX_FRAME else None
    except (ValueError, RecursionError):
        return None
    if not isinstance(frame, dict) or list(frame)[:3] != ["deposit_id", "format", "items"] or frame["items"] != []:
        return None
    statement = frame.get("statement")
    if not isinstance(statement, dict) or PROOF_KEY in statement or validate_manifest(frame) is not None:
        return None
    try:
        prefix = b'{"deposit_id":%s,"format":%s,"items":[' % (
            canonical_json(frame["deposit_id"]),
            canonical_json(frame["format"]),
        )
    except (ValueError, TypeError):
        return None
    if raw[:body] != prefix or not is_canonical(frame, framed):
        return None
    starts = array("q", [body])
    at, find = body, raw.find
    while (at := find(_NEXT, at, last + 1)) >= 0:
        starts.append(at + 2)
        at += len(_NEXT)
    starts.append(last + 2)
    return frame, starts


def _block(task: tuple[int, int]) -> tuple[Any, ...] | None:
    """Leaves ``first`` … ``first + STORED_BLOCK - 1`` (leaf 0 is the statement, leaf n item n - 1) of the
    verification ``key`` (``task`` is both): None when anything is unexpected; else the subtree's heads and
    what the verifier needs of its items."""
    if stopping():
        return None  # the verification is being stopped: nobody reads this
    key, first = task
    job = _JOBS.get(key)
    if job is None:  # never for a worker of this verification's own pool: the plain path judges, as always
        return None
    try:
        return _check_block(job, first)
    except (KeyError, TypeError, AttributeError, ValueError, StopIteration):
        return None  # a record the schema let through but this path does not expect: the plain path judges


def _check_block(job: _Job, first: int) -> tuple[Any, ...] | None:
    reader, records = job.reader, job.records
    lo, hi = max(0, first - 1), min(len(records), first + STORED_BLOCK - 1)
    parsed = _parse(records.joined(lo, hi))
    if not isinstance(parsed, list) or len(parsed) != hi - lo:
        return None
    from ..package.schema import validate_items

    if validate_items(parsed, lo) is not None:
        return None
    leaves = [job.statement] if first == 0 else []
    leaves += [records.span(i) for i in range(lo, hi)]
    heads = tuple(tree_root(alg, [leaf_hash(alg, d) for d in leaves]) for alg in ALGORITHMS)
    infos = reader.infos
    checks: list[str | None] = []
    others: list[tuple[str, MemberDigest]] = []
    claimed: list[int] = []
    missing: list[str] = []
    mails: list[int] = []
    ids_ok, outside, capture, hashed = True, False, False, 0
    for index, item in enumerate(parsed, lo):
        # One record per start: its first key is "digests" (canonical order), so no start lies inside it.
        if next(iter(item)) != "digests" or PROOF_KEY in item:
            return None
        ids_ok = ids_ok and item.get("id") == index + 1
        path = item.get("path")
        member = infos.get(path) if isinstance(path, str) else None
        if path:
            if not path.startswith("evidence/"):
                outside = True
            elif member is not None:
                claimed.append(member.offset)
            else:
                missing.append(path)
        meta = item.get("metadata")
        mail = meta.get("email") if isinstance(meta, dict) else None
        dkim = mail.get("dkim") if isinstance(mail, dict) else None
        if isinstance(dkim, list) and dkim:
            mails.append(index)
        capture = capture or item.get("name") == "capture/environment.json"
        data = reader.small_stored(path) if member is not None else None
        if data is None:
            checks.append(None)
            continue
        got = digest_bytes(data)
        hashed += len(data)
        want = item["digests"]
        if (
            got.sm3 == want["sm3"]
            and got.sha256 == want["sha256"]
            and got.size == item["size"]
            and type(item["size"]) is int  # the compact check's facts take it from the record
            and "\n" not in path
            and "\r" not in path
        ):
            checks.append(f"digest:{item['name']}")
        else:
            checks.append(None)
            others.append((path, (got, reader.crc_ok(path, zlib.crc32(data)))))
    return heads, checks, others, claimed, missing, mails, ids_ok, outside, capture, hashed


def stream_manifest(
    reader: PackageReader,
    raw: bytes,
    workers: int,
    progress: Callable[[int], None] | None = None,
    starting: Callable[[int], None] | None = None,
) -> Streamed | None:
    """The manifest ``raw`` of ``reader`` checked block by block (by ``workers`` forked processes, or here
    when 0); None when the plain path must take over (see the module's note). ``starting(items)`` is called
    once the manifest is known to take this path, before its records are read."""
    found = split(raw)
    if found is None or len(found[1]) - 1 < MIN_ITEMS:
        return None
    frame, starts = found
    if starting is not None:
        starting(len(starts) - 1)
    records = ItemRecords(raw, starts)
    from ..package.manifest import leaf_bytes
    from ..package.schema import item_validator

    item_validator()  # compiled once, here, and inherited
    key = next(_KEYS)
    _JOBS[key] = _Job(reader, records, leaf_bytes(frame["statement"]))
    tasks = [(key, first) for first in range(0, len(records) + 1, STORED_BLOCK)]
    answers: list[tuple[Any, ...]] = []
    try:
        pool = None
        if workers:
            from ..workers import fork_pool

            pool = fork_pool(workers)
        try:
            for answer in pool.imap(_block, tasks) if pool is not None else map(_block, tasks):
                if answer is None:
                    return None
                answers.append(answer)
                if progress is not None:
                    progress(answer[-1])
        finally:
            if pool is not None:
                stop_pool(pool)
    finally:
        del _JOBS[key]
    frame["items"] = records
    return _merge(reader, frame, records, answers)


def _merge(reader: PackageReader, frame: dict[str, Any], records: ItemRecords, answers: list[Any]) -> Streamed:
    checks: list[str | None] = []
    known: dict[str, MemberDigest] = {}
    offsets: set[int] = set()
    missing: list[str] = []
    claims, ids_ok, outside = 0, True, False
    out = Streamed(frame, records, checks, known, join_subtrees([a[0] for a in answers]), True, None)
    for _, block_checks, others, claimed, lost, mails, block_ids, block_outside, capture, _ in answers:
        checks += block_checks
        known.update(others)
        offsets.update(claimed)
        claims += len(claimed)
        missing += lost
        out.mails += mails
        ids_ok, outside, out.capture = ids_ok and block_ids, outside or block_outside, out.capture or capture
    out.ids_ok = ids_ok
    if not outside and claims == len(offsets) and len(set(missing)) == len(missing):
        out.listed = Claimed(reader, offsets)
    return out
