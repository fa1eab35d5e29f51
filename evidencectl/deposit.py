"""The deposit pipeline: collect, digest, seal, timestamp, anchor, package, register (DESIGN §1)."""

from __future__ import annotations

import base64
import contextlib
import errno
import itertools
import json
import marshal
import os
import re
import secrets
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from . import __version__, intake
from .collect.files import InputFile, collect_inputs, read_small
from .collect.media import SNIFF_SIZE
from .errors import BadInputError, EvidenceError, ServiceError, UsageError
from .hashing import SMALL, Digests, digest_bytes, digest_stream
from .intake import Handed, Prepared, member_blob
from .merkle import RootAfterFirst, leaf_hash
from .package.canonical import canonical_json
from .package.manifest import FORMAT, FORMAT_VERSION, leaf_bytes, new_salt
from .package.writer import PackageWriter, check_output
from .registry import ItemRow, Registry

_PORTABLE = re.compile(r"^[^\x00-\x1f\x7f\\:*?\"<>|]+$")
ROOT_ALGORITHMS = ("sm3", "sha256")
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)
"""Write errors that mean the output's file system cannot take the package."""


@dataclass
class DepositOptions:
    """Everything a deposit can be asked to do."""

    inputs: list[str]
    """Files, folders and ``-`` (stdin) to deposit."""
    out: Path
    """Where the ``.evp`` package goes."""
    case: str | None = None
    """Case number (案号) the evidence belongs to."""
    depositor: str | None = None
    """Who deposits it."""
    note: str | None = None
    """Free text recorded in the statement."""
    tsas: list[str] = field(default_factory=lambda: ["local"])
    """TSA specs: ``local`` or URLs."""
    anchors: list[str] = field(default_factory=lambda: ["local"])
    """Anchor specs: ``local`` or ``evm:RPC-URL``."""
    tsa_quorum: int = 1
    """How many TSAs must answer for the deposit to be complete."""
    hash_only: bool = False
    """Record digests only; keep the originals out of the package."""
    force: bool = False
    """Replace an existing output."""
    from_list: Path | None = None
    """A file listing paths (or ``sha256sum`` lines)."""
    follow_symlinks: bool = False
    """Follow symbolic links inside folders."""
    strict: bool = False
    """Refuse inputs whose content cannot be fully read (malformed mail, image metadata)."""
    offline: bool = False
    """No network lookups while analysing (DKIM keys only from ``dkim_keys``)."""
    dkim_keys: Path | None = None
    """Zone-file style DKIM key records for offline checks."""
    sign_key: Any = None
    """A crypto.keys.SigningKey to sign manifest.json with, or None."""
    sign_cert_der: bytes | None = None
    """The signer's certificate (DER), stored in certs/depositor.pem."""
    contract: str | None = None
    """EvidenceRegistry address for ``evm:`` anchors, instead of the one remembered for the RPC URL."""


@dataclass
class DepositResult:
    """What a deposit produced."""

    deposit_id: str
    """The deposit number."""
    package: Path
    """The package path (final, or the staging file while pending)."""
    status: str
    """``complete`` or ``pending``."""
    items: int
    """Number of items (files and derived parts)."""
    roots: dict[str, str]
    """Merkle roots per algorithm."""
    timestamps: list[str] = field(default_factory=list)
    """Package members of the timestamp responses obtained."""
    anchors: list[str] = field(default_factory=list)
    """Package members of the anchor receipts obtained."""
    pending: list[dict[str, str]] = field(default_factory=list)
    """Services that failed: ``{"kind": "tsa"|"anchor", "spec": ..., "error": ...}``."""
    warnings: list[str] = field(default_factory=list)
    """What was passed over or could not be read."""

    def to_json(self) -> dict[str, Any]:
        """JSON form (schemas/deposit-result.schema.json)."""
        return {
            "deposit_id": self.deposit_id,
            "package": str(self.package),
            "status": self.status,
            "items": self.items,
            "roots": self.roots,
            "timestamps": self.timestamps,
            "anchors": self.anchors,
            "pending": self.pending,
            "warnings": self.warnings,
        }


def new_deposit_id() -> str:
    """A deposit number such as ``EVD-20261129-7F3A9C21``."""
    return f"EVD-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4).upper()}"


def label_for(spec: str, used: set[str], kind: str = "tsa") -> str:
    """A short file-name-safe label for a TSA or anchor spec (``local``, ``tsa.example.com``…)."""
    if spec == "local":
        base = "local"
    else:
        m = re.match(r"^(?:evm:)?[a-z]+://([^/:@]+@)?([^/:]+)", spec)
        base = re.sub(r"[^A-Za-z0-9.-]", "_", m.group(2) if m else spec)[:40] or "service"
        if spec.startswith("evm:"):
            base = "evm-" + base
    label, n = base, 2
    while f"{kind}:{label}" in used:
        label, n = f"{base}-{n}", n + 1
    used.add(f"{kind}:{label}")
    return label


def _member_for(name: str, item_id: int) -> str:
    if _PORTABLE.match(name) and not any(p in ("", ".", "..") for p in name.split("/")):
        return f"evidence/{name}"
    return f"evidence/_nonportable/{item_id}"


def _analyze(path: Path | None, opts: DepositOptions, keys: Any, head: bytes | None, st: os.stat_result | None) -> Any:
    if path is None:
        return None
    from .collect.analyze import analyze

    return analyze(path, strict=opts.strict, dkim_keys=keys, offline=opts.offline, head=head, stat=st)


class _Builder:
    """Writes item records to a spool file as they are made, keeping only their leaf hashes in memory.

    A deposit of 200,000 files must not hold 200,000 records: each record's canonical JSON (its leaf
    bytes) goes to the spool, one a line (canonical JSON holds no raw newline), and manifest.json is later
    streamed from it.
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
        self.trees = {alg: RootAfterFirst(alg) for alg in ROOT_ALGORITHMS}
        self.warnings: list[str] = []

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
        self.count += 1
        record: dict[str, Any] = {
            "id": self.count,
            "name": name,
            "kind": kind,
            "media_type": media_type,
            "size": digests.size,
            "digests": digests.as_dict(),
            "parent": parent,
            "path": member,
            "salt": new_salt(),
            "metadata": metadata,
        }
        if name_raw is not None:
            record["name_raw"] = base64.b64encode(name_raw).decode("ascii")
            record["metadata"] = {**metadata, "name_not_utf8": True}
        row = (self.deposit_id, self.count, name, kind, digests.size, digests.sm3, digests.sha256)
        self._take(leaf_bytes(record), None, row)
        return self.count

    def add_prepared(self, f: InputFile, p: Prepared, assumed_id: int) -> None:
        """Take a record a worker made, numbering it anew when derived parts before it moved its id."""
        if self.writer is not None and p.member is not None:
            self.writer.add_prepared(p.member, member_blob(p), p.header_len, p.crc)
        self.count += 1
        record = p.record
        leaves: tuple[bytes, bytes] | None = (p.leaf_sm3, p.leaf_sha256)
        if assumed_id != self.count:
            # Keys are in canonical order and "digests" (two hex strings) comes first: the first ',"id":N,'
            # is the id. The member name does not depend on the id (workers leave non-portable names alone).
            old = b',"id":%d,' % assumed_id
            at = record.index(old)
            record, leaves = record[:at] + b',"id":%d,' % self.count + record[at + len(old) :], None
        self._take(record, leaves, (self.deposit_id, self.count, f.name, p.kind, p.size, p.sm3, p.sha256))

    def _take(self, record: bytes, leaves: tuple[bytes, bytes] | None, row: ItemRow) -> None:
        """Spool a record's leaf bytes, fold its leaf hashes (``ROOT_ALGORITHMS`` order; made here when not
        given) into the trees, and batch its registry row."""
        self.spool.write(record + b"\n")
        for n, alg in enumerate(ROOT_ALGORITHMS):
            self.trees[alg].add(leaves[n] if leaves is not None else leaf_hash(alg, record))
        self.batch.append(row)
        if len(self.batch) == 1024:
            marshal.dump(self.batch, self.rows)
            self.batch.clear()

    def records(self) -> Iterator[bytes]:
        """Every record's canonical JSON, in order."""
        self.spool.flush()
        self.spool.seek(0)
        for line in self.spool:
            yield line.rstrip(b"\n")

    def registry_rows(self) -> Iterator[ItemRow]:
        """The registry's row of every item."""
        if self.batch:
            marshal.dump(self.batch, self.rows)
            self.batch.clear()
        self.rows.flush()
        end = self.rows.tell()
        self.rows.seek(0)
        while self.rows.tell() < end:
            yield from marshal.load(self.rows)

    def store(
        self,
        member: str | None,
        source: BinaryIO | None,
        data: bytes | None,
        progress: Callable[[int], None] | None,
    ) -> Digests:
        if self.writer is None or member is None:
            if data is not None:
                return digest_bytes(data)
            assert source is not None
            return digest_stream(source, progress=progress)
        return self.writer.add_original(member, source, data=data, progress=progress)

    def add_children(self, parent_id: int, parent_name: str, children: Any, hash_only: bool) -> None:
        for child in children:
            name = f"{parent_name}/{child.name}"
            member = None if hash_only else _member_for(name, self.count + 1)
            digests = self.store(member, None, child.data, None)
            cid = self.add(name, child.kind, child.media_type, digests, dict(child.metadata), parent_id, member)
            self.add_children(cid, name, child.children, hash_only)

    def close(self) -> None:
        """Drop the spools."""
        self.spool.close()
        self.rows.close()


@dataclass(frozen=True)
class _Read:
    """A small input read whole: its bytes, digests and file status."""

    data: bytes
    digests: Digests
    stat: os.stat_result


def _read_small(path: Path | None) -> _Read | None:
    """Read and hash a file of at most SMALL bytes (None for larger files and stdin: they are streamed)."""
    got = None if path is None else read_small(path, SMALL)
    return None if got is None else _Read(got[0], digest_bytes(got[0]), got[1])


def _read_small_or_error(path: Path | None) -> _Read | OSError | None:
    """:func:`_read_small`, with the OSError it raised returned for :func:`_hash_input` to report."""
    try:
        return _read_small(path)
    except OSError as exc:
        return exc


def _hash_input(
    b: _Builder, f: InputFile, opts: DepositOptions, progress: Callable[[int], None] | None, ahead: Any
) -> tuple[Digests, str | None, bytes | None, os.stat_result | None]:
    """Hash (and store) one input; returns its digests, package member, first bytes and status."""
    member = None if opts.hash_only else _member_for(f.name, b.count + 1)
    head: bytes | None = None
    st: os.stat_result | None = None
    if isinstance(ahead, OSError):
        raise BadInputError(f"cannot read: {ahead.strerror or ahead}", path=f.path)
    if isinstance(ahead, _Read):
        digests, head, st = ahead.digests, ahead.data[:SNIFF_SIZE], ahead.stat
        if b.writer is not None and member is not None:
            b.writer.add_bytes(member, ahead.data)
        if progress is not None:
            progress(digests.size)
    elif f.path is None:
        digests = b.store(member, sys.stdin.buffer, None, progress)
    else:
        try:
            with open(f.path, "rb", buffering=0) as src:
                head = src.read(SNIFF_SIZE)
                src.seek(0)
                digests = b.store(member, src, None, progress)  # type: ignore[arg-type]
        except OSError as exc:
            if exc.errno in _NO_ROOM:
                raise  # the package cannot be written; deposit() names the output, not this input
            raise BadInputError(f"cannot read: {exc.strerror or exc}", path=f.path) from exc
    if f.expected_sha256 and f.expected_sha256 != digests.sha256:
        raise BadInputError(f"SHA-256 {digests.sha256} differs from the list's {f.expected_sha256}", path=f.path)
    return digests, member, head, st


def build_statement(deposit_id: str, opts: DepositOptions, item_count: int) -> dict[str, Any]:
    """The deposit's own statement: leaf 0 of the trees."""
    statement: dict[str, Any] = {
        "kind": "statement",
        "deposit_id": deposit_id,
        "case": opts.case,
        "depositor": opts.depositor,
        "note": opts.note,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tool": f"evidencectl {__version__}",
        "hash_only": opts.hash_only,
        "item_count": item_count,
        "salt": new_salt(),
    }
    if opts.sign_key is not None:
        statement["signer"] = {"algorithm": opts.sign_key.algorithm, "key_id": opts.sign_key.key_id}
    return statement


def manifest_chunks(
    deposit_id: str, statement: dict[str, Any], b: _Builder
) -> tuple[dict[str, str], Callable[[], Iterator[bytes]]]:
    """The roots, and a function that streams manifest.json: RFC 8785 bytes, keys in canonical order."""
    stmt = leaf_bytes(statement)
    roots = {alg: b.trees[alg].root(leaf_hash(alg, stmt)).hex() for alg in ROOT_ALGORITHMS}

    def chunks() -> Iterator[bytes]:
        yield b'{"deposit_id":' + canonical_json(deposit_id) + b',"format":' + canonical_json(FORMAT)
        yield b',"items":['
        batch: list[bytes] = []
        sep = b""
        for record in b.records():
            batch.append(record)
            if len(batch) == 512:  # one write of ~256 KB rather than 512 small ones
                yield sep + b",".join(batch)
                batch.clear()
                sep = b","
        if batch:
            yield sep + b",".join(batch)
        yield b'],"roots":' + canonical_json(roots) + b',"statement":' + stmt
        yield b',"tree_size":' + str(b.count + 1).encode() + b',"version":' + str(FORMAT_VERSION).encode() + b"}"

    return roots, chunks


def _preload_services(base: Path, tsas: list[str]) -> None:
    """Import what timestamping and anchoring need, and warm up the embedded TSA, while worker processes
    hash (errors are left for the services themselves to raise)."""
    import importlib

    for module in ("timestamp.client", "timestamp.authority", "anchor.interface", "anchor.ledger"):
        with contextlib.suppress(Exception):
            importlib.import_module(f"evidencectl.{module}")
    if "local" in tsas:
        from .timestamp.authority import EmbeddedTSA

        # Only a TSA already made: creating one is left to the deposit itself, never done from two threads.
        with contextlib.suppress(Exception):
            if EmbeddedTSA.exists(base):
                EmbeddedTSA.open(base).warm_up()


def _run_services(
    writer: PackageWriter,
    base: Path,
    deposit_id: str,
    roots: dict[str, str],
    tsas: list[str],
    anchors: list[str],
    used: set[str],
    contract: str | None = None,
) -> tuple[list[str], list[str], list[dict[str, str]]]:
    """Timestamp every root with every TSA, then anchor the roots; collect what failed as pending."""
    from .anchor.interface import anchor_from_spec
    from .timestamp.client import tsa_from_spec

    stamped: list[str] = []
    anchored: list[str] = []
    pending: list[dict[str, str]] = []
    for spec in tsas:
        label = label_for(spec, used)
        try:
            tsa = tsa_from_spec(spec, base)
            responses = {alg: tsa.timestamp(bytes.fromhex(roots[alg]), alg) for alg in ROOT_ALGORITHMS}
        except ServiceError as exc:
            used.discard(f"tsa:{label}")
            pending.append({"kind": "tsa", "spec": spec, "error": str(exc)})
            continue
        for alg, der in responses.items():
            name = f"proofs/timestamps/{label}.{alg}.tsr"
            writer.add_bytes(name, der)
            stamped.append(name)
        chain = getattr(tsa, "chain_pem", None)
        if callable(chain):
            writer.add_bytes(f"certs/tsa-{label}.pem", chain())
    for spec in anchors:
        label = label_for(spec, used, "anchor")
        try:
            receipt = anchor_from_spec(spec, base, contract=contract).anchor(deposit_id, dict(roots))
        except ServiceError as exc:
            used.discard(f"anchor:{label}")
            pending.append({"kind": "anchor", "spec": spec, "error": str(exc)})
            continue
        name = f"proofs/anchors/{label}.json"
        writer.add_bytes(name, canonical_json(receipt))
        anchored.append(name)
    return stamped, anchored, pending


def _finish(
    registry: Registry,
    writer: PackageWriter,
    result: DepositResult,
    pending: list[dict[str, str]],
    tsas_ok: int,
    quorum: int,
    force: bool,
    row: dict[str, Any],
    item_rows: Iterable[ItemRow] | None,
    used: set[str],
    contract: str | None = None,
) -> DepositResult:
    tsa_pending = [p for p in pending if p["kind"] == "tsa"]
    # TSAs that failed while the quorum was still met are not retried: the deposit is complete without them.
    must_retry = [p for p in pending if p["kind"] == "anchor"] + (tsa_pending if tsas_ok < quorum else [])
    result.pending = must_retry
    for p in pending:
        if p not in must_retry:
            result.warnings.append(f"TSA {p['spec']} did not answer ({p['error']}); the quorum was met without it")

    def state(retry: list[dict[str, str]]) -> dict[str, Any]:
        """What resume() needs to finish this deposit."""
        return {
            "retry": retry,
            "quorum": quorum,
            "tsas_ok": tsas_ok,
            "force": force,
            "out": str(writer.out),
            "labels": sorted(used),
            "contract": contract,
        }

    if must_retry:
        writer.close()
        result.status, result.package = "pending", writer.staging
        row.update(
            status="pending", staging=str(writer.staging), pending=json.dumps(state(must_retry), ensure_ascii=False)
        )
        detail = {"pending": must_retry, "staging": str(writer.staging)}
        if item_rows is not None:
            registry.record_deposit(row, item_rows, "deposit-pending", detail)
        else:
            registry.update_deposit(row["deposit_id"], {"pending": row["pending"]}, "resume-pending", detail)
        failed = "; ".join(f"{p['kind']} {p['spec']}: {p['error']}" for p in must_retry)
        raise ServiceError(
            f"deposit {result.deposit_id} is pending ({failed}); what was done is kept in {writer.staging}; "
            "run 'evidencectl deposit --resume' when the service is back"
        )
    if item_rows is not None:
        # Known to the registry before it is published: a kill between the two is completed by resume().
        # The items are written while the staging file is flushed; they are committed once it is on disk.
        synced = writer.close_then_sync()
        registry.stage_deposit(
            {**row, "status": "pending", "staging": str(writer.staging), "pending": json.dumps(state([]))},
            item_rows,
            before_commit=synced,
        )
    writer.commit(force=force)
    result.status, result.package = "complete", writer.out
    row.update(status="complete", staging=None, pending=None, package=str(writer.out.resolve()))
    detail = {
        "package": str(writer.out.resolve()),
        "timestamps": result.timestamps,
        "anchors": result.anchors,
    }
    if item_rows is not None:
        registry.record_deposit(row, (), "deposit", detail)  # the items were recorded when staged
    else:
        registry.update_deposit(
            row["deposit_id"],
            {k: row[k] for k in ("status", "staging", "pending", "package")},
            "resume-complete",
            detail,
        )
    return result


def deposit(opts: DepositOptions, base: Path, progress: Callable[[int], None] | None = None) -> DepositResult:
    """Deposit ``opts.inputs`` into a new package at ``opts.out``; returns what was produced.

    Raises ServiceError (exit 5) when a TSA quorum or an anchor cannot be had: the work done is kept in a
    staging file and the registry, and :func:`resume` finishes it.
    """
    if opts.tsa_quorum < 1 or opts.tsa_quorum > max(len(opts.tsas), 1):
        raise UsageError(f"--tsa-quorum {opts.tsa_quorum} needs between 1 and {len(opts.tsas)} TSAs")
    keys = None
    if opts.dkim_keys is not None:
        from .collect.mailauth import load_dkim_keys

        keys = load_dkim_keys(opts.dkim_keys)
    workers = None
    count = intake.worker_count()
    if count and (opts.from_list is not None or any(a != "-" and os.path.isdir(a) for a in opts.inputs)):
        # Folders may hold thousands of small files: the workers fork and load while the folders are walked.
        workers = intake.Workers(
            count,
            hash_only=opts.hash_only,
            strict=opts.strict,
            offline=opts.offline,
            keys=keys,
            member_for=_member_for,
        )
    try:
        return _deposit(opts, base, progress, keys, workers)
    finally:
        if workers is not None:
            workers.close()


def _deposit(
    opts: DepositOptions,
    base: Path,
    progress: Callable[[int], None] | None,
    keys: Any,
    workers: intake.Workers | None,
) -> DepositResult:
    collected = collect_inputs(opts.inputs, from_list=opts.from_list, follow_symlinks=opts.follow_symlinks)
    check_output(opts.out, opts.force)
    if workers is not None and len(collected.files) < intake.MIN_FILES:
        workers.close()  # too few files to be worth it
        workers = None
    registry = Registry.open(base)
    deposit_id = new_deposit_id()
    writer = PackageWriter(opts.out)
    b = _Builder(None if opts.hash_only else writer, opts.out.parent, deposit_id)
    try:
        b.warnings.extend(collected.warnings)
        files = collected.files
        ready: Iterable[Prepared | Handed | None] = (
            workers.prepared(files, meanwhile=lambda: _preload_services(base, opts.tsas))
            if workers
            else itertools.repeat(None)
        )
        for index, (f, p) in enumerate(zip(files, ready, strict=False)):
            if isinstance(p, Prepared):
                if not f.expected_sha256 or f.expected_sha256 == p.sha256:
                    b.add_prepared(f, p, index + 1)
                    if progress is not None:
                        progress(p.size)
                    continue
                p = None  # not the digest the list gave: redone here, which reports it
            ahead = _read_small_or_error(f.path) if p is None else _Read(p.data, p.digests, p.stat)
            digests, member, head, st = _hash_input(b, f, opts, progress, ahead)
            analysis = p.analysis if p is not None else _analyze(f.path, opts, keys, head, st)
            kind, media_type, metadata = "file", "application/octet-stream", {}
            if analysis is not None:
                kind, media_type, metadata = analysis.kind, analysis.media_type, dict(analysis.metadata)
                if analysis.warnings:
                    metadata["warnings"] = list(analysis.warnings)
                    b.warnings.extend(f"{f.path}: {w}" for w in analysis.warnings)
            item_id = b.add(f.name, kind, media_type, digests, metadata, None, member, f.name_raw)
            if analysis is not None:
                b.add_children(item_id, f.name, analysis.children, opts.hash_only)
        statement = build_statement(deposit_id, opts, b.count)
        roots, chunks = manifest_chunks(deposit_id, statement, b)
        if opts.sign_key is not None:
            from .crypto.signature import sign_manifest
            from .crypto.x509 import certificate_pem

            manifest_bytes = b"".join(chunks())
            writer.add_bytes("manifest.json", manifest_bytes)
            writer.add_bytes("manifest.sig", sign_manifest(opts.sign_key, manifest_bytes))
            if opts.sign_cert_der:
                writer.add_bytes("certs/depositor.pem", certificate_pem(opts.sign_cert_der))
        else:
            writer.add_stream("manifest.json", chunks())
        used: set[str] = set()
        stamped, anchored, pending = _run_services(
            writer, base, deposit_id, roots, opts.tsas, opts.anchors, used, opts.contract
        )
        result = DepositResult(deposit_id, opts.out, "pending", b.count, roots, stamped, anchored, warnings=b.warnings)
        row = {
            "deposit_id": deposit_id,
            "created": statement["created"],
            "case_no": opts.case,
            "depositor": opts.depositor,
            "note": opts.note,
            "package": str(opts.out.resolve()),
            "staging": None,
            "status": "pending",
            "roots": json.dumps(roots),
            "item_count": b.count,
            "pending": None,
        }
        items = b.registry_rows()
        tsas_ok = len(opts.tsas) - sum(1 for p in pending if p["kind"] == "tsa")
        return _finish(
            registry, writer, result, pending, tsas_ok, opts.tsa_quorum, opts.force, row, items, used, opts.contract
        )
    except ServiceError:
        raise
    except OSError as exc:
        writer.abort()
        if exc.errno in _NO_ROOM:
            raise BadInputError(f"cannot write the package: {exc.strerror}", path=opts.out) from exc
        raise
    except BaseException:
        writer.abort()
        raise
    finally:
        b.close()
        registry.close()


def _published(staging: Path, out: Path, deposit_id: str) -> bool:
    """True when ``out`` is this deposit's package and the staging file is gone or is ``out`` itself."""
    from .package.reader import PackageReader

    if not out.exists() or (staging.exists() and not os.path.samefile(staging, out)):
        return False
    try:
        with PackageReader(out) as reader:
            return bool(reader.read_json("manifest.json").get("deposit_id") == deposit_id)
    except EvidenceError:
        return False


def resume(base: Path, deposit_id: str | None = None) -> list[DepositResult]:
    """Retry the failed TSAs and anchors of pending deposits and publish those that complete."""
    from .package.reader import PackageReader

    registry = Registry.open(base)
    results: list[DepositResult] = []
    errors: list[str] = []
    try:
        rows = registry.deposits("pending")
        if deposit_id:
            rows = [r for r in rows if r["deposit_id"] == deposit_id]
            if not rows:
                raise UsageError(f"no pending deposit {deposit_id}")
        for row in rows:
            state = json.loads(row["pending"])
            staging, out = Path(row["staging"]), Path(state["out"])
            if _published(staging, out, row["deposit_id"]):
                # Interrupted after the package was published but before the registry said so.
                staging.unlink(missing_ok=True)
                package = str(out.resolve())
                changes = {"status": "complete", "staging": None, "pending": None, "package": package}
                registry.update_deposit(row["deposit_id"], changes, "resume-complete", {"package": package})
                results.append(
                    DepositResult(row["deposit_id"], out, "complete", row["item_count"], json.loads(row["roots"]))
                )
                continue
            if not staging.exists():
                errors.append(f"{row['deposit_id']}: staging file {staging} is gone")
                continue
            with PackageReader(staging) as reader:
                roots = reader.read_json("manifest.json")["roots"]
            writer = PackageWriter(out, staging=staging, append=True)
            used = set(state["labels"])
            retry = state["retry"]
            tsas = [p["spec"] for p in retry if p["kind"] == "tsa"]
            anchors = [p["spec"] for p in retry if p["kind"] == "anchor"]
            contract = state.get("contract")
            stamped, anchored, pending = _run_services(
                writer, base, row["deposit_id"], roots, tsas, anchors, used, contract
            )
            tsas_ok = state["tsas_ok"] + len(tsas) - sum(1 for p in pending if p["kind"] == "tsa")
            result = DepositResult(row["deposit_id"], out, "pending", row["item_count"], roots, stamped, anchored)
            try:
                results.append(
                    _finish(
                        registry,
                        writer,
                        result,
                        pending,
                        tsas_ok,
                        state["quorum"],
                        state["force"],
                        row,
                        None,
                        used,
                        contract,
                    )
                )
            except ServiceError as exc:
                errors.append(str(exc))
            except EvidenceError as exc:
                errors.append(exc.diagnostics())
    finally:
        registry.close()
    if errors:
        raise ServiceError(" | ".join(errors))
    return results
