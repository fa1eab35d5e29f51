"""The per-file shortcuts of a deposit's workers against the plain paths they stand for: the record written
from a template, the file times remembered per second, the media type by first byte, the claimed extension,
the member header from a fixed head, the member name's leaf check, the read's changed-while-read check."""

from __future__ import annotations

import hashlib
import json
import os
import random
import zipfile
from pathlib import Path

import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from evidencectl import intake
from evidencectl import workers as workers_module
from evidencectl.collect import analyze as analyze_module
from evidencectl.collect import media
from evidencectl.collect.files import read_whole
from evidencectl.deposit import items as items_module
from evidencectl.hashing import SMALL
from evidencectl.merkle import LEAF_PREFIX, leaf_hash
from evidencectl.package import model
from evidencectl.package.canonical import canonical_json
from evidencectl.package.model import ItemRecord, encode_leaf, item_leaf
from evidencectl.package.prepared import stored_member
from evidencectl.package.zipformat import local_header

NOTE = "file-system change time of this copy; not evidence of creation"
_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
# Quotes, backslashes, controls, non-ASCII, astral: everything a JSON string writer can get wrong.
_HOSTILE = st.text(st.sampled_from('a"\\\x00\x1f\x7f\n\té合\u2028\U0001f600/'), max_size=12) | _TEXT
_SMALL_INT = st.integers(-(10**15) + 1, 10**15 - 1)
_VALUE = _HOSTILE | _SMALL_INT | st.sampled_from([10**15, -(10**15), 2**53, True, False, None, 1.5, [], {}])
_FILE_METADATA = st.fixed_dictionaries(
    {"size": _SMALL_INT | _VALUE, "mtime": _HOSTILE | _VALUE, "ctime": _HOSTILE | _VALUE, "ctime_note": _HOSTILE}
)
_METADATA = _FILE_METADATA | st.dictionaries(_HOSTILE, _VALUE, max_size=5) | _FILE_METADATA.map(lambda m: {**m, "x": 1})


def _plain_leaf(record: ItemRecord) -> bytes:
    out: bytes = rfc8785.dumps(record.to_json())
    return out


@settings(max_examples=400, deadline=None)
@given(
    item_id=st.integers(1, 10**9),
    name=_HOSTILE,
    kind=_HOSTILE,
    media_type=_HOSTILE,
    size=st.integers(0, 2**40),
    member=st.none() | _HOSTILE,
    metadata=_METADATA,
    digest=st.sampled_from(["ab" * 32, "", 'x"y', "\\", "é"]),
)
@example(
    item_id=1,
    name="a.bin",
    kind="file",
    media_type="application/octet-stream",
    size=4,
    member=None,
    metadata={"size": 4, "mtime": "t", "ctime": "t", "ctime_note": NOTE},
    digest="ab",
)
def test_a_worker_record_is_the_plain_canonical_json_of_its_item(
    item_id, name, kind, media_type, size, member, metadata, digest
) -> None:
    """item_leaf (one template, a plain file's metadata from another) against RFC 8785 of the record built
    the plain way: a key out of order, a string not escaped, a value of another type taken for a string or
    an integer would each give other bytes. Values the template must not take (floats, large or boolean
    numbers, lists) go to the generic encoder, which refuses what has no canonical form as before."""
    salt = os.urandom(32).hex()
    digests = {"sm3": digest, "sha256": "cd" * 32}
    record = ItemRecord(item_id, name, kind, media_type, size, digests, None, member, metadata, salt)
    fast = (item_id, name, kind, media_type, size, digest, "cd" * 32, member, metadata, salt)
    try:
        if any(type(v) is float for v in metadata.values()):
            raise ValueError("canonical records hold no floats")
        plain = _plain_leaf(record)
    except ValueError:  # no canonical form: the fast path must not make one either
        with pytest.raises(ValueError):
            item_leaf(*fast)
        return
    assert item_leaf(*fast) == plain
    assert encode_leaf(record) == plain


@settings(max_examples=300, deadline=None)
@given(_FILE_METADATA)
def test_a_plain_files_metadata_from_the_template_is_its_canonical_json(metadata: dict) -> None:
    try:
        plain = canonical_json(metadata)
    except ValueError:
        return
    assert model._metadata_json(metadata).encode("utf-8") == plain == rfc8785.dumps(metadata)


def test_the_metadata_a_deposit_writes_goes_through_the_template(tmp_path: Path, monkeypatch) -> None:
    """The shortcut is taken for the metadata analyze makes (else it would buy nothing), and the
    generic writer is not."""
    path = tmp_path / "f.bin"
    path.write_bytes(b"\x80" * 10)
    meta = analyze_module.file_metadata(path, path.stat())

    def refuse(value: dict) -> str:
        raise AssertionError("the generic writer ran")

    monkeypatch.setattr(model, "_flat_object", refuse)
    assert json.loads(model._metadata_json(meta)) == meta


# Every magic number sniff knows, a mail, an mbox, JSON, html, xml, UTF-16, text: after each first byte.
_TAILS = [
    b"",
    b"%PDF-1.7\n",
    b"PK\x03\x04word/",
    b"PK\x05\x06",
    media.PNG_MAGIC,
    b"\xff\xd8\xff\xe0",
    b"GIF89a",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    b"BM" + b"\x00" * 30,
    b"II*\x00",
    b"MM\x00*",
    b"\x00\x00\x00\x18ftypisom",
    b"\x00\x00\x00\x18ftypqt  ",
    b"\x1f\x8b\x08",
    media.OLE_MAGIC,
    b"From a@b Mon Jan 1 00:00:00 2026\nFrom: a@b\nSubject: x\n\nbody\n",
    b"\n\nFrom x\nTo: y\n\n",
    b"From: a@b\nSubject: hi\n\nbody\n",
    b"rom: a@b\n\n",
    b'{"a": 1}',
    b" [1, 2] ",
    b"<!DOCTYPE html><html></html>",
    b"\xef\xbb\xbf<html>",
    b"<?xml version='1.0'?>",
    b"\xff\xfeh\x00i\x00",
    b"\xfe\xff\x00h\x00i",
    b"plain text\r\nline two\r\n",
    b"\x00\x01\x02binary",
    bytes(range(256)),
]


@pytest.mark.parametrize("tail", _TAILS, ids=range(len(_TAILS)))
def test_sniffing_by_the_first_byte_gives_the_type_every_test_gives(tail: bytes) -> None:
    """Each of the 256 first bytes before each of these heads (and each head alone), against every test in
    turn: a first byte wrongly taken for one that starts nothing but text or binary (``%`` of a PDF, ``F``
    of an mbox, a space before JSON) makes one of these differ."""
    rng = random.Random(len(tail))
    for first in range(256):
        for head in (bytes([first]) + tail, tail, bytes([first]) + rng.randbytes(64) + tail):
            head = head[: media.SNIFF_SIZE]
            assert media.sniff(head) == media._sniff_plain(head), head[:40]
            assert media.sniff(bytearray(head)) == media._sniff_plain(head)  # not only bytes


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=64) | st.builds(lambda a, b: a + b, st.sampled_from(_TAILS), st.binary(max_size=32)))
def test_sniffing_any_head_gives_the_type_every_test_gives(head: bytes) -> None:
    assert media.sniff(head) == media._sniff_plain(head)


def _looks_like_mbox_plain(head: bytes) -> bool:
    """media.looks_like_mbox before its first-byte test."""
    head = media.lf_view(head)
    head = head[media.mbox_start(head) :]
    if media._MBOX_FROM.match(head) is None:
        return False
    _, _, rest = head.partition(b"\n")
    return media._header_block_is_mail(rest)


_LINES = st.sampled_from(
    [
        b"From: a@b",
        b"from:x",
        b"X-Mailer : y",
        b" folded",
        b"\tfolded",
        b"",
        b"\r",
        b"no colon",
        b"a b: c",
        b"Subject:",
        b":x",
        b"From x",
        b"From - Mon",
        b"\x00:",
        b"Key: value",
        b"To:\r",
        b"\xff:",
    ]
)
_HEADS = st.lists(_LINES, max_size=6).map(b"\n".join) | st.binary(max_size=40)


@settings(max_examples=800, deadline=None)
@given(_HEADS, st.sampled_from([b"", b"\n", b"\r\n", b"\r", b"\n\n", b" \t\n"]))
@example(b"From: a@b\nSubject: x", b"\n")
@example(b"From x\nFrom: a@b\n", b"\r\n")  # blank lines before From_, CR LF
@example(b"From x\rFrom: a@b\r", b"\r")  # CR alone ends lines
@example(b"no header here: From: a@b", b"")
@example(b"abc\r:def\nFrom: x", b"\n")
def test_mail_and_mbox_tests_with_their_first_line_shortcuts_decide_as_line_by_line(head: bytes, end: bytes) -> None:
    """A header line's colon after a CR, a second line's colon, a folded first line, a blank first line:
    the first-line test (mail) and the first-byte test (mbox) must say what the line-by-line loop says."""
    for h in (head + end, end + head, b"\r".join(head.split(b"\n")) + end):
        assert media.looks_like_mail(h) == media._header_block_is_mail(h), h
        assert media.looks_like_mbox(h) == _looks_like_mbox_plain(h), h


def test_random_data_takes_the_first_byte_shortcut() -> None:
    """About 152 of 256 random files skip the magic, mbox and mail tests (what the shortcut buys)."""
    rng = random.Random(7)
    hits = sum(rng.randbytes(4096)[0] in media._NOTHING_BUT_TEXT_OR_BINARY for _ in range(2000))
    assert 1000 < hits < 1400


_EDGES = [0.0, 0.5, 0.9989999, 0.999, 0.9994999, 0.9995, 0.9999994, 0.9999995, 0.9999996, 0.99999999]


@pytest.mark.parametrize("second", [0, 1, -1, -2, 1_796_184_857, 253_402_300_799, -62_135_596_800])
@pytest.mark.parametrize("fraction", _EDGES)
def test_a_time_remembered_per_second_is_the_time_datetime_writes(second: int, fraction: float) -> None:
    """Near the end of a second fromtimestamp rounds up to the next one (and a negative time rounds the
    other way): the remembered text of the second must not be used there. Asked twice, so that the second
    answer comes from what was remembered."""
    ts = second + fraction
    for _ in range(2):
        try:
            plain = analyze_module._iso_plain(ts)
        except (ValueError, OverflowError, OSError):
            with pytest.raises((ValueError, OverflowError, OSError)):
                analyze_module._iso(ts)
            continue
        assert analyze_module._iso(ts) == plain, ts
    analyze_module._ISO.clear()


@settings(max_examples=500, deadline=None)
@given(st.floats(min_value=-1e10, max_value=1e10, allow_nan=False) | st.integers(-(10**10), 10**10).map(float))
def test_any_time_remembered_per_second_is_the_time_datetime_writes(ts: float) -> None:
    for candidate in (ts, ts + 0.9999996, ts - 0.0000004):
        analyze_module._iso(candidate)  # remembered: a wrongly remembered second shows on the second ask
        assert analyze_module._iso(candidate) == analyze_module._iso_plain(candidate), candidate


@settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from("aEeMmLlBbOoXxPpGgJjNnFfWwSs.K\u212a\u0130/ é"), max_size=10))
@example("x.\u212aml")
@example("a.EML")
@example("İ.eml")
@example(".eml")
@example("dir.eml/x")
def test_the_claimed_extension_is_the_one_splitext_finds(name: str) -> None:
    every = [p + e for e in analyze_module._CLAIMED for p in ("x", "x.y", "") for e in (e, e.upper(), e.title())]
    for path in (name, "folder/" + name, *every):
        assert analyze_module._claimed(path) == analyze_module._CLAIMED.get(os.path.splitext(path)[1].lower())
        assert analyze_module._claimed(Path(path or ".")) == analyze_module._CLAIMED.get(
            os.path.splitext(Path(path or "."))[1].lower()
        )


@pytest.mark.parametrize("name", ["evidence/a.bin", "evidence/合同.pdf", "e/" + "x" * 300, "evidence/a b/c\u00e9"])
@pytest.mark.parametrize("size", [0, 1, 4096, SMALL])
def test_a_member_header_from_the_fixed_head_is_the_profiles_local_header(name: str, size: int) -> None:
    data = random.Random(size).randbytes(size)
    header, crc = stored_member(name, data)
    assert crc == __import__("zlib").crc32(data)
    assert header == local_header(name, size, crc, 0)


def _member_plain(name: str, item_id: int) -> str:
    """_member_for with every leaf through _component_ok (before the leaf shortcut)."""
    if items_module._PORTABLE.match(name) and not items_module.invisible_in_name(name):
        folder, slash, leaf = name.rpartition("/")
        if items_module._component_ok(leaf) and (not slash or items_module._folder_ok(folder)):
            return f"evidence/{name}"
    return f"evidence/_nonportable/{item_id}"


@settings(max_examples=800, deadline=None)
@given(st.text(st.sampled_from("cCoOnNmM1¹pPrRtTlLuUaAxX. /\u212a"), max_size=9))
@example("con.txt")
@example("COM1.log")
@example("lpt9.x.y")
@example("aux")
@example("nul.tar.gz")
@example("abcd.")
@example("abcde ")
@example("d/com¹.a")
def test_the_leaf_shortcut_names_members_as_the_device_name_check_does(leaf: str) -> None:
    for name in (leaf, f"folder/{leaf}"):
        assert items_module._member_for(name, 3) == _member_plain(name, 3), name


@pytest.mark.parametrize("change", ["mtime", "ctime", "size"])
def test_a_worker_flags_each_status_change_while_read_as_read_whole_does(tmp_path: Path, monkeypatch, change) -> None:
    """The three fields compared before changed_while_read words a change: a chmod (the change time only),
    a touch (the modification time), an append (the size)."""
    path = tmp_path / "f.txt"
    path.write_bytes(b"first version\n")
    real_read = os.read
    touched: list[int] = []

    def read_then_change(fd: int, n: int) -> bytes:
        data = real_read(fd, n)
        if not touched:
            touched.append(1)
            if change == "mtime":
                st = os.stat(path)
                os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 10**9))
            elif change == "ctime":
                os.chmod(path, 0o600)
            else:
                with path.open("ab") as fh:
                    fh.write(b"x" * 70_000)  # past what the read after this one asks
        return data

    monkeypatch.setattr(intake.os, "read", read_then_change)
    got = intake.read_small(str(path))
    assert (
        got is not None
        and got.changed is not None
        and {"mtime": "mtime_ns", "ctime": "ctime_ns"}.get(change, "size") in got.changed
    )
    monkeypatch.undo()
    path.write_bytes(b"quiet\n")
    fast, plain = intake.read_small(str(path)), read_whole(path, SMALL, SMALL)
    assert fast is not None and plain is not None and fast.changed is None is plain.changed


@pytest.mark.parametrize("algorithm", ["sm3", "sha256"])
def test_a_leaf_hash_is_rfc9162s_leaf_hash(algorithm: str) -> None:
    for data in (b"", b"abc", b"x" * 1000, b"abc"):  # asked again: the primed object is copied, not used up
        assert leaf_hash(algorithm, data) == hashlib.new(algorithm, LEAF_PREFIX + data).digest()


def _folder_of_first_bytes(root: Path) -> Path:
    """600 small files: each of the 256 first bytes before random bytes and before each known head, odd times
    of modification (ends of seconds, before 1970), names with spaces, non-ASCII and a device name."""
    folder = root / "in"
    rng = random.Random(16)
    for i in range(600):
        sub = folder / f"d{i % 3}"
        sub.mkdir(parents=True, exist_ok=True)
        first = bytes([i % 256]) if i < 256 or i % 2 else b""  # past 256: a known head, half of them alone
        body = first + (_TAILS[i % len(_TAILS)] if i >= 256 else b"") + rng.randbytes(i % 300)
        name = [f"f{i:04d}.bin", f"合同 {i}.dat", f"x{i}.eml", f"con.{i}", f"{i}.PNG"][i % 5]
        path = sub / name
        path.write_bytes(body)
        second = [1_796_184_857, -5, 0, 1_000_000_000][i % 4]
        os.utime(path, ns=(0, second * 10**9 + [0, 999_999_999, 999_999_500, 999_000_000, 1][i % 5]))
    return folder


def test_workers_record_every_kind_of_first_byte_as_one_process_does(cli, tmp_path: Path, monkeypatch) -> None:
    """The whole worker path against the one-process path on files that take each shortcut and each way
    round it; every record as stored is the plain RFC 8785 of its item."""
    folder = _folder_of_first_bytes(tmp_path)
    made: list[str] = []
    real = intake.Workers.prepared

    def spy(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        for p in real(self, *args, **kwargs):
            made.append(type(p).__name__)
            yield p

    monkeypatch.setattr(intake.Workers, "prepared", spy)
    packages = []
    for count in (2, 0):
        monkeypatch.setattr(workers_module, "worker_count", lambda count=count: count)
        out = tmp_path / f"p{count}.evp"
        assert cli("deposit", folder, "-o", out).code == 0
        packages.append(out)
    records = []
    for package in packages:
        with zipfile.ZipFile(package) as z:
            manifest = json.loads(z.read("manifest.json"))
            members = {i.filename: z.read(i) for i in z.infolist() if i.filename.startswith("evidence/")}
        for item in manifest["items"]:
            assert encode_leaf(ItemRecord.from_json(item)) == rfc8785.dumps(item)
        records.append(([{k: v for k, v in i.items() if k != "salt"} for i in manifest["items"]], members))
    assert made.count("Prepared") > 150 and made.count("Handed") > 10  # the workers recorded most of them
    assert records[0] == records[1]
    types = {i["media_type"] for i in records[0][0]}
    assert {"application/octet-stream", "application/pdf", "text/plain", "message/rfc822", "video/mp4"} <= types
    assert any(i["metadata"]["mtime"].startswith("1969-12-31T23:59:5") for i in records[0][0])
