"""The package writer produces exactly the strict ZIP profile, including its ZIP64 corners.

ZIP64 is needed from 2 GiB on; to test those corners in seconds the threshold is lowered for the writer and
the reader alike (both read it from ``zipformat`` at run time), and unzip, 7z and Python's zipfile, which
accept ZIP64 fields for any value, check the result.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from evidencectl.package import zipformat
from evidencectl.package.reader import PackageReader
from evidencectl.package.writer import PackageWriter

THRESHOLD = 1 << 20


def _local_extras(package: Path) -> dict[str, bytes]:
    """Every member's local extra field, read from the bytes (not through any ZIP library)."""
    data = package.read_bytes()
    out = {}
    with zipfile.ZipFile(package) as z:
        for info in z.infolist():
            at = info.header_offset
            name_len, extra_len = struct.unpack_from("<HH", data, at + 26)
            out[info.filename] = data[at + 30 + name_len : at + 30 + name_len + extra_len]
    return out


def _tools_agree(package: Path, members: dict[str, bytes]) -> None:
    assert subprocess.run(["unzip", "-tq", str(package)], capture_output=True).returncode == 0
    assert subprocess.run(["7z", "t", str(package)], capture_output=True).returncode == 0
    with PackageReader(package) as reader, zipfile.ZipFile(package) as z:
        for name, data in members.items():
            assert reader.read(name, limit=1 << 30) == data == z.read(name)
            assert subprocess.run(["unzip", "-p", str(package), name], capture_output=True).stdout == data


def test_deposit_writes_no_extra_field_and_no_folder_entry(cli: Any, sample_dir: Path, tmp_path: Path) -> None:
    (sample_dir / "large.bin").write_bytes(os.urandom(3 << 20))  # streamed, not written in one go
    out = tmp_path / "p.evp"
    assert cli("deposit", sample_dir, "-o", out).code == 0
    with zipfile.ZipFile(out) as z:
        infos = z.infolist()
    assert infos and all(i.extra == b"" and i.comment == b"" and not i.is_dir() for i in infos)
    assert all(i.compress_type == zipfile.ZIP_STORED and i.flag_bits & ~0x800 == 0 for i in infos)
    assert set(_local_extras(out).values()) == {b""}
    assert out.read_bytes()[-22:-2].startswith(b"PK\x05\x06") and out.read_bytes()[-2:] == b"\x00\x00"


def test_streamed_member_that_outgrows_its_header_is_moved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A member from stdin has no known size: its header is written for a small member, and when it turns
    out to need ZIP64 the data moves to make room for the ZIP64 field."""
    monkeypatch.setattr(zipformat, "ZIP64_FROM", THRESHOLD)
    data = os.urandom(3 * THRESHOLD + 5)
    out = tmp_path / "p.evp"
    writer = PackageWriter(out)
    source = tmp_path / "stdin.bin"
    source.write_bytes(data)
    with subprocess.Popen(["cat", str(source)], stdout=subprocess.PIPE) as cat:  # a pipe, as stdin would be
        assert cat.stdout is not None
        writer.add_original("evidence/stdin.bin", cat.stdout)  # type: ignore[arg-type]
    writer.add_bytes("manifest.json", b"{}")
    writer.commit(force=False)
    assert _local_extras(out)["evidence/stdin.bin"] == struct.pack("<HHQQ", 1, 16, len(data), len(data))
    _tools_agree(out, {"evidence/stdin.bin": data, "manifest.json": b"{}"})


class _Shrinking(io.RawIOBase):
    """A source whose file says it is large while it yields few bytes (a file truncated while read)."""

    def __init__(self, fileno: int, data: bytes) -> None:
        super().__init__()
        self._fileno, self._data = fileno, io.BytesIO(data)

    def fileno(self) -> int:
        return self._fileno

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        return self._data.readinto(buf)


def test_streamed_member_smaller_than_announced_loses_its_zip64_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zipformat, "ZIP64_FROM", THRESHOLD)
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(2 * THRESHOLD))
    out = tmp_path / "p.evp"
    writer = PackageWriter(out)
    with big.open("rb") as f:
        writer.add_original("evidence/shrunk.bin", _Shrinking(f.fileno(), b"only this\n"))  # type: ignore[arg-type]
    writer.add_bytes("manifest.json", b"{}")
    writer.commit(force=False)
    assert _local_extras(out)["evidence/shrunk.bin"] == b""
    _tools_agree(out, {"evidence/shrunk.bin": b"only this\n", "manifest.json": b"{}"})


def test_offsets_and_counts_past_the_limits_use_zip64_end_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Members beyond the ZIP64 offset and more than 65,535 members: ZIP64 fields in the central records of
    far members only, and the ZIP64 end records; the strict reader, unzip, 7z and zipfile all agree."""
    monkeypatch.setattr(zipformat, "ZIP64_FROM", THRESHOLD)
    out = tmp_path / "p.evp"
    writer = PackageWriter(out)
    members = {"evidence/first.bin": os.urandom(THRESHOLD + 10)}
    members.update({f"evidence/many/{i:05d}.txt": b"%d\n" % i for i in range(70_000)})
    members["manifest.json"] = b"{}"
    for name, data in members.items():
        writer.add_bytes(name, data)
    writer.commit(force=False)
    raw = out.read_bytes()
    assert raw[-22 - 20 : -22].startswith(b"PK\x06\x07") and raw[-22 - 20 - 56 :].startswith(b"PK\x06\x06")
    with zipfile.ZipFile(out) as z:
        far = z.getinfo("evidence/many/00000.txt")
        assert far.header_offset > THRESHOLD and far.extra == struct.pack("<HHQ", 1, 8, far.header_offset)
        assert z.getinfo("mimetype").extra == b""
    sample = {k: members[k] for k in ("evidence/first.bin", "evidence/many/69999.txt", "manifest.json")}
    _tools_agree(out, sample)
    with PackageReader(out) as reader:
        assert len(reader.names()) == len(members) + 1  # and mimetype


@pytest.mark.parametrize("past_zip64", [False, True], ids=["below-2GiB", "offsets-past-the-zip64-limit"])
def test_members_prepared_in_workers_give_the_bytes_the_plain_writer_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, past_zip64: bool
) -> None:
    """The fast path (header and CRC made by a worker, one write) against the plain one (``add_bytes``);
    past the ZIP64 offset limit the worker's header (made for an offset below it) must be made again."""
    from evidencectl.package.prepared import stored_member

    if past_zip64:
        monkeypatch.setattr(zipformat, "ZIP64_FROM", THRESHOLD)
    members = {f"evidence/合同-{i}.txt" if i % 3 == 0 else f"evidence/{i}.bin": os.urandom(i * 4099) for i in range(40)}
    members["manifest.json"] = b"{}"
    plain, fast = PackageWriter(tmp_path / "plain.evp"), PackageWriter(tmp_path / "fast.evp")
    for name, data in members.items():
        plain.add_bytes(name, data)
        header, crc = stored_member(name, data)
        fast.add_prepared(name, header + data, len(header), crc)
    plain.commit(force=False)
    fast.commit(force=False)
    assert (tmp_path / "fast.evp").read_bytes() == (tmp_path / "plain.evp").read_bytes()
    with PackageReader(tmp_path / "fast.evp") as reader:
        assert {n: reader.read(n) for n in members} == members
        assert (reader.members[-1].offset >= zipformat.ZIP64_FROM) is past_zip64
