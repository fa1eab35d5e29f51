"""Runs of prepared files (evidencectl/preparedfiles.py) taken in bulk against the same files taken one by one:
the same package, names and trees, and the per-file path whenever one file of a run would be taken otherwise
(case and normalisation twins, a file that is also a folder, an id moved by a mail's parts, a digest the
input list gives)."""

from __future__ import annotations

import json
import mmap
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import ASSETS
from hypothesis import example, given
from hypothesis import strategies as st

from evidencectl import intake
from evidencectl import workers as workers_module
from evidencectl.deposit import items as items_module
from evidencectl.merkle import RootAfterFirst, leaf_hash
from evidencectl.package.membernames import NameSpace
from evidencectl.package.prepared import stored_member
from evidencectl.package.writer import PackageWriter
from evidencectl.preparedfiles import Prepared, PreparedRun, run_of


def _items(package: Path) -> list[dict]:
    with zipfile.ZipFile(package) as z:
        return [{k: v for k, v in i.items() if k != "salt"} for i in json.loads(z.read("manifest.json"))["items"]]


def _members(package: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(package) as z:
        return [(i.filename, z.read(i)) for i in z.infolist() if i.filename.startswith("evidence/")]


def _spy_runs(monkeypatch) -> list[int]:
    """The sizes of the runs taken in bulk from now on."""
    taken: list[int] = []
    real = items_module.ItemSpool.add_run

    def spy(self, names, run):
        ok = real(self, names, run)
        if ok:
            taken.append(len(names))
        return ok

    monkeypatch.setattr(items_module.ItemSpool, "add_run", spy)
    return taken


def _both(cli, folder: Path, tmp_path: Path, monkeypatch, *args: str) -> tuple[Path, Path]:
    monkeypatch.setattr(workers_module, "worker_count", lambda: 2)
    parallel = tmp_path / "parallel.evp"
    assert cli("deposit", folder, "-o", parallel, *args).code == 0
    monkeypatch.setattr(workers_module, "worker_count", lambda: 0)
    serial = tmp_path / "serial.evp"
    assert cli("deposit", folder, "-o", serial, *args).code == 0
    return parallel, serial


def test_runs_taken_in_bulk_make_the_package_files_taken_one_by_one_make(cli, tmp_path: Path, monkeypatch) -> None:
    """Three folders of plain files (runs in bulk, a new folder inside a run), then case and normalisation
    twins and a file named like a folder inside later runs (those runs one by one: the second twin is
    renamed exactly as without workers), then a mail whose parts move every later id."""
    folder = tmp_path / "evidence"
    for i in range(900):
        sub = folder / f"d{i // 300}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:04d}.txt").write_bytes(os.urandom(i % 50 + 1))
    twins = folder / "d3"
    twins.mkdir()
    for i in range(40):
        (twins / f"g{i:03d}.bin").write_bytes(os.urandom(9))
    (twins / "g010.BIN").write_bytes(b"case twin")
    (twins / "caf\u00e9.txt").write_bytes(b"nfc")
    (twins / "cafe\u0301.txt").write_bytes(b"nfd")
    (twins / "G020.bin.d").mkdir()
    (twins / "G020.bin.d" / "inner.txt").write_bytes(b"in a folder")
    (twins / "g020.bin.D").write_bytes(b"a file named like that folder")
    shutil.copy(ASSETS / "email" / "multipart_attachments.eml", folder / "d4-mail.eml")
    late = folder / "d5"
    late.mkdir()
    for i in range(300):
        (late / f"h{i:04d}.txt").write_bytes(os.urandom(i % 30 + 1))
    runs = _spy_runs(monkeypatch)
    parallel, serial = _both(cli, folder, tmp_path, monkeypatch)
    assert sum(runs) >= 600 and all(n == intake.CHUNK for n in runs)  # most of the first 900 went in bulk
    assert _items(parallel) == _items(serial)
    assert _members(parallel) == _members(serial)  # the same order of members, and the twins renamed alike
    warned = [i for i in _items(parallel) if i.get("metadata", {}).get("warnings")]
    assert len(warned) >= 3, warned
    res = cli("verify", parallel, "--json")
    assert res.code == 0 and json.loads(res.out)["verdict"] == "PASSED", res.out


def test_a_hash_only_deposit_in_runs_records_what_one_by_one_records(cli, tmp_path: Path, monkeypatch) -> None:
    """Two folders of one name (``p/evidence`` and ``q/evidence``, the second one's files named ``f0000
    (2).txt`` by the listing): runs in bulk throughout, the records those of one process."""
    folders = [tmp_path / "p" / "evidence", tmp_path / "q" / "evidence"]
    for folder in folders:
        folder.mkdir(parents=True)
        for i in range(600):
            (folder / f"f{i:04d}.txt").write_bytes(os.urandom(i % 20 + 1))
    runs = _spy_runs(monkeypatch)
    monkeypatch.setattr(workers_module, "worker_count", lambda: 2)
    assert cli("deposit", *folders, "-o", tmp_path / "parallel.evp", "--hash-only").code == 0
    monkeypatch.setattr(workers_module, "worker_count", lambda: 0)
    assert cli("deposit", *folders, "-o", tmp_path / "serial.evp", "--hash-only").code == 0
    assert sum(runs) >= 1024
    items = _items(tmp_path / "parallel.evp")
    assert items == _items(tmp_path / "serial.evp") and not _members(tmp_path / "parallel.evp")
    assert len({i["name"] for i in items}) == len(items) == 1200


def _run(start: int, names: list[str], members: bool) -> PreparedRun:
    made = []
    for i, name in enumerate(names):
        record = b'{"id":%d}' % (start + i + 1)
        made.append(
            Prepared(
                b"", -1, 0, 0, 1, "a" * 64, "b" * 64, record, leaf_hash("sm3", record), leaf_hash("sha256", record),
                "file", "evidence/" + name if members else None, 1,
            )
        )  # fmt: skip
    run = run_of(start, made)
    assert run is not None
    return run


def test_a_run_whose_name_or_id_is_taken_is_left_to_the_per_file_path(tmp_path: Path) -> None:
    """Nothing is taken from a run with an item name already taken (a mail's part named like an input),
    twice the same name, or a first id that derived parts moved; the same run at its place is taken."""
    spool = items_module.ItemSpool(None, tmp_path, "EVD-20261202-0000ABCD")
    try:
        spool.taken.add("x.eml/body-1.txt")
        for names, start in ((["a", "x.eml/body-1.txt"], 0), (["a", "a"], 0), (["a", "b"], 5)):
            assert not spool.add_run(names, _run(start, names, members=False))
            assert spool.count == 0 and spool.taken == {"x.eml/body-1.txt"} and not spool.batch
        assert spool.add_run(["a", "b"], _run(0, ["a", "b"], members=False))
        assert spool.count == 2 and [r[1:3] for r in spool.batch] == [(1, "a"), (2, "b")]
    finally:
        spool.close()


def test_a_listed_digest_sends_every_run_through_the_per_file_check(cli, tmp_path: Path, monkeypatch) -> None:
    """With sha256sum lines, each file is compared with its line in input order: no run in bulk, and a
    wrong line deep in the list is still the error reported."""
    folder = tmp_path / "evidence"
    folder.mkdir()
    lines = []
    for i in range(600):
        path = folder / f"f{i:04d}.txt"
        path.write_bytes(b"x%d" % i)
        digest = "0" * 64 if i == 450 else __import__("hashlib").sha256(b"x%d" % i).hexdigest()
        lines.append(f"{digest}  {path}")
    listing = tmp_path / "list.sha256"
    listing.write_text("\n".join(lines) + "\n")
    runs = _spy_runs(monkeypatch)
    monkeypatch.setattr(workers_module, "worker_count", lambda: 2)
    res = cli("deposit", "--from-list", listing, "-o", tmp_path / "x.evp")
    assert res.code == 4 and "f0450.txt" in res.err and not runs


# -- the pieces, against the plain calls they stand for ---------------------------------------------------------

_PARTS = ["A", "a", "\u00df", "ss", "caf\u00e9", "cafe\u0301", "x", "x.d", "y"]
_names = st.lists(st.sampled_from(_PARTS), min_size=1, max_size=4).map(lambda p: "evidence/" + "/".join(p))


@given(st.lists(_names, max_size=12), st.lists(_names, min_size=1, max_size=12))
@example(["evidence/x/y"], ["evidence/x"])  # a file named like a known folder
@example(["evidence/x"], ["evidence/X/y"])  # a folder named like a known file
@example([], ["evidence/x/y", "evidence/X"])  # ... and both among the run
@example([], ["evidence/x", "evidence/X/y"])
@example(["evidence/caf\u00e9"], ["evidence/cafe\u0301"])  # normalisation twins
def test_take_all_takes_exactly_when_each_take_in_turn_would(before: list[str], run: list[str]) -> None:
    fast, plain = NameSpace(), NameSpace()
    for name in before:
        assert (fast.take(name) is None) == (plain.take(name) is None)
    one_by_one = NameSpace()
    one_by_one.__dict__.update({k: dict(v) if isinstance(v, dict) else v for k, v in plain.__dict__.items()})
    each = [one_by_one.take(name) is None for name in run]
    state = (dict(fast._files), dict(fast._folders))
    if fast.take_all(run):
        assert all(each), run
        assert (fast._files, fast._folders) == (one_by_one._files, one_by_one._folders)
    else:
        assert (fast._files, fast._folders) == state  # nothing taken
        for name in run:  # and the one-by-one path it leaves to gives what it always gave
            assert (fast.take(name) is None) == (plain.take(name) is None)


@given(st.lists(st.integers(1, 40), min_size=1, max_size=8))
def test_leaves_added_as_runs_give_the_trees_added_leaf_by_leaf(runs: list[int]) -> None:
    for alg in ("sm3", "sha256"):
        bulk, single = RootAfterFirst(alg), RootAfterFirst(alg)
        n = 0
        for size in runs:
            leaves = [leaf_hash(alg, b"%d" % (n + k)) for k in range(size)]
            n += size
            bulk.add_all(leaves)
            for leaf in leaves:
                single.add(leaf)
        first = leaf_hash(alg, b"statement")
        assert bulk.count == single.count == n
        assert bulk._blocks == single._blocks and bulk.root(first) == single.root(first)


@pytest.mark.parametrize(
    "names",
    [
        ["evidence/a.txt", "evidence/b/c.txt", "evidence/合同.pdf"],
        ["evidence/a.txt", "evidence/.hidden", "evidence/b.txt"],  # not at C speed: one by one, same bytes
    ],
)
def test_a_run_of_members_writes_the_bytes_members_added_one_by_one_write(tmp_path: Path, names) -> None:
    datas = [os.urandom(n * 100 + 1) for n in range(len(names))]
    blob, offsets, header_lens, crcs = b"", [], [], []
    for name, data in zip(names, datas, strict=True):
        header, crc = stored_member(name, data)
        offsets.append(len(blob))
        header_lens.append(len(header))
        crcs.append(crc)
        blob += header + data
    outs = []
    for how in ("run", "each"):
        w = PackageWriter(tmp_path / f"{how}.evp")
        if how == "run":
            w.add_run(
                tuple(names), memoryview(blob), tuple(offsets), tuple(header_lens), tuple(map(len, datas)), tuple(crcs)
            )
        else:
            for i, name in enumerate(names):
                w.add_prepared(
                    name, blob[offsets[i] : offsets[i] + header_lens[i] + len(datas[i])], header_lens[i], crcs[i]
                )
        w.add_bytes("manifest.json", b"{}")
        w.close()
        outs.append(w.staging.read_bytes())
    assert outs[0] == outs[1]


def test_a_run_expands_into_the_prepared_files_it_was_made_of() -> None:
    shared = mmap.mmap(-1, 1 << 16)
    made, at = [], 100
    for i in range(5):
        data = os.urandom(i + 3)
        header, crc = stored_member(f"evidence/f{i}", data)
        shared[at : at + len(header) + len(data)] = header + data
        record = b'{"id":%d}' % (i + 1)
        made.append(
            Prepared(
                b"", at, len(header), crc, len(data), "a" * 64, "b" * 64, record,
                leaf_hash("sm3", record), leaf_hash("sha256", record), "file", f"evidence/f{i}", 7,
            )
        )  # fmt: skip
        at += len(header) + len(data)
    run = run_of(40, made)
    assert isinstance(run, PreparedRun) and run.start == 40 and run.length == at - 100
    assert run.records == b"".join(p.record + b"\n" for p in made)
    assert run.expand() == made
    # one member in the pipe, or one file handed back, and the chunk is no run
    assert run_of(40, [*made[:2], made[2]._replace(blob=b"x", at=-1), *made[3:]]) is None
    assert run_of(40, [*made[:4], None]) is None


def _spy_ahead(monkeypatch) -> list[int]:
    """How many chunks were handed out while the inputs were still walked."""
    early: list[int] = []
    real = intake.Workers.ahead

    def spy(self, files):
        before = self._next
        real(self, files)
        if self._next > before:
            early.append(self._next - before)

    monkeypatch.setattr(intake.Workers, "ahead", spy)
    return early


def test_chunks_handed_out_during_the_walk_are_the_files_deposited(cli, tmp_path: Path, monkeypatch) -> None:
    """A folder of folders: the first ones' files go to the workers while the next are listed, and the
    package is the one of one process."""
    folder = tmp_path / "evidence"
    for i in range(1500):
        sub = folder / f"d{i // 250}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:04d}.txt").write_bytes(os.urandom(i % 40 + 1))
    early = _spy_ahead(monkeypatch)
    parallel, serial = _both(cli, folder, tmp_path, monkeypatch)
    assert sum(early) >= 2 * intake.CHUNK
    assert _items(parallel) == _items(serial) and _members(parallel) == _members(serial)


def test_chunks_handed_out_before_the_output_was_passed_over_are_redone(cli, tmp_path: Path, monkeypatch) -> None:
    """``deposit case -o case/a.evp --force``: the package being replaced is found first in the walk and
    passed over afterwards, so every chunk handed out during the walk is one input off; and a name the
    listing changes after the walk (a file named like a non-UTF-8 one, as it reads) changes its chunk. Each
    such chunk is redone by the deposit process, and the package is the one of one process."""
    folder = tmp_path / "case"
    for i in range(900):
        sub = folder / f"d{i // 300}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:04d}.txt").write_bytes(os.urandom(i % 40 + 1))
    os.close(os.open(os.path.join(os.fsencode(folder / "d0"), b"f0001x-\xff.txt"), os.O_CREAT | os.O_WRONLY))
    (folder / "d0" / "f0001x-\ufffd.txt").write_bytes(b"named as the other reads")
    (folder / "a.evp").write_bytes(b"the package being replaced")
    early = _spy_ahead(monkeypatch)
    out = folder / "a.evp"
    monkeypatch.setattr(workers_module, "worker_count", lambda: 2)
    assert cli("deposit", folder, "-o", out, "--force").code == 0
    parallel = shutil.copy(out, tmp_path / "parallel.evp")
    monkeypatch.setattr(workers_module, "worker_count", lambda: 0)
    assert cli("deposit", folder, "-o", out, "--force").code == 0
    serial = shutil.copy(out, tmp_path / "serial.evp")
    assert sum(early) >= intake.CHUNK
    items = _items(parallel)
    assert items == _items(serial) and _members(parallel) == _members(serial)
    assert not any(i["name"].endswith("a.evp") for i in items) and len(items) == 902
    assert sum(1 for i in items if i["name"].startswith("case/d0/f0001x-")) == 2
