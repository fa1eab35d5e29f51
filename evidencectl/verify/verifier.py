"""Package verification: every check recorded, the bottom line the worst status (DESIGN §4)."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .. import workers as forks
from ..checks import CheckResult, Status, VerificationReport, parse_utc
from ..errors import MalformedPackageError
from ..gcpause import paused_collector
from ..hashing import ALGORITHMS, Digests, digest_bytes, digest_stream
from ..merkle import tree_root
from ..package.canonical import is_canonical
from ..package.manifest import check_leaf, leaf_hashes, leaf_records, record_spans, stored_roots
from ..package.private import schema_refusal
from ..package.reader import PackageReader
from ..package.schema import validate_manifest, validate_manifest_frame
from ..progress import ByteCallback, begin, phase, wants_totals
from ..progress import item as note_item
from .compact import PassedDigest, member_reproduce, passed_digest
from .data import DataIndex, data_checks, index_data
from .data import sizes as data_sizes
from .members import check_members
from .parallel import MIN_RECORDS, NOT_CANONICAL, check_and_digest
from .statement import check_statement
from .stream import Streamed, stream_manifest


def _digest_member(reader: PackageReader, member: str, progress: ByteCallback | None) -> tuple[Digests, bool]:
    data = reader.small_stored(member)
    if data is not None:
        if progress is not None:
            progress(len(data))
        return digest_bytes(data), reader.crc_ok(member, zlib.crc32(data))
    crc = 0

    def sink(chunk: memoryview) -> None:
        nonlocal crc
        crc = zlib.crc32(chunk, crc)

    with reader.open_member(member) as f:
        digests = digest_stream(f, sink=sink, progress=progress)  # type: ignore[arg-type]
    return digests, reader.crc_ok(member, crc)


def _check_item(
    report: VerificationReport,
    reader: PackageReader,
    item: dict[str, Any],
    data: DataIndex,
    known: dict[str, tuple[Digests, bool]],
    progress: ByteCallback | None = None,
) -> None:
    name = item["name"]
    want = item["digests"]
    check = f"digest:{name}"
    reproduce = None
    member = item.get("path")
    if member and member in reader.infos:
        if member in known:
            got, crc_ok = known[member]
        else:
            note_item(progress, name)
            got, crc_ok = _digest_member(reader, member, progress)
        source = f"package member {member}"
        reproduce = member_reproduce(member)
    elif (given := data.find(item)) is not None:
        path, got = given.path, given.digests
        crc_ok, source = True, f"--data {path}"
        reproduce = f"openssl dgst -sm3 '{path}' ; sha256sum '{path}'"
        if item.get("parent") is not None:  # derived again from its top item's original (verify/data.py)
            source, reproduce = f"the part derived from --data {path}", None
    elif member:
        report.add(
            CheckResult(
                check,
                Status.FAILED,
                f"the original {member} is missing from the package",
                {"item": name},
                reason="MISSING_ORIGINAL",
            )
        )
        return
    else:
        report.add(
            CheckResult(
                check,
                Status.INDETERMINATE,
                "the original is not in the package (hash-only deposit); give it (or its folder) with --data",
                {"item": name, **want},
                reason="NOT_GIVEN",
            )
        )
        return
    facts = {"item": name, "source": source, "size": got.size, "sm3": got.sm3, "sha256": got.sha256}
    if got.sm3 == want["sm3"] and got.sha256 == want["sha256"] and got.size == item["size"]:
        report.add(passed_digest(name, source, got.size, got.sm3, got.sha256, reproduce))
    else:
        what = [a for a in ALGORITHMS if getattr(got, a) != want[a]]
        if got.size != item["size"]:
            what.append("size")
        note = "" if crc_ok else " (the ZIP CRC disagrees too: the member was altered inside the package)"
        report.add(
            CheckResult(
                check,
                Status.FAILED,
                f"{source} differs from the deposit ({', '.join(what)}){note}",
                {**facts, "expected": want},
                reproduce,
                reason="DIGEST_MISMATCH",
            )
        )


def _check_tree(
    report: VerificationReport,
    manifest: dict[str, Any],
    records: list[dict[str, Any]],
    stored: dict[str, bytes] | None,
) -> None:
    """A complete package: the statement and every item, in order, must rebuild both roots."""
    size = manifest["tree_size"]
    ids = [r.get("id") for r in records[1:]]
    in_order = len(records) == size and ids == list(range(1, size))

    def roots() -> dict[str, bytes]:
        # ``stored``: the roots of the records' bytes as stored. When they are right they prove the records;
        # when not, they prove nothing (the bytes may be cut wrong): the records are re-encoded to be sure.
        if stored is not None and all(stored[alg].hex() == manifest["roots"][alg] for alg in ALGORITHMS):
            return stored
        hashes = leaf_hashes(records)
        return {alg: tree_root(alg, hashes[alg]) for alg in ALGORITHMS}

    tree_verdict(report, manifest, len(records) - 1, in_order, roots)


def tree_verdict(
    report: VerificationReport,
    manifest: dict[str, Any],
    items: int,
    in_order: bool,
    roots: Callable[[], dict[str, bytes]],
) -> None:
    """Add ``inclusion:tree``: FAILED when the ``items`` records are not the tree's leaves in order (not
    ``in_order``), or when the ``roots`` the leaves rebuild are not the manifest's."""
    size = manifest["tree_size"]
    if not in_order:
        report.add(
            CheckResult(
                "inclusion:tree",
                Status.FAILED,
                f"the tree has {size} leaves but manifest.json holds the statement and {items} items "
                "numbered out of order",
                {"tree_size": size, "records": items + 1},
            )
        )
        return
    rebuilt = roots()
    wrong = [alg for alg in ALGORITHMS if rebuilt[alg].hex() != manifest["roots"][alg]]
    facts = {"tree_size": size, **{f"root_{alg}": manifest["roots"][alg] for alg in ALGORITHMS}}
    reproduce = "python3 examples/verify_by_hand.py PACKAGE ITEM-NAME  (docs/format.md §4)"
    if wrong:
        detail = (
            f"the statement and {size - 1} items of manifest.json do not rebuild the {' and '.join(wrong)} root: "
            "a record was altered after the deposit was sealed"
        )
        report.add(CheckResult("inclusion:tree", Status.FAILED, detail, facts, reproduce))
    else:
        detail = f"the statement and all {size - 1} items rebuild the SM3 and SHA-256 roots"
        report.add(CheckResult("inclusion:tree", Status.PASSED, detail, facts, reproduce))


def _check_leaves(
    report: VerificationReport,
    manifest: dict[str, Any],
    records: list[dict[str, Any]],
    stored: dict[str, bytes] | None,
) -> None:
    """Whole-tree check for a complete package; per-record inclusion proofs wherever they are stored
    (always in a disclosure package made by ``extract``, which holds only some of the leaves)."""
    roots, size = manifest["roots"], manifest["tree_size"]
    disclosure = "disclosure" in manifest
    if not disclosure:
        _check_tree(report, manifest, records, stored)
    indices: set[int] = set()
    for record in records:
        if "proof" not in record and not disclosure:
            continue
        label = "statement" if record.get("kind") == "statement" else record["name"]
        res = check_leaf(record, roots, size)
        proof_index = record.get("proof", {}).get("sha256", {}).get("index")
        if res.ok and proof_index in indices:
            res_status, detail = Status.FAILED, f"leaf index {proof_index} is claimed twice"
        elif res.ok:
            res_status, detail = Status.PASSED, "inclusion proofs lead to the SM3 and SHA-256 roots"
        else:
            res_status, detail = Status.FAILED, res.reason
        if isinstance(proof_index, int):
            indices.add(proof_index)
        report.add(
            CheckResult(f"inclusion:{label}", res_status, detail, {"leaf_index": proof_index, "tree_size": size})
        )
    if disclosure and len(records) > size:
        report.add(CheckResult("inclusion:complete", Status.FAILED, "more records than leaves", {}))


def verify_package(
    path: Path,
    *,
    data: Sequence[Path] = (),
    trust: Any,
    online: bool = False,
    require_independent: bool = False,
    progress: ByteCallback | None = None,
) -> VerificationReport:
    """Verify a package completely; raises MalformedPackageError (exit 4) only when it cannot be read.

    ``require_independent``: time resting only on depositor-operated services is INDETERMINATE
    (:mod:`.timecheck`).

    The cyclic garbage collector is paused meanwhile (:mod:`evidencectl.gcpause` says what that buys).
    """
    with paused_collector():
        report = _verify_package(path, data=data, trust=trust, online=online, progress=progress)
        from .timecheck import check_time

        check_time(report, report.manifest or {}, require_independent=require_independent)
        return report


def _bytes_to_read(reader: PackageReader, items: list[Any]) -> int:
    """The bytes of the originals in the package, as the manifest gives them (not yet checked: a total for a
    progress bar, nothing more)."""
    total = 0
    for i in items:
        if isinstance(i, dict) and isinstance(i.get("size"), int) and i.get("path") in reader.infos:
            total += i["size"]
    return total


def _open_plain(
    reader: PackageReader, path: Path, manifest_bytes: bytes, data: Sequence[Path], progress: ByteCallback | None
) -> tuple[dict[str, Any], dict[str, tuple[Digests, bool]], dict[str, bytes] | None]:
    """The plain path: the manifest parsed whole and checked (schema, version, canonical form); the digests
    of the originals the workers read; the roots of the stored records (None: not computed)."""
    manifest = reader.read_json("manifest.json")
    known: dict[str, tuple[Digests, bool]] = {}
    roots: dict[str, bytes] | None = None
    workers = forks.worker_count()
    canonical_checked = False
    items = manifest.get("items") if isinstance(manifest, dict) else None
    if isinstance(items, list) and wants_totals(progress):
        begin(progress, _bytes_to_read(reader, items) + data_sizes(data), len(items))
    if workers and isinstance(items, list) and len(items) >= MIN_RECORDS:
        # The item records are checked against the schema, their originals read and their stored bytes
        # hashed into the tree by workers.
        problem = validate_manifest_frame(manifest)
        if problem is None:
            spans = None if "disclosure" in manifest else record_spans(manifest, manifest_bytes)
            problem, known, roots = check_and_digest(reader, items, workers, spans, progress)
            # The workers compared each record's stored bytes with its canonical form; record_spans()
            # compared everything around the records.
            canonical_checked = spans is not None and problem != NOT_CANONICAL
            if problem == NOT_CANONICAL:
                raise MalformedPackageError(NOT_CANONICAL, path=path)
    else:
        problem = validate_manifest(manifest)
    if problem:
        raise schema_refusal(manifest, problem, path)
    reader.check_version(manifest["version"])
    if not canonical_checked and not is_canonical(manifest, manifest_bytes):
        raise MalformedPackageError(NOT_CANONICAL, path=path)
    if roots is None and "disclosure" not in manifest:
        spans = record_spans(manifest, manifest_bytes)
        roots = None if spans is None else stored_roots(spans)
    return manifest, known, roots


def _open_streamed(
    reader: PackageReader, manifest_bytes: bytes, data: Sequence[Path], progress: ByteCallback | None
) -> Streamed | None:
    """The streamed path (:mod:`.stream`) for a large manifest in canonical form; None: take the plain one."""

    def starting(items: int) -> None:
        if wants_totals(progress):
            total = sum(m.size for m in reader.members if m.name.startswith("evidence/"))
            begin(progress, total + data_sizes(data), items)

    streamed = stream_manifest(reader, manifest_bytes, forks.worker_count(), progress, starting)
    if streamed is not None:
        reader.check_version(streamed.frame["version"])
    return streamed


def _verify_package(
    path: Path, *, data: Sequence[Path], trust: Any, online: bool, progress: ByteCallback | None
) -> VerificationReport:
    from .services import check_anchors, check_signature, check_timestamps
    from .timecheck import set_aside_own_times_before_created

    with PackageReader(path) as reader:
        manifest_bytes = reader.read("manifest.json")
        streamed = _open_streamed(reader, manifest_bytes, data, progress)
        if streamed is None:
            manifest, known, roots = _open_plain(reader, path, manifest_bytes, data, progress)
        else:
            manifest, known, roots = streamed.frame, streamed.known, streamed.roots
        report = VerificationReport(str(path), manifest["deposit_id"], manifest=manifest)
        check_statement(report, manifest)
        if streamed is None:
            _check_leaves(report, manifest, leaf_records(manifest), roots)
        else:
            items = len(streamed.records)
            in_order = streamed.ids_ok and items + 1 == manifest["tree_size"]
            tree_verdict(report, manifest, items, in_order, lambda: streamed.roots)
        index = index_data(data, progress)
        if streamed is None:
            for item in manifest["items"]:
                _check_item(report, reader, item, index, known, progress)
        else:
            for n, name in enumerate(streamed.checks):
                if name is None:
                    _check_item(report, reader, streamed.records[n], index, known, progress)
                else:  # add() would read the detail: a compact check's has no line break (stream.py)
                    report.checks.append(PassedDigest(name, streamed.records, n))
            streamed.checks = []
        for check in data_checks(index, manifest["items"]):
            report.add(check)
        capture = streamed.capture if streamed is not None else None
        if capture or (capture is None and any(i.get("name") == "capture/environment.json" for i in manifest["items"])):
            from ..capture.replay import check_capture

            for check in check_capture(reader, manifest):
                report.add(check)
        check_members(report, reader, manifest, None if streamed is None else streamed.listed)
        from .mail import check_mail_auth

        mails = manifest if streamed is None else {"items": [streamed.records[n] for n in streamed.mails]}
        for check in check_mail_auth(reader, mails):
            report.add(check)
        phase(progress, "timestamps, anchors and signature")
        times_from = len(report.checks)
        check_timestamps(report, reader, manifest, trust)
        check_anchors(report, reader, manifest, trust, online)
        set_aside_own_times_before_created(report, manifest, times_from)
        # The signer's certificate is judged at the proven time (an independent one where there is one), not
        # at the earliest genTime: a depositor's own TSA dates a signature whenever its clock says. With no
        # proven time (every token set aside, say one anyone added dated years back) there is no moment to
        # judge it at: the earliest genTime would be that token's, and a genuine signature FAILED by it.
        check_signature(report, reader, manifest_bytes, trust, parse_utc(report.proven_time))
    # Only the anchors that validated a check: the whole store says nothing about this package.
    anchors_used = trust.used() if hasattr(trust, "used") else trust.anchors()
    report.trust_anchors = [
        {
            "role": a.role,
            "subject": a.subject,
            "fingerprint": a.fingerprint,
            "source": a.source,
            "operator": getattr(a, "operator", "third-party"),
        }
        for a in anchors_used
    ]
    return report


def item_name(item: dict[str, Any]) -> str:
    """The display name of an item, noting a non-UTF-8 raw name."""
    if "name_raw" in item:
        raw = base64.b64decode(item["name_raw"])
        return f"{item['name']} (raw bytes {raw!r})"
    return str(item["name"])
