"""The other party edits the manifest.json of a genuine 2,100-item package to confuse the streamed verifier
(evidencectl/verify/stream.py), which finds records by scanning the text for ``},{"digests":`` and the end of
the items by ``}],"private":``: markers planted in records and in the statement, escapes, duplicate keys,
numbers canonical JSON cannot hold, ids and counts that disagree, odd whitespace, a BOM, truncation and
trailing bytes, the private record moved, doubled or removed.

Each edited package is verified by the court on the streamed path and on the plain path (the reference:
the manifest parsed whole); the two must say exactly the same (exit code, ``--json`` but ``verified_at``,
errors), and that must be the right verdict. ``stream`` says whether the streamed path answers itself or
hands the package to the plain path. Python's json module and jq (not evidencectl) say what the edited
manifest holds where it matters.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from evidencectl.hashing import ALGORITHMS
from evidencectl.merkle import MerkleTree
from evidencectl.package.canonical import canonical_json
from evidencectl.package.manifest import leaf_hashes, leaf_records
from tests.conftest import CliResult
from tests.streamkit import Base, both, deposit_base, oracle_manifest, with_manifest

Edit = Callable[[bytes, dict[str, Any]], bytes]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    return deposit_base(tmp_path_factory.mktemp("records"))


def _record(index: int, change: Callable[[bytes], bytes]) -> Edit:
    """Record ``index`` (0-based) of the items changed by ``change`` (its stored bytes)."""

    def edit(raw: bytes, manifest: dict[str, Any]) -> bytes:
        record = canonical_json(manifest["items"][index])
        assert raw.count(record) == 1
        return raw.replace(record, change(record))

    return edit


def _sub(old: bytes, new: bytes, index: int = 1000) -> Edit:
    """In record ``index``: the first ``old`` replaced by ``new``."""

    def change(record: bytes) -> bytes:
        assert old in record, (old, record)
        return record.replace(old, new, 1)

    return _record(index, change)


def _whole(change: Callable[[bytes], bytes]) -> Edit:
    return lambda raw, _: change(raw)


def _private(raw: bytes) -> bytes:
    start = raw.index(b',"private":')
    return raw[start : raw.index(b',"roots":')]


def _last_removed(raw: bytes, manifest: dict[str, Any]) -> bytes:
    last = canonical_json(manifest["items"][-1])
    return raw.replace(b"," + last + b"]", b"]").replace(b'"tree_size":2101', b'"tree_size":2100')


def _appended(raw: bytes, manifest: dict[str, Any]) -> bytes:
    extra = dict(manifest["items"][-1], id=2101, name="case/extra.txt", path="evidence/case/extra.txt")
    last = canonical_json(manifest["items"][-1])
    raw = raw.replace(last + b"]", last + b"," + canonical_json(extra) + b"]")
    return raw.replace(b'"tree_size":2101', b'"tree_size":2102')


def _swapped(raw: bytes, manifest: dict[str, Any]) -> bytes:
    a, b = (canonical_json(manifest["items"][i]) for i in (1000, 1001))
    return raw.replace(a + b"," + b, b + b"," + a)


def _proof(record: str, leaf: int) -> Edit:
    """The statement (``record`` "statement") or item 5 given inclusion proofs of leaf ``leaf``: not part of
    any leaf, so a complete package carrying them has them checked, on the plain path."""

    def edit(raw: bytes, manifest: dict[str, Any]) -> bytes:
        hashes = leaf_hashes(leaf_records(manifest))
        proof = {alg: MerkleTree(alg, hashes[alg]).proof(leaf).to_json() for alg in ALGORITHMS}
        old = manifest["statement"] if record == "statement" else manifest["items"][5]
        return raw.replace(canonical_json(old), canonical_json(dict(old, proof=proof)))

    return edit


NAME = b'"name":"case/d2/f01000.txt"'


def _size(new: bytes) -> Edit:
    """Record 1000's own size (its last key; b"exhibit 1000\n" is 13 bytes) written as ``new``."""

    def change(record: bytes) -> bytes:
        assert record.endswith(b',"size":13}')
        return record[: -len(b"13}")] + new + b"}"

    return _record(1000, change)


def _salt_changed(record: bytes) -> bytes:
    at = record.index(b'"salt":"') + len(b'"salt":"')
    return record[:at] + (b"1" if record[at : at + 1] == b"0" else b"0") + record[at + 1 :]


class Attack(NamedTuple):
    edit: Edit
    verdict: str
    """PASSED, FAILED, or refused (exit 4)."""
    words: str
    """In the refusal, or in a FAILED check's detail or reason."""
    stream: bool
    """The streamed path answers itself (False: it hands the package to the plain path)."""


ATTACKS: dict[str, Attack] = {
    "genuine": Attack(_whole(lambda r: r), "PASSED", "", True),
    # The end of the items array as the scanner looks for it, planted where it can be.
    "private-marker-in-a-middle-record": Attack(
        _sub(b',"size":13}', b',"p":[{}],"private":1,"size":13}'), "FAILED", "do not rebuild", True
    ),
    "private-marker-in-the-last-record": Attack(
        _sub(b',"size":13}', b',"p":[{}],"private":1,"size":13}', 2099), "FAILED", "do not rebuild", True
    ),
    "roots-marker-in-the-last-record": Attack(
        _sub(b',"size":13}', b',"p":[{}],"roots":1,"size":13}', 2099), "FAILED", "do not rebuild", True
    ),
    "private-marker-in-the-statement-after-the-items": Attack(
        _whole(lambda r: r.replace(b',"tool":"', b',"signer":{"p":[{}],"private":1},"tool":"')),
        "FAILED",
        "do not rebuild",
        False,
    ),
    # The start of a record as the scanner looks for it, inside a record (not inside a string: there a
    # quote is always escaped, and `"},{"` in a name is written `\"},{\"`).
    "record-start-in-a-middle-record": Attack(
        _sub(b',"size":13}', b',"p":[{},{"digests":1}],"size":13}'), "FAILED", "do not rebuild", False
    ),
    "record-start-in-the-last-record": Attack(
        _sub(b',"size":13}', b',"p":[{},{"digests":1}],"size":13}', 2099), "FAILED", "do not rebuild", False
    ),
    "quotes-braces-and-backslashes-in-a-name": Attack(
        _sub(NAME, b'"name":"case/d2/f01000.txt\\"},{\\"digests\\":\\\\\\"}],\\"private\\":"'),
        "FAILED",
        "do not rebuild",
        True,
    ),
    # Escapes: the same value written another way is not canonical; what canonical JSON cannot hold.
    "escaped-letter": Attack(_sub(b'"kind":"file"', b'"kind":"\\u0066ile"'), "refused", "canonical form", False),
    "escaped-solidus": Attack(_sub(NAME, NAME.replace(b"/", b"\\/", 1)), "refused", "canonical form", False),
    "lone-surrogate": Attack(_sub(NAME, NAME[:-1] + b'\\ud800"'), "refused", "lone surrogate", False),
    "escaped-surrogate-pair": Attack(_sub(NAME, NAME[:-1] + b'\\ud83d\\ude00"'), "refused", "canonical form", False),
    "astral-character": Attack(_sub(NAME, NAME[:-1] + '😀"'.encode()), "FAILED", "do not rebuild", True),
    "escaped-nul": Attack(_sub(NAME, NAME[:-1] + b'\\u0000"'), "FAILED", "do not rebuild", True),
    "raw-nul-in-a-string": Attack(_sub(NAME, NAME[:-1] + b'\x00"'), "refused", "Invalid control character", False),
    "raw-line-separator-in-a-name": Attack(
        _sub(NAME, NAME[:-1] + '\u2028"'.encode()), "FAILED", "do not rebuild", True
    ),
    "uppercase-escape": Attack(_sub(NAME, NAME[:-1] + b'\\u001F"'), "refused", "canonical form", False),
    "invalid-utf-8": Attack(_sub(NAME, NAME[:-1] + b'\xff"'), "refused", "not valid JSON", False),
    "overlong-utf-8-solidus": Attack(_sub(NAME, NAME[:-1] + b'\xc0\xaf"'), "refused", "not valid JSON", False),
    "utf-8-encoded-surrogate": Attack(_sub(NAME, NAME[:-1] + b'\xed\xa0\x80"'), "refused", "not valid JSON", False),
    "noncharacter": Attack(_sub(NAME, NAME[:-1] + '\uffff"'.encode()), "FAILED", "do not rebuild", True),
    "nan-size": Attack(_size(b"NaN"), "refused", "non-standard JSON constant NaN", False),
    "infinite-id": Attack(_sub(b'"id":1001,', b'"id":-Infinity,'), "refused", "non-standard JSON constant", False),
    # Duplicate keys: Python's json and jq take the last value; evidencectl refuses them on both paths.
    "duplicate-key-in-a-record": Attack(
        _sub(b'"id":1001,', b'"id":1001,"id":1001,'), "refused", "duplicate key 'id'", False
    ),
    "duplicate-key-in-a-record-another-value": Attack(
        _sub(b'"kind":"file",', b'"kind":"file","kind":"evil",'), "refused", "duplicate key 'kind'", False
    ),
    "duplicate-top-level-key": Attack(
        _whole(lambda r: r[:-1] + b',"version":3}'), "refused", "duplicate key 'version'", False
    ),
    "second-items-array-in-place": Attack(
        _whole(lambda r: r.replace(b'],"private":', b'],"items":[{"digests":{}}],"private":', 1)),
        "refused",
        "duplicate key 'items'",
        False,
    ),
    "second-items-array-after-the-private-record": Attack(
        _whole(lambda r: r.replace(b',"roots":', b',"items":[],"roots":', 1)),
        "refused",
        "duplicate key 'items'",
        False,
    ),
    "top-level-key-after-the-items": Attack(
        _whole(lambda r: r.replace(b'],"private":', b'],"items2":[{}],"private":', 1)),
        "refused",
        "must not contain {'items2'} properties",
        False,
    ),
    # Whitespace, BOM, line ends, truncation, trailing bytes.
    "space-between-records": Attack(
        _whole(lambda r: r.replace(b'},{"digests":', b'}, {"digests":', 1)), "refused", "canonical form", False
    ),
    "space-inside-a-record": Attack(_sub(b'"kind":"file"', b'"kind": "file"'), "refused", "canonical form", False),
    "tab-after-the-items-bracket": Attack(
        _whole(lambda r: r.replace(b'"items":[', b'"items":[\t', 1)), "refused", "canonical form", False
    ),
    "newline-between-top-level-keys": Attack(
        _whole(lambda r: r.replace(b',"roots":', b',\n"roots":', 1)), "refused", "canonical form", False
    ),
    "byte-order-mark": Attack(_whole(lambda r: b"\xef\xbb\xbf" + r), "refused", "BOM", False),
    "crlf-at-the-end": Attack(_whole(lambda r: r + b"\r\n"), "refused", "canonical form", False),
    "crlf-between-records": Attack(
        _whole(lambda r: r.replace(b'},{"digests":', b'},\r\n{"digests":', 1)), "refused", "canonical form", False
    ),
    "garbage-after-the-closing-brace": Attack(_whole(lambda r: r + b"x"), "refused", "Extra data", False),
    "second-closing-brace": Attack(_whole(lambda r: r + b"}"), "refused", "Extra data", False),
    "nul-after-the-closing-brace": Attack(_whole(lambda r: r + b"\x00"), "refused", "Extra data", False),
    "truncated-in-the-middle": Attack(_whole(lambda r: r[: len(r) // 2]), "refused", "not valid JSON", False),
    "truncated-by-its-last-brace": Attack(_whole(lambda r: r[:-1]), "refused", "not valid JSON", False),
    # Numbers.
    "size-as-a-float": Attack(_size(b"13.0"), "refused", "floating-point number 13.0", False),
    "size-with-an-exponent": Attack(_size(b"13e0"), "refused", "floating-point number", False),
    "negative-size": Attack(_size(b"-13"), "refused", "bigger than or equal to 0", False),
    "minus-zero-size": Attack(_size(b"-0"), "refused", "canonical form", False),
    "huge-size": Attack(_size(b"99999999999999999999"), "refused", "larger than canonical JSON holds", False),
    "largest-exact-size": Attack(_size(b"9007199254740991"), "FAILED", "size", True),
    "size-as-a-string": Attack(_size(b'"13"'), "refused", "size must be integer", False),
    "id-zero": Attack(_sub(b'"id":1001,', b'"id":0,'), "refused", "bigger than or equal to 1", False),
    "id-beyond-two-to-the-53": Attack(
        _sub(b'"id":1001,', b'"id":9007199254740993,'), "refused", "larger than canonical JSON holds", False
    ),
    "id-of-sixteen-digits": Attack(_sub(b'"id":1001,', b'"id":1000000000000001,'), "FAILED", "out of order", True),
    "id-as-true": Attack(_sub(b'"id":1001,', b'"id":true,'), "refused", "id must be integer", False),
    # Ids and counts.
    "id-repeated": Attack(_sub(b'"id":1001,', b'"id":1000,'), "FAILED", "out of order", True),
    "records-swapped": Attack(_swapped, "FAILED", "out of order", True),
    "id-missing": Attack(_sub(b'"id":1001,', b""), "refused", "must contain ['id'", False),
    "last-record-removed": Attack(_last_removed, "FAILED", "do not rebuild", True),
    "record-appended": Attack(_appended, "FAILED", "do not rebuild", True),
    "tree-size-one-less": Attack(
        _whole(lambda r: r.replace(b'"tree_size":2101', b'"tree_size":2100')), "FAILED", "out of order", True
    ),
    "statement-item-count-changed": Attack(
        _whole(lambda r: r.replace(b'"item_count":2100', b'"item_count":2099')), "FAILED", "do not rebuild", True
    ),
    # A canonical record whose leaf is not the one sealed.
    "record-renamed-canonically": Attack(
        _sub(NAME, b'"name":"case/d2/f01000-renamed.txt"'), "FAILED", "do not rebuild", True
    ),
    "record-salt-changed": Attack(_record(1000, _salt_changed), "FAILED", "do not rebuild", True),
    # Inclusion proofs (a disclosure's) added to a complete package: the streamed path takes none.
    "statement-given-its-true-proof": Attack(_proof("statement", 0), "PASSED", "", False),
    "item-given-its-true-proof": Attack(_proof("item", 6), "PASSED", "", False),
    "item-given-the-statements-proof": Attack(_proof("item", 0), "FAILED", "leaf does not lead to the root", False),
    # The frame around the items.
    "disclosure-claimed": Attack(
        _whole(lambda r: r.replace(b',"format":', b',"disclosure":{"items":[]},"format":', 1)),
        "FAILED",
        "no inclusion proof",
        False,
    ),
    "version-lowered-to-2": Attack(
        _whole(lambda r: r.replace(b',"version":3}', b',"version":2}')), "refused", "version-2 manifest", False
    ),
    "format-renamed": Attack(
        _whole(lambda r: r.replace(b'"format":"evidencectl-package"', b'"format":"evidencectl-packagf"', 1)),
        "refused",
        "does not follow its schema",
        False,
    ),
    "deposit-id-changed": Attack(
        _whole(lambda r: r.replace(b'{"deposit_id":"EVD-', b'{"deposit_id":"EVE-', 1)),
        "FAILED",
        "FORMAT",
        True,
    ),
    # The private record.
    "private-record-moved-to-the-end": Attack(
        _whole(lambda r: r.replace(_private(r), b"")[:-1] + _private(r) + b"}"), "refused", "canonical form", False
    ),
    "private-record-doubled": Attack(
        _whole(lambda r: r[:-1] + _private(r) + b"}"), "refused", "duplicate key 'private'", False
    ),
    "private-record-removed": Attack(_whole(lambda r: r.replace(_private(r), b"")), "FAILED", "MISSING_NOTE", True),
    "private-note-edited": Attack(
        _whole(lambda r: r.replace("内部：证人尚未联系".encode(), "无".encode())), "FAILED", "DIGEST_MISMATCH", True
    ),
}


def _words(res: CliResult) -> str:
    if res.code == 4:
        return res.err
    checks = json.loads(res.out)["checks"]
    return " ".join(f"{c['detail']} {c.get('reason')}" for c in checks if c["status"] != "PASSED")


@pytest.mark.parametrize("name", list(ATTACKS))
def test_edited_manifest_gets_the_plain_paths_verdict_on_the_streamed_path(
    base: Base,
    cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    name: str,
) -> None:
    attack = ATTACKS[name]
    raw = base.manifest()
    edited = attack.edit(raw, json.loads(raw))
    assert (edited == raw) == (name == "genuine")
    package = with_manifest(base.package, edited, tmp_path / f"{name}.evp")
    res = both(cli, monkeypatch, base.court, package)
    res.same()
    assert res.verdict == attack.verdict, (res.verdict, _words(res.plain))
    assert attack.words in _words(res.plain)
    assert res.took_stream is attack.stream
    if attack.verdict != "refused":
        digests = [c for c in json.loads(res.plain.out)["checks"] if c["check"].startswith("digest:")]
        assert len(digests) == len(json.loads(edited)["items"])  # every record judged, none lost or made up


def test_duplicate_keys_are_read_by_json_and_jq_as_their_last_value_which_evidencectl_never_chooses(
    base: Base, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What the other party hopes: a reader that keeps the first ``kind`` sees the sealed record, one that
    keeps the last sees "evil". Python's json and jq keep the last; evidencectl keeps neither (exit 4)."""
    raw = base.manifest()
    edited = ATTACKS["duplicate-key-in-a-record-another-value"].edit(raw, json.loads(raw))
    package = with_manifest(base.package, edited, tmp_path / "dup.evp")
    said = oracle_manifest(package)
    assert isinstance(said, dict) and said["items"][1000]["kind"] == "evil"
    assert json.loads(edited)["items"][1000]["kind"] == "evil"
    res = both(cli, monkeypatch, base.court, package)
    res.same()
    assert res.plain.code == 4 and "duplicate key 'kind'" in res.plain.err


def test_markers_planted_in_records_do_not_change_what_the_manifest_holds(
    base: Base, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """jq reads 2,100 items and the genuine private record from a manifest whose last record holds
    ``}],"private":``; the streamed path judged the same 2,100 records, the private record PASSED."""
    raw = base.manifest()
    edited = ATTACKS["private-marker-in-the-last-record"].edit(raw, json.loads(raw))
    package = with_manifest(base.package, edited, tmp_path / "marker.evp")
    said = oracle_manifest(package)
    assert isinstance(said, dict) and len(said["items"]) == 2100
    assert said["private"] == json.loads(raw)["private"]
    res = both(cli, monkeypatch, base.court, package)
    res.same()
    assert res.took_stream
    assert res.checks()["statement:note"]["status"] == "PASSED"
    assert res.checks()["digest:case/d4/f02099.txt"]["status"] == "PASSED"
    assert res.checks()["inclusion:tree"]["status"] == "FAILED"
