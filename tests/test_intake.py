"""Deposits whose small files are prepared by worker processes: same package as one process, same errors."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import ASSETS

from evidencectl import intake
from evidencectl import workers as workers_module
from evidencectl.deposit import items as deposit_module
from evidencectl.preparedfiles import PreparedRun

COUNT = 600  # above intake.MIN_FILES


def _folder(root: Path) -> Path:
    """COUNT small files in order, with a mail (adds parts: later ids move), an mbox, an image, a file too
    large for the workers, a non-UTF-8 name and a name that is not portable, spread among them."""
    folder = root / "evidence"
    for i in range(COUNT):
        sub = folder / f"d{i // 200}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"note-{i:04d}.txt").write_bytes(f"note {i}\n".encode() * (i % 7 + 1))
    shutil.copy(ASSETS / "email" / "multipart_attachments.eml", folder / "d0" / "note-0100x.eml")
    shutil.copy(ASSETS / "email" / "mbox_three_messages.mbox", folder / "d1" / "note-0250x.mbox")
    shutil.copy(ASSETS / "images" / "pillow_exif_gps.jpg", folder / "d1" / "note-0300x.jpg")
    (folder / "d2" / "note-0450x.bin").write_bytes(os.urandom(300 * 1024))
    (folder / "d2" / "note-0460x-合同.txt").write_text("合同", encoding="utf-8")
    (folder / "d2" / "note-0470x-a:b.txt").write_text("colon", encoding="utf-8")
    os.close(os.open(os.path.join(os.fsencode(folder / "d2"), b"note-0480x-\xff.txt"), os.O_CREAT | os.O_WRONLY))
    return folder


def _members(package: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(package) as z:
        return {i.filename: z.read(i) for i in z.infolist() if i.filename.startswith("evidence/")}


def _items(package: Path) -> list[dict]:
    with zipfile.ZipFile(package) as z:
        items = json.loads(z.read("manifest.json"))["items"]
    return [{k: v for k, v in item.items() if k != "salt"} for item in items]


def test_workers_make_the_package_one_process_makes(cli, tmp_path: Path, monkeypatch) -> None:
    folder = _folder(tmp_path)
    monkeypatch.setattr(workers_module, "worker_count", lambda: 2)
    made: list[object] = []
    real = intake.Workers.prepared

    def spy(self, *args, **kwargs):
        for p in real(self, *args, **kwargs):
            made.extend(p.expand() if isinstance(p, PreparedRun) else [p])
            yield p

    monkeypatch.setattr(intake.Workers, "prepared", spy)
    taken: list[int] = []
    real_take = deposit_module.ItemSpool.add_prepared

    def take(self, f, p, assumed_id):
        taken.append(assumed_id - (self.count + 1))  # how far derived parts before it moved its id
        return real_take(self, f, p, assumed_id)

    monkeypatch.setattr(deposit_module.ItemSpool, "add_prepared", take)
    in_runs: list[int] = []
    real_run = deposit_module.ItemSpool.add_run

    def take_run(self, names, run):
        ok = real_run(self, names, run)
        in_runs.extend([len(names)] if ok else [])
        return ok

    monkeypatch.setattr(deposit_module.ItemSpool, "add_run", take_run)
    parallel = tmp_path / "parallel.evp"
    assert cli("deposit", folder, "-o", parallel).code == 0
    monkeypatch.setattr(workers_module, "worker_count", lambda: 0)
    serial = tmp_path / "serial.evp"
    before = len(made)
    assert cli("deposit", folder, "-o", serial).code == 0
    assert len(made) == before  # no worker took part
    del made[before:]

    assert _items(parallel) == _items(serial)
    assert _members(parallel) == _members(serial)
    items = _items(parallel)
    assert len(items) > COUNT + 7  # the mail's and the mailbox's parts are items too
    assert any(i["kind"] == "attachment" for i in items) and any(i["kind"] == "image" for i in items)
    assert any(i.get("name_raw") for i in items) and any("_nonportable" in (i["path"] or "") for i in items)
    res = cli("verify", parallel, "--json")
    assert res.code == 0, res.out
    assert json.loads(res.out)["verdict"] == "PASSED"
    # the workers recorded the ordinary files; the mail, the mailbox, the large file and the odd names came back
    kinds = [type(p).__name__ for p in made]
    assert kinds.count("Prepared") > COUNT - 10 and kinds.count("Handed") >= 2 and None in made
    # ...and this process took them all, renumbering those after the mail and the mailbox (one by one: a
    # run whose ids moved is taken file by file; tests/test_intake_runs.py has runs taken in bulk)
    assert len(taken) + sum(in_runs) == kinds.count("Prepared") and min(taken) < 0


def test_every_leaf_has_its_own_salt(cli, tmp_path: Path, monkeypatch) -> None:
    folder = _folder(tmp_path)
    monkeypatch.setattr(workers_module, "worker_count", lambda: 2)
    out = tmp_path / "p.evp"
    assert cli("deposit", folder, "-o", out).code == 0
    with zipfile.ZipFile(out) as z:
        manifest = json.loads(z.read("manifest.json"))
    salts = [i["salt"] for i in manifest["items"]] + [manifest["statement"]["salt"]]
    assert len(set(salts)) == len(salts)


def test_a_wrong_listed_digest_is_reported_first_in_list_order(cli, tmp_path: Path, monkeypatch) -> None:
    folder = _folder(tmp_path)
    files = sorted(p for p in folder.rglob("note-0*.txt") if p.name.isascii())
    lines = []
    for n, path in enumerate(files):
        digest = "0" * 64 if n in (300, 500) else hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{digest}  {path}")
    listing = tmp_path / "list.sha256"
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(workers_module, "worker_count", lambda: 2)
    out = tmp_path / "p.evp"
    res = cli("deposit", "--from-list", listing, "-o", out, "--json")
    assert res.code == 4
    assert str(files[300]) in res.err and str(files[500]) not in res.err
    assert "differs from the list" in json.loads(res.out)["error"]
    assert not out.exists() and not list(tmp_path.glob(".p.evp.*"))


def _many(folder: Path, count: int) -> Path:
    for i in range(count):
        sub = folder / f"d{i // 1000}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:05d}.bin").write_bytes(os.urandom(4096))
    return folder


def _workers_of(proc: subprocess.Popen) -> list[int]:
    """The worker processes of a running deposit, as soon as it has forked them."""
    children: list[int] = []
    deadline = time.monotonic() + 60
    while not children and proc.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            children = [int(c) for c in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        time.sleep(0.005)
    if not children:
        pytest.fail(f"the deposit started no workers (exit {proc.poll()})")
    return children


def _assert_gone(workers: list[int]) -> None:
    deadline = time.monotonic() + 10
    alive = workers
    while alive and time.monotonic() < deadline:
        alive = [c for c in alive if Path(f"/proc/{c}").exists() and "Z" not in _state(c)]
        time.sleep(0.05)
    assert alive == [], f"workers {alive} outlived the deposit"


def test_a_killed_deposit_leaves_no_worker_behind(tmp_path: Path) -> None:
    folder = _many(tmp_path / "many", 6000)
    proc = subprocess.Popen(
        [sys.executable, "-m", "evidencectl", "deposit", str(folder), "-o", str(tmp_path / "p.evp")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers = _workers_of(proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _assert_gone(workers)
    assert not (tmp_path / "p.evp").exists()


def test_ctrl_c_stops_the_workers_and_leaves_nothing(tmp_path: Path) -> None:
    folder = _many(tmp_path / "many", 12000)
    out = tmp_path / "p.evp"
    proc = subprocess.Popen(
        [sys.executable, "-m", "evidencectl", "deposit", str(folder), "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    workers = _workers_of(proc)
    time.sleep(0.1)  # into the walk or the hashing
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip() == "evidencectl: interrupted; nothing partial was left at the output path"
    assert not out.exists() and not list(tmp_path.glob(".p.evp.*"))
    _assert_gone(workers)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


@pytest.fixture(scope="module")
def big_package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A package of 2,100 small items (above the verifier's threshold for workers) and its data home."""
    import os as _os

    root = tmp_path_factory.mktemp("big")
    home = root / "home"
    folder = root / "items"
    for i in range(2100):
        sub = folder / f"d{i // 500}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:04d}.txt").write_bytes(b"item %d\n" % i)
    env = {**_os.environ, "EVIDENCECTL_HOME": str(home)}
    proc = subprocess.run(
        [sys.executable, "-m", "evidencectl", "deposit", str(folder), "-o", str(root / "big.evp")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return root / "big.evp", home


def _verify_both_ways(cli, monkeypatch, package: Path) -> tuple:
    monkeypatch.setattr(workers_module, "worker_count", lambda: 2)
    parallel = cli("verify", package, "--json")
    monkeypatch.setattr(workers_module, "worker_count", lambda: 0)
    serial = cli("verify", package, "--json")
    return parallel, serial


def test_large_package_verifies_the_same_with_and_without_workers(cli, monkeypatch, big_package) -> None:
    package, home = big_package
    monkeypatch.setenv("EVIDENCECTL_HOME", str(home))
    parallel, serial = _verify_both_ways(cli, monkeypatch, package)
    assert parallel.code == serial.code == 0
    a, b = json.loads(parallel.out), json.loads(serial.out)
    drop = ("verified_at",)
    assert {k: v for k, v in a.items() if k not in drop} == {k: v for k, v in b.items() if k not in drop}
    assert a["counts"]["PASSED"] > 2100


@pytest.mark.parametrize(
    "change",
    [
        lambda items: items[1500]["digests"].__setitem__("sm3", "XYZ"),
        lambda items: items.__setitem__(1999, ["not", "a", "record"]),
        lambda items: items[2050].pop("salt"),
    ],
)
def test_a_schema_problem_deep_in_a_large_manifest_reads_the_same(cli, monkeypatch, big_package, tmp_path, change):
    from conftest import rewrite_member

    package, home = big_package
    monkeypatch.setenv("EVIDENCECTL_HOME", str(home))

    def edit(data: bytes) -> bytes:
        manifest = json.loads(data)
        change(manifest["items"])
        return json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    forged = rewrite_member(package, tmp_path / "forged.evp", "manifest.json", edit)
    parallel, serial = _verify_both_ways(cli, monkeypatch, forged)
    assert parallel.code == serial.code == 4
    assert "does not follow its schema" in parallel.err
    assert parallel.err == serial.err and parallel.out == serial.out


@pytest.mark.parametrize("where", [0, 1700, 2099])
def test_an_altered_record_in_a_large_manifest_fails_the_tree_the_same_way(
    cli, monkeypatch, big_package, tmp_path, where
) -> None:
    from conftest import rewrite_member

    package, home = big_package
    monkeypatch.setenv("EVIDENCECTL_HOME", str(home))

    def edit(data: bytes) -> bytes:
        manifest = json.loads(data)
        manifest["items"][where]["name"] += "-renamed"  # still follows the schema; no longer what was sealed
        return json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    forged = rewrite_member(package, tmp_path / "forged.evp", "manifest.json", edit)
    parallel, serial = _verify_both_ways(cli, monkeypatch, forged)
    assert parallel.code == serial.code == 1
    a, b = json.loads(parallel.out), json.loads(serial.out)
    tree = [c for c in a["checks"] if c["check"] == "inclusion:tree"]
    assert tree and tree[0]["status"] == "FAILED"
    assert [c for c in a["checks"] if c["check"] != "verified_at"] == [c for c in b["checks"]]


@pytest.mark.parametrize("block", [1, 2, 4, 4096])
def test_roots_of_the_records_as_stored_are_the_sealed_roots(big_package, monkeypatch, block) -> None:
    from evidencectl.package import manifest as manifest_module
    from evidencectl.package.reader import PackageReader
    from evidencectl.verify.parallel import check_and_digest

    package, _ = big_package
    monkeypatch.setattr(manifest_module, "STORED_BLOCK", block)
    with PackageReader(package) as reader:
        raw = reader.read("manifest.json")
        manifest = reader.read_json("manifest.json")
        spans = manifest_module.record_spans(manifest, raw)
        assert spans is not None and len(spans[2]) == 2100
        sealed = {alg: bytes.fromhex(h) for alg, h in manifest["roots"].items()}
        assert manifest_module.stored_roots(spans) == sealed
        if block >= 4:  # the same, with the subtrees hashed by workers
            problem, known, roots = check_and_digest(reader, manifest["items"], 2, spans)
            assert problem is None and roots == sealed and len(known) == 2100


def test_a_verification_that_trusts_the_stored_records_does_not_re_encode_them(cli, monkeypatch, big_package) -> None:
    from evidencectl.verify import verifier

    package, home = big_package
    monkeypatch.setenv("EVIDENCECTL_HOME", str(home))
    re_encoded: list[int] = []
    monkeypatch.setattr(verifier, "leaf_hashes", lambda records: re_encoded.append(1) or {})
    for workers in (2, 0):
        monkeypatch.setattr(workers_module, "worker_count", lambda n=workers: n)
        assert cli("verify", package).code == 0
    assert re_encoded == []


@pytest.mark.parametrize("name", ["evidence/a.txt", "evidence/合同/附件.pdf", "evidence/é", "x" * 300])
@pytest.mark.parametrize("size", [0, 3, 5000])
def test_member_headers_are_the_ones_zipfile_writes(name: str, size: int) -> None:
    import zipfile

    from evidencectl.package.prepared import stored_member

    data = os.urandom(size)
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.create_system = 3
    info.file_size = info.compress_size = size
    info.CRC = zipfile.crc32(data)
    assert stored_member(name, data) == (info.FileHeader(False), info.CRC)
