"""The manifest as types: :class:`Statement`, :class:`ItemRecord`, :class:`Manifest`, :class:`AnchorReceipt`,
and the one encoder of leaf bytes, :func:`encode_leaf` (docs/format.md).

A leaf's bytes are RFC 8785 canonical JSON of its record without ``proof`` (:func:`.manifest.leaf_bytes`,
the plain path). Deposits of many small files spend most of their time per record, so two faster ways to
the same bytes are kept here, private, each behind a test that compares its bytes with the plain path
(tests/test_canonical.py, tests/test_manifest_model.py, tests/test_worker_perfile.py): a direct writer
for top-level records (``_direct_item_leaf``: about 5 µs a record against 20 µs through the generic
encoder, 20,000 records of a plain file on the benchmark machine; now :func:`item_leaf`, which a deposit's
workers call without building the record, 2.1 µs, a plain file's metadata from a template) and
:func:`renumbered`, the byte splice that gives a worker's record its final id without encoding it again.
Streaming ``manifest.json`` from the spooled leaves (deposit/seal.py) and hashing the stored record bytes
(:func:`.manifest.record_spans`) read these bytes back; tests/test_manifest_model.py compares both with the
model's canonical JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .canonical import canonical_json
from .manifest import FORMAT, FORMAT_VERSION, PROOF_KEY, leaf_bytes, new_salt


@dataclass
class ItemRecord:
    """One item of a deposit: a file given, or a part derived from one (a mail body, an attachment)."""

    id: int
    """1-based position in the manifest's ``items`` (leaf ``id`` of the trees)."""
    name: str
    """Its name as deposited (``folder/file.pdf``; a part: ``parent-name/part-name``)."""
    kind: str
    """``file``, ``email``, ``image``… (collect/analyze.py)."""
    media_type: str
    """Media type detected from the content."""
    size: int
    """Bytes."""
    digests: dict[str, str]
    """Hex digest per algorithm (``sm3``, ``sha256``)."""
    parent: int | None
    """The id of the item it was derived from, or None."""
    path: str | None
    """The package member holding the bytes; None for ``--hash-only``."""
    metadata: dict[str, Any]
    """JSON-able facts (no floats)."""
    salt: str = field(default_factory=new_salt)
    """256-bit per-leaf salt, hex."""
    name_raw: str | None = None
    """Base64 of the name's bytes when they are not UTF-8."""
    proof: dict[str, Any] | None = None
    """Inclusion proofs (disclosure packages only; not part of the leaf)."""

    def to_json(self) -> dict[str, Any]:
        """The record as stored in ``manifest.json``."""
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "media_type": self.media_type,
            "size": self.size,
            "digests": dict(self.digests),
            "parent": self.parent,
            "path": self.path,
            "salt": self.salt,
            "metadata": self.metadata,
        }
        if self.name_raw is not None:
            out["name_raw"] = self.name_raw
        if self.proof is not None:
            out[PROOF_KEY] = self.proof
        return out

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> ItemRecord:
        """A record of a manifest that follows its schema (package/schema.py checks that first)."""
        return cls(
            value["id"],
            value["name"],
            value["kind"],
            value["media_type"],
            value["size"],
            dict(value["digests"]),
            value["parent"],
            value["path"],
            value["metadata"],
            value["salt"],
            value.get("name_raw"),
            value.get(PROOF_KEY),
        )


_STATEMENT_KEYS = ("deposit_id", "case", "depositor", "created", "tool", "hash_only", "item_count", "salt")


@dataclass
class Statement:
    """The deposit's own statement, leaf 0: who deposited what, when, with which tool. From format version 3
    it holds no ``note``: the note is in the private record (``Manifest.extra["private"]``) whose leaf hash
    ``private_leaf`` (in ``extra``) seals (package/private.py); a version-1 or 2 statement keeps its
    ``note`` in ``extra``."""

    deposit_id: str
    case: str | None
    depositor: str | None
    created: str
    """When the depositor's clock said the deposit was made (declared, not proven: the timestamps prove)."""
    tool: str
    hash_only: bool
    item_count: int
    salt: str
    extra: dict[str, Any] = field(default_factory=dict)
    """Every other member (``private_leaf``, ``signer``, ``heads``, a version-2 ``note``…), kept exactly: all
    of it is in the leaf."""

    def to_json(self) -> dict[str, Any]:
        """The statement as stored in ``manifest.json``."""
        return {"kind": "statement", **{k: getattr(self, k) for k in _STATEMENT_KEYS}, **self.extra}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Statement:
        """A statement of a manifest that follows its schema."""
        extra = {k: v for k, v in value.items() if k not in _STATEMENT_KEYS and k != "kind"}
        known = {k: value[k] for k in _STATEMENT_KEYS}
        return cls(**known, extra=extra)


@dataclass
class Manifest:
    """``manifest.json``: the statement, the items, the roots over their leaves."""

    deposit_id: str
    statement: Statement
    items: list[ItemRecord]
    roots: dict[str, str]
    """Merkle root per algorithm, hex."""
    tree_size: int
    """Leaves: the statement and every item."""
    format: str = FORMAT
    version: int = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)
    """Other members: ``private``, the private record (package/private.py; absent from a disclosure), and
    ``disclosure`` of an extracted package."""

    def to_json(self) -> dict[str, Any]:
        """The manifest as a JSON value; :func:`~.canonical.canonical_json` of it is ``manifest.json``."""
        return {
            "deposit_id": self.deposit_id,
            "format": self.format,
            "items": [i.to_json() for i in self.items],
            "roots": dict(self.roots),
            "statement": self.statement.to_json(),
            "tree_size": self.tree_size,
            "version": self.version,
            **self.extra,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Manifest:
        """A manifest that follows its schema."""
        known = ("deposit_id", "format", "items", "roots", "statement", "tree_size", "version")
        return cls(
            value["deposit_id"],
            Statement.from_json(value["statement"]),
            [ItemRecord.from_json(i) for i in value["items"]],
            dict(value["roots"]),
            value["tree_size"],
            value["format"],
            value["version"],
            {k: v for k, v in value.items() if k not in known},
        )


@dataclass
class AnchorReceipt:
    """What every anchor receipt under ``proofs/anchors/`` holds; ``fields`` are its backend's own."""

    type: str
    """The backend's kind: ``ledger``, ``evm``."""
    version: int
    deposit_id: str
    roots: dict[str, str]
    fields: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The receipt as stored."""
        common = {"type": self.type, "version": self.version, "deposit_id": self.deposit_id, "roots": self.roots}
        return {**common, **self.fields}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> AnchorReceipt:
        """Split a receipt into the common members and its backend's (KeyError when one is missing)."""
        common = ("type", "version", "deposit_id", "roots")
        rest = {k: v for k, v in value.items() if k not in common}
        return cls(value["type"], value["version"], value["deposit_id"], value["roots"], rest)


_DIRECT_DIGESTS = {"sm3", "sha256"}  # exactly the two digests _direct_item_leaf writes (not hashing.ALGORITHMS)


def encode_leaf(record: ItemRecord | Statement) -> bytes:
    """The exact bytes a leaf hashes (RFC 8785 canonical JSON without ``proof``); the one encoder."""
    if (
        isinstance(record, ItemRecord)
        and record.parent is None
        and record.name_raw is None
        and record.digests.keys() == _DIRECT_DIGESTS
    ):
        return _direct_item_leaf(record)
    return leaf_bytes(record.to_json())


def renumbered(leaf: bytes, old_id: int, new_id: int) -> bytes:
    """:func:`encode_leaf`'s bytes of an item record with its id changed from ``old_id`` to ``new_id``.

    Keys are in canonical order and ``digests`` (an object of two hex strings) comes first: the first
    ``,"id":N,`` is the id; nothing else in the record depends on it."""
    old = b',"id":%d,' % old_id
    at = leaf.index(old)
    return leaf[:at] + b',"id":%d,' % new_id + leaf[at + len(old) :]


_JSON_STRING: Any = json.encoder.encode_basestring  # type: ignore[attr-defined]
"""A JSON string as json.dumps(ensure_ascii=False) writes it, which is RFC 8785's writing for valid Unicode."""


def _flat_object(value: dict[str, Any]) -> str:
    """canonical_json() of a dict of strings and small integers under ASCII keys (a plain file's metadata),
    written directly; anything else goes to canonical_json()."""
    parts = []
    for key in sorted(value):
        item = value[key]
        kind = type(item)
        if not key.isascii():
            return canonical_json(value).decode("utf-8")
        if kind is str:
            parts.append(f"{_JSON_STRING(key)}:{_JSON_STRING(item)}")
        elif kind is int and -(10**15) < item < 10**15:
            parts.append(f"{_JSON_STRING(key)}:{item}")
        else:
            return canonical_json(value).decode("utf-8")
    return "{" + ",".join(parts) + "}"


_FILE_METADATA = frozenset({"ctime", "ctime_note", "mtime", "size"})
"""The keys of a plain file's metadata (collect/analyze.py ``file_metadata``), in RFC 8785 order below."""


def _metadata_json(m: dict[str, Any]) -> str:
    """:func:`_flat_object` of ``m``, from a template when ``m`` has exactly a plain file's keys and values
    of the types _flat_object writes that way (1.3 -> 0.6 us: no sorting, no loop)."""
    if m.keys() == _FILE_METADATA:
        size, mtime, ctime, note = m["size"], m["mtime"], m["ctime"], m["ctime_note"]
        if type(size) is int and -(10**15) < size < 10**15 and type(mtime) is type(ctime) is type(note) is str:
            jm = _JSON_STRING(mtime)
            jc = jm if ctime is mtime else _JSON_STRING(ctime)  # the same string when ctime == mtime
            return f'{{"ctime":{jc},"ctime_note":{_JSON_STRING(note)},"mtime":{jm},"size":{size}}}'
    return _flat_object(m)


_LEAF = (
    '{"digests":{"sha256":%s,"sm3":%s},"id":%d,"kind":%s,"media_type":%s,"metadata":%s,'
    '"name":%s,"parent":null,"path":%s,"salt":%s,"size":%d}'
)
"""A top-level item record's leaf, its keys in RFC 8785 order."""


def item_leaf(
    item_id: int,
    name: str,
    kind: str,
    media_type: str,
    size: int,
    sm3: str,
    sha256: str,
    path: str | None,
    metadata: dict[str, Any],
    salt: str,
) -> bytes:
    """:func:`encode_leaf` of ``ItemRecord(item_id, name, kind, media_type, size, {"sm3": sm3, "sha256":
    sha256}, None, path, metadata, salt)`` without the record built: what a deposit's worker calls for
    each file (3.2 us with the record and its digest dict built and encode_leaf's checks, 2.1 this way,
    benchmarks/README.md "Worker per-file CPU"). One format string and one UTF-8 encoding for the whole
    record, every string through the JSON string writer (digests and salt too); its strings must be valid
    Unicode (a lone surrogate raises UnicodeEncodeError)."""
    return (
        _LEAF
        % (
            _JSON_STRING(sha256),
            _JSON_STRING(sm3),
            item_id,
            _JSON_STRING(kind),
            _JSON_STRING(media_type),
            _metadata_json(metadata),
            _JSON_STRING(name),
            "null" if path is None else _JSON_STRING(path),
            _JSON_STRING(salt),
            size,
        )
    ).encode("utf-8")


def _direct_item_leaf(r: ItemRecord) -> bytes:
    """:func:`encode_leaf` of a top-level record, written directly by :func:`item_leaf` (the generic
    encoder sorts and checks every key)."""
    d = r.digests
    return item_leaf(r.id, r.name, r.kind, r.media_type, r.size, d["sm3"], d["sha256"], r.path, r.metadata, r.salt)
