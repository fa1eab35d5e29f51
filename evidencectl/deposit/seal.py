"""Stage: seal. The roots over the statement and the spooled items, and manifest.json (signed or not)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

from ..hashing import ALGORITHMS
from ..merkle import RootAfterFirst, leaf_hash
from ..package.canonical import canonical_json
from ..package.layout import DEPOSITOR_CERT, MANIFEST, MANIFEST_SIG
from ..package.manifest import FORMAT, FORMAT_VERSION, leaf_bytes
from ..package.writer import PackageWriter
from .options import StatementOptions


class Records(Protocol):
    """What sealing reads of the item spool: the running trees, the count and the records in order."""

    count: int
    trees: dict[str, RootAfterFirst]

    def records(self) -> Iterator[bytes]: ...


def manifest_chunks(
    deposit_id: str, statement: dict[str, Any], spool: Records, private: dict[str, Any]
) -> tuple[dict[str, str], Callable[[], Iterator[bytes]]]:
    """The roots, and a function that streams manifest.json: RFC 8785 bytes, keys in canonical order.
    ``private``: the private record the statement seals (package/private.py), stored beside it."""
    stmt = leaf_bytes(statement)
    roots = {alg: spool.trees[alg].root(leaf_hash(alg, stmt)).hex() for alg in ALGORITHMS}

    def chunks() -> Iterator[bytes]:
        yield b'{"deposit_id":' + canonical_json(deposit_id) + b',"format":' + canonical_json(FORMAT)
        yield b',"items":['
        batch: list[bytes] = []
        sep = b""
        for record in spool.records():
            batch.append(record)
            if len(batch) == 512:  # one write of ~256 KB rather than 512 small ones
                yield sep + b",".join(batch)
                batch.clear()
                sep = b","
        if batch:
            yield sep + b",".join(batch)
        yield b'],"private":' + canonical_json(private) + b',"roots":' + canonical_json(roots) + b',"statement":' + stmt
        yield b',"tree_size":' + str(spool.count + 1).encode() + b',"version":' + str(FORMAT_VERSION).encode() + b"}"

    return roots, chunks


def seal(
    writer: PackageWriter,
    deposit_id: str,
    statement: dict[str, Any],
    spool: Records,
    signer: StatementOptions,
    private: dict[str, Any],
) -> dict[str, str]:
    """Write manifest.json (and, with a signing key, manifest.sig and the signer's certificate); returns the
    roots per algorithm, hex."""
    roots, chunks = manifest_chunks(deposit_id, statement, spool, private)
    if signer.sign_key is None:
        writer.add_stream(MANIFEST, chunks())
        return roots
    from ..crypto.signature import sign_manifest
    from ..crypto.x509 import certificate_pem

    manifest_bytes = b"".join(chunks())
    writer.add_bytes(MANIFEST, manifest_bytes)
    writer.add_bytes(MANIFEST_SIG, sign_manifest(signer.sign_key, manifest_bytes))
    if signer.sign_cert_der:
        chain = b"".join(certificate_pem(der) for der in signer.sign_chain_der)
        writer.add_bytes(DEPOSITOR_CERT, certificate_pem(signer.sign_cert_der) + chain)
    return roots
