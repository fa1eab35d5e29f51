"""The per-file shortcuts of a deposit of many small files (issue 16) against the plain paths they replace,
and the hostile-input guards they must keep: a file swapped for a FIFO or a device after the listing, names
Windows cannot create, member names that escape the package."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evidencectl import intake
from evidencectl import workers as workers_module
from evidencectl.collect.files import read_whole
from evidencectl.deposit import items as items_module
from evidencectl.display import invisible_in_name
from evidencectl.hashing import SMALL, digest_bytes
from evidencectl.package.membernames import NameSpace, fold, unsafe_name
from evidencectl.package.writer import _PLAIN_NAME, PackageWriter, central_directory
from evidencectl.package.zipformat import central_record


@pytest.mark.parametrize("size", [0, 1, 4096, 65_537, SMALL, SMALL + 1])
def test_a_worker_reads_what_read_whole_reads(tmp_path: Path, size: int) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(size))
    plain, fast = read_whole(path, SMALL, SMALL), intake.read_small(str(path))
    if size > SMALL:
        assert plain is None and fast is None
        return
    assert plain is not None and fast is not None
    assert fast.data == plain.data and fast.changed is None and plain.changed is None
    for field in ("st_mode", "st_ino", "st_dev", "st_size", "st_mtime_ns", "st_ctime_ns"):
        assert getattr(fast.stat, field) == getattr(plain.stat, field)


def test_a_worker_flags_a_file_that_changed_while_read_as_read_whole_does(tmp_path: Path, monkeypatch) -> None:
    """The status after the read is compared with the one at the open, as in read_whole."""
    path = tmp_path / "f.txt"
    path.write_bytes(b"first version\n")
    real_read = os.read

    def read_then_touch(fd: int, n: int) -> bytes:
        data = real_read(fd, n)
        os.utime(path, ns=(1, 1))  # the file is written to while it is read
        return data

    monkeypatch.setattr(intake.os, "read", read_then_touch)
    got = intake.read_small(str(path))
    assert got is not None and got.changed is not None and "mtime_ns" in got.changed


@pytest.mark.parametrize("special", ["fifo", "device"])
def test_a_worker_refuses_a_fifo_or_a_device_without_waiting_on_it(tmp_path: Path, special: str) -> None:
    path = tmp_path / "exhibit"
    if special == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    started = time.monotonic()
    with pytest.raises(OSError, match="not a regular file"):
        intake.read_small(str(path))
    assert time.monotonic() - started < 5


# Fixed pseudo-random bytes, the same in every pytest-xdist worker (urandom here would make each worker
# collect different test ids).
_RANDOM = random.Random(16)


@pytest.mark.parametrize(
    "data",
    [b"", b"abc", _RANDOM.randbytes(4096), _RANDOM.randbytes(300_000)],
    ids=["empty", "abc", "4KiB", "300KB"],
)
def test_a_workers_digests_are_digest_bytes(data: bytes) -> None:
    assert intake.digests_of(data) == digest_bytes(data)
    assert intake.digests_of(data) == digest_bytes(data)  # the primed objects are copied, never used up


def _member_for_per_component(name: str, item_id: int) -> str:
    """The member naming as it was before folders were checked once each (every component, every file)."""
    portable = items_module._PORTABLE.match(name) and not invisible_in_name(name)
    if portable and all(items_module._component_ok(p) for p in name.split("/")):
        return f"evidence/{name}"
    return f"evidence/_nonportable/{item_id}"


HOSTILE_FOLDERS = ["con", "AUX.txt", "com1", "lpt9.log", "x.", "x ", ".", "..", "", "ok", "ok/con", "ok/x."]


@pytest.mark.parametrize("folder", HOSTILE_FOLDERS)
@pytest.mark.parametrize("leaf", ["a.txt", "nul", "b.txt.", "c ", "合同.pdf", "..", ""])
def test_a_folder_checked_once_names_members_as_every_component_checked(folder: str, leaf: str) -> None:
    """``con/a.txt`` (a Windows device as a folder) or ``x./a.txt`` must go to ``_nonportable`` whether the
    folder's verdict is computed or remembered from the file before it."""
    name = f"{folder}/{leaf}" if folder else leaf
    for _ in range(2):  # the second time the folder's verdict comes from the cache
        assert items_module._member_for(name, 7) == _member_for_per_component(name, 7), name
        assert items_module._member_for(f"top/{name}", 8) == _member_for_per_component(f"top/{name}", 8)


@given(st.text(alphabet=st.sampled_from("ab./\\:\x00C ."), max_size=12) | st.text(max_size=20))
def test_a_member_name_the_writer_passes_at_c_speed_is_one_unsafe_name_passes(name: str) -> None:
    if _PLAIN_NAME.fullmatch(name):
        assert unsafe_name(name) is None, name


@pytest.mark.parametrize("name", ["/etc/passwd", "evidence/../x", "evidence//x", "C:x", "a\\b", "a\x00", "x/", "./x"])
def test_the_writer_still_refuses_a_member_name_that_escapes(tmp_path: Path, name: str) -> None:
    writer = PackageWriter(tmp_path / "p.evp")
    try:
        with pytest.raises(ValueError, match=str(unsafe_name(name))):
            writer.add_bytes(name, b"x")
    finally:
        writer.abort()


_SWAP = """
import os, sys, importlib
from evidencectl import workers
workers.worker_count = lambda: 2  # the worker path, even on a machine of one CPU
pipeline = importlib.import_module("evidencectl.deposit.pipeline")
select = pipeline.select_inputs
index, special = int(sys.argv[1]), sys.argv[2]

def swap(files, *args, **kwargs):  # the inputs are listed: one is now replaced
    kept = select(files, *args, **kwargs)
    victim = kept[index].location
    os.unlink(victim)
    os.mkfifo(victim) if special == "fifo" else os.symlink("/dev/zero", victim)
    return kept

pipeline.select_inputs = swap
from evidencectl.cli.main import main
sys.argv = ["evidencectl", *sys.argv[3:]]
sys.exit(main())
"""


@pytest.mark.parametrize("special", ["fifo", "device"])
def test_a_folders_file_replaced_by_a_fifo_or_device_after_the_listing_is_refused_by_the_worker_path(
    tmp_path: Path, special: str
) -> None:
    """A folder of 700 files (the workers read them); file 650 becomes a FIFO nobody writes to, or a link to
    ``/dev/zero``, once the folder is listed. A worker that opened it blocking would wait for ever (and the
    deposit with it); one that read it would read ``/dev/zero``. Now: the worker hands the file back, the
    deposit process refuses it in input order, exit 4, one line naming it, nothing at the output."""
    folder = tmp_path / "case"
    folder.mkdir()
    for i in range(700):
        (folder / f"{i:04d}.txt").write_text(f"exhibit {i}\n")
    out = tmp_path / "p.evp"
    env = {**os.environ, "EVIDENCECTL_HOME": str(tmp_path / "home")}
    cmd = [sys.executable, "-c", _SWAP, "650", special, "deposit", str(folder), "-o", str(out), "--tsa", "local"]
    try:
        proc = subprocess.run(cmd, capture_output=True, env=env, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("the deposit is still waiting on the special file")
    text = proc.stderr.decode()
    assert proc.returncode == 4, text
    assert "not a regular file" in text and "0650.txt" in text and "Traceback" not in text
    assert not out.exists()


def test_the_tsa_warmed_up_is_the_one_that_timestamps(cli, tmp_path: Path, monkeypatch) -> None:
    """The embedded TSA is opened once in a deposit whose workers hash (the warm-up's instance signs the
    tokens), and the tokens verify."""
    from evidencectl.timestamp.authority import EmbeddedTSA

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(600):
        (folder / f"{i:03}.txt").write_text(f"exhibit {i}\n")
    monkeypatch.setattr(workers_module, "worker_count", lambda: 2)
    assert cli("deposit", folder, "-o", tmp_path / "first.evp").code == 0  # creates the TSA
    opened: list[object] = []
    real_open = EmbeddedTSA.open.__func__  # type: ignore[attr-defined]

    def spy(cls, *args, **kwargs):  # type: ignore[no-untyped-def]
        tsa = real_open(cls, *args, **kwargs)
        opened.append(tsa)
        return tsa

    monkeypatch.setattr(EmbeddedTSA, "open", classmethod(spy))
    out = tmp_path / "p.evp"
    assert cli("deposit", folder, "-o", out).code == 0
    assert len(opened) == 1
    with zipfile.ZipFile(out) as z:
        assert {"proofs/timestamps/local.sm3.tsr", "proofs/timestamps/local.sha256.tsr"} <= set(z.namelist())
    assert cli("verify", out).code == 0


class _PlainNameSpace:
    """The name space as it was before the known-folder shortcut: every folder of every name walked."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}
        self.folders: dict[str, str] = {}

    def clash(self, name: str, folders: bool = True) -> bool:
        key = fold(name)
        if key in self.files:
            return True
        if not folders:
            return False
        parts = key.split("/")
        return key in self.folders or any("/".join(parts[:n]) in self.files for n in range(1, len(parts)))

    def add(self, name: str) -> None:
        key = fold(name)
        self.files[key] = name
        parts = key.split("/")
        for n in range(1, len(parts)):
            self.folders.setdefault("/".join(parts[:n]), name)


# Case folding (A/a, ß/ss/SS), NFC and NFD, Windows device names, a file that is also a folder.
_HOSTILE_PARTS = ["A", "a", "ß", "ss", "SS", "caf\u00e9", "cafe\u0301", "CON", "con.txt", "mail.eml", "x"]
_hostile_names = st.lists(st.sampled_from(_HOSTILE_PARTS), min_size=1, max_size=4).map("/".join)


@given(st.lists(st.tuples(_hostile_names, st.sampled_from(["take", "claim", "unchecked"])), max_size=40))
def test_a_name_in_a_known_folder_clashes_as_with_every_folder_walked(steps: list[tuple[str, str]]) -> None:
    """take (one look-up), clash-then-add (the deposit's claim) and an add after only the file-on-file check
    (how verify reads a version-1 package) against the plain walk: the same verdict for every name."""
    fast, plain = NameSpace(), _PlainNameSpace()
    for name, how in steps:
        if how == "take":
            assert (fast.take(name) is not None) == plain.clash(name)
            if not plain.clash(name):
                plain.add(name)
            continue
        folders = how == "claim"
        verdict = fast.clash(name, folders=folders)
        assert (verdict is not None) == plain.clash(name, folders), (name, steps)
        assert (fast.clash(name) is not None) == plain.clash(name)
        if verdict is None:
            fast.add(name)
            plain.add(name)


def test_a_file_named_like_a_known_folder_is_still_refused_after_an_unchecked_add() -> None:
    """A version-1 package holds ``mail.eml`` and ``mail.eml/body-1.txt``: once a name was added without
    the folder check, a known folder can be a file, and the shortcut must not vouch for it any more."""
    space = NameSpace()
    assert space.take("evidence/mail.eml/body-1.txt") is None
    space.add("evidence/MAIL.eml")  # unchecked: a file that is also a known folder
    assert space.clash("evidence/mail.eml/body-2.txt") is not None
    assert space.take("evidence/Mail.EML/body-3.txt") is not None


def test_the_known_folder_shortcut_still_refuses_case_and_normalisation_twins() -> None:
    space = NameSpace()
    for name in ("evidence/A/x", "evidence/caf\u00e9/y", "evidence/stra\u00dfe/z"):
        assert space.take(name) is None
    for twin in ("evidence/a/x", "evidence/cafe\u0301/y", "evidence/STRASSE/z", "evidence/a", "evidence/A/x/q"):
        assert space.take(twin) is not None, twin
    assert space.take("evidence/a/other") is None  # a new file in a known folder, the case the shortcut is for


def test_the_registry_rows_spooled_by_length_come_back_as_taken_across_batches(tmp_path: Path) -> None:
    """The rows of 2,500 items (three batches, the last one short), names with non-ASCII, newlines and NUL
    as a non-UTF-8 name's stand-in may hold, read back as ``marshal.load`` of the batches would give them."""
    spool = items_module.ItemSpool(None, tmp_path, "EVD-20261202-0000ABCD")
    names = ["合同/a.pdf", "line\nbreak", "nul\x00x", "plain.txt", "ß/Straße"]
    rows = [
        ("EVD-20261202-0000ABCD", n + 1, f"{names[n % 5]}-{n}", "file", n * 7, f"{n:064x}", f"{n + 1:064x}")
        for n in range(2500)
    ]
    try:
        for row in rows:
            spool._take(b'{"id":%d}' % row[1], None, row)
        assert list(spool.registry_rows()) == rows
    finally:
        spool.close()


_LIMITS = [0, 1, 4096, (1 << 31) - 1, 1 << 31, (1 << 32) - 1, 1 << 32, 1 << 40]


@given(
    st.lists(
        st.tuples(
            st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40),
            st.sampled_from(_LIMITS) | st.integers(0, 1 << 41),
            st.sampled_from(_LIMITS) | st.integers(0, 1 << 41),
            st.integers(0, 0xFFFFFFFF),
        ),
        max_size=20,
    )
)
def test_the_central_directory_is_the_records_zipformat_makes(entries: list[tuple[str, int, int, int]]) -> None:
    """Names ASCII or not, sizes and offsets on both sides of the ZIP64 limits: byte for byte the records
    of ``zipformat.central_record`` (the plain path the writer's directory shortcut replaces)."""
    assert central_directory(entries) == b"".join(central_record(n, size, crc, off) for n, off, size, crc in entries)
