"""The other party's attacks on the deposit's fast paths: runs of prepared files taken in bulk, chunks handed
out during the walk, the embedded TSA's cheaper checks of its own later tokens, the kept SQLite connections,
the closing threads, and commands built alone. Each test states what a broken fast path would show: another
package (or other warnings) than the one-process path gives for the same inputs, a token stored that the full
check refuses, a duplicate serial number, a command line read otherwise than by the whole tree."""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path

from evidencectl import workers as workers_module
from evidencectl.package import zipformat


def _items(package: Path) -> list[dict]:
    with zipfile.ZipFile(package) as z:
        return [{k: v for k, v in i.items() if k != "salt"} for i in json.loads(z.read("manifest.json"))["items"]]


def _head_bytes(package: Path) -> bytes:
    """The package's bytes before manifest.json: mimetype and every original, headers included (the same
    inputs must give the same bytes here, salts live in the manifest only)."""
    with zipfile.ZipFile(package) as z:
        end = z.getinfo("manifest.json").header_offset
    with open(package, "rb") as fp:
        return fp.read(end)


def _deposit_both(cli, monkeypatch, tmp_path: Path, *args: str | Path) -> tuple[dict, dict, Path, Path]:
    """Deposit ``args`` with two workers, then in one process; the two ``--json`` results and packages."""
    monkeypatch.setattr(workers_module, "worker_count", lambda: 2)
    parallel = tmp_path / "parallel.evp"
    res = cli("deposit", *args, "-o", parallel, "--json")
    assert res.code == 0, res.err
    first = json.loads(res.out)
    monkeypatch.setattr(workers_module, "worker_count", lambda: 0)
    serial = tmp_path / "serial.evp"
    res = cli("deposit", *args, "-o", serial, "--json")
    assert res.code == 0, res.err
    return first, json.loads(res.out), parallel, serial


def _warnings(result: dict) -> list[str]:
    return sorted(w for w in result["warnings"])


def _many(folder: Path, count: int = 600) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"f{i:04d}.txt").write_bytes(os.urandom(i % 37 + 1))
    return folder


ODD_NAMES = [
    "zero\u200bwidth.txt",  # invisible
    "rlo\u202etxt.exe",  # reorders the name as shown
    "CON.txt",  # a Windows device
    "aux",
    "trailing dot.",
    "trailing space ",
    "tab\there.txt",  # a C0 control
    "new\nline",  # a C0 control at the end of a component's line
    "ends-with-newline\n",
    "colon:name.txt",
    "caf\u00e9.txt",
    "cafe\u0301.txt",  # its NFD twin
    "Upper.TXT",
    "upper.txt",  # its case twin
    "x" * 250,  # a long component
    "line\u2028separator.txt",  # a line break to some readers, no newline byte
    "next\u0085line.txt",  # a C1 control
    "con\n",  # a device name, a final newline
]


def _odd_folder(root: Path) -> Path:
    folder = _many(root / "case")
    for n, name in enumerate(ODD_NAMES):
        sub = folder / f"g{n % 3}"
        sub.mkdir(exist_ok=True)
        (sub / name).write_bytes(f"odd {n}".encode())
        (folder / name).write_bytes(f"odd top {n}".encode())
    return folder


def test_odd_names_among_many_files_deposit_as_in_one_process(cli, tmp_path: Path, monkeypatch) -> None:
    """Invisible characters, Windows devices, trailing dots, controls, a trailing newline, twins: the same
    manifest, the same bytes of every original, the same warnings; and the package verifies."""
    folder = _odd_folder(tmp_path)
    first, second, parallel, serial = _deposit_both(cli, monkeypatch, tmp_path, folder)
    assert _items(parallel) == _items(serial)
    # A control character anywhere, a final newline too, keeps the name in the manifest only (format §1.1).
    paths = {i["name"]: i["path"] for i in _items(parallel)}
    assert paths["case/ends-with-newline\n"].startswith("evidence/_nonportable/"), paths["case/ends-with-newline\n"]
    assert not any(re.search(r"[\x00-\x1f\x7f]", p) for p in paths.values())
    import subprocess

    for tool in (["unzip", "-tq"], ["7z", "t", "-bd"]):  # every member's CRC, as the court's tools read it
        tested = subprocess.run([*tool, str(parallel)], capture_output=True, text=True, check=False)
        assert tested.returncode == 0, (tool, tested.stdout[-1000:])
    assert _head_bytes(parallel) == _head_bytes(serial)
    assert _warnings(first) == _warnings(second)
    verdicts = []
    for count in (2, 0):  # verify shares out the members to workers too
        monkeypatch.setattr(workers_module, "worker_count", lambda count=count: count)
        res = cli("verify", parallel, "--json")
        report = json.loads(res.out)
        verdicts.append((res.code, report["verdict"], sorted(c["status"] for c in report["checks"])))
    assert verdicts[0] == verdicts[1] and verdicts[0][:2] == (0, "PASSED"), verdicts


def test_odd_names_in_a_hash_only_deposit_warn_as_in_one_process(cli, tmp_path: Path, monkeypatch) -> None:
    """``--hash-only`` stores no member, so a worker prepares every name, invisible characters included:
    the warning that a name hides or reorders text must still be given, as one process gives it."""
    folder = _odd_folder(tmp_path)
    first, second, parallel, serial = _deposit_both(cli, monkeypatch, tmp_path, folder, "--hash-only")
    assert _items(parallel) == _items(serial)
    assert _warnings(first) == _warnings(second)
    assert any("hide or reorder" in w for w in first["warnings"])


def test_members_across_the_zip64_offset_are_written_as_in_one_process(cli, tmp_path: Path, monkeypatch) -> None:
    """The ZIP64 limit brought down to 600 KiB (cheap): runs that end past it, and members after it whose
    worker-made header is for an offset below it, give the bytes one process writes."""
    monkeypatch.setattr(zipformat, "ZIP64_FROM", 600 << 10)
    folder = tmp_path / "big"
    folder.mkdir()
    for i in range(700):
        (folder / f"f{i:04d}.bin").write_bytes(os.urandom(1500 + i))
    first, second, parallel, serial = _deposit_both(cli, monkeypatch, tmp_path, folder)
    assert _items(parallel) == _items(serial)
    assert _head_bytes(parallel) == _head_bytes(serial)


def test_mail_and_mboxes_among_many_files_from_two_inputs_deposit_as_in_one_process(
    cli, tmp_path: Path, monkeypatch
) -> None:
    """Two inputs where a file of the first is named like a folder of the second (``case`` and
    ``case/...``), mailboxes and a mail with warnings inside runs: every later id moved, the same package."""
    import shutil

    from conftest import ASSETS

    lone = tmp_path / "a" / "case"
    lone.parent.mkdir()
    lone.write_bytes(b"a file named like the folder of the next input")
    folder = _many(tmp_path / "b" / "case")
    for n, name in enumerate(["mbox_three_messages.mbox", "bad_mbox_broken_from_line.mbox", "bad_truncated_mime.eml"]):
        shutil.copy(ASSETS / "email" / name, folder / f"f{100 + 150 * n:04d}.{name}")
    first, second, parallel, serial = _deposit_both(cli, monkeypatch, tmp_path, lone, folder)
    assert _items(parallel) == _items(serial)
    assert _head_bytes(parallel) == _head_bytes(serial)
    assert _warnings(first) == _warnings(second)
    assert any(str(i.get("path")).startswith("evidence/_renamed/") for i in _items(parallel))
    res = cli("verify", parallel, "--json")
    assert res.code == 0 and json.loads(res.out)["verdict"] == "PASSED", res.out


def test_lists_with_and_without_digests_deposit_as_in_one_process(cli, tmp_path: Path, monkeypatch) -> None:
    """``--from-list`` of files in several folders (names are base names: twins across folders renamed by
    the listing, case twins by the members), once plain and once as ``sha256sum`` lines."""
    import hashlib

    paths = []
    for d in range(3):
        folder = _many(tmp_path / f"src{d}", 250)
        paths += sorted(folder.iterdir())
    (tmp_path / "src1" / "F0003.TXT").write_bytes(b"case twin of f0003.txt")
    paths.append(tmp_path / "src1" / "F0003.TXT")
    plain = tmp_path / "plain.list"
    plain.write_text("".join(f"{p}\n" for p in paths))
    summed = tmp_path / "summed.list"
    summed.write_text("".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p}\n" for p in paths))
    for n, listing in enumerate((plain, summed)):
        out = tmp_path / str(n)
        out.mkdir()
        first, second, parallel, serial = _deposit_both(cli, monkeypatch, out, "--from-list", listing)
        assert _items(parallel) == _items(serial)
        assert _head_bytes(parallel) == _head_bytes(serial)
        assert _warnings(first) == _warnings(second)


# -- the embedded TSA's own tokens and the kept SQLite connections ---------------------------------------


def _serial_of(response: bytes) -> int:
    from asn1crypto import tsp

    signed = tsp.TimeStampResp.load(response)["time_stamp_token"]["content"]
    return int(tsp.TSTInfo.load(bytes(signed["encap_content_info"]["content"].contents))["serial_number"].native)


def _stamp_many(home: str, count: int, hash_name: str, out) -> None:
    """``count`` tokens from a TSA opened (and warmed up) here; each checked in full afterwards."""
    import hashlib

    from evidencectl.context import Context
    from evidencectl.timestamp.authority import EmbeddedTSA
    from evidencectl.timestamp.request import check_response

    tsa = EmbeddedTSA.open(Context.of(home))
    tsa.warm_up()
    for n in range(count):
        digest = hashlib.new(hash_name, f"{home}{os.getpid()}{n}{os.urandom(4).hex()}".encode()).digest()
        response = tsa.timestamp(digest, hash_name)
        check_response(response, digest=digest, hash_name=hash_name, nonce=None, source="again")
        out.append(_serial_of(response))
    tsa.close()


def test_own_tokens_from_threads_and_processes_at_once_have_distinct_serials(tmp_path: Path) -> None:
    """Two threads with a TSA each, two with one TSA shared, and a forked process, all at once: every token
    passes the full check (sm3 imprints too, which the warm-up never asks for), and no serial number comes
    twice; the database holds exactly the serials issued."""
    import multiprocessing
    import sqlite3
    import threading

    from evidencectl.context import Context
    from evidencectl.timestamp.authority import EmbeddedTSA

    home = str(tmp_path / "home")
    shared = EmbeddedTSA.open(Context.of(home))
    shared.warm_up()
    serials: list[int] = []
    errors: list[BaseException] = []

    def guarded(target, *args) -> None:
        try:
            target(*args)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def with_shared(n: int) -> None:
        import hashlib

        for i in range(n):
            digest = hashlib.sha256(f"shared{threading.get_ident()}{i}".encode()).digest()
            serials.append(_serial_of(shared.timestamp(digest, "sha256")))

    queue = multiprocessing.get_context("fork").Queue()

    def child() -> None:
        got: list[int] = []
        with_shared(5)  # the shared TSA's connection was opened by the parent: the child opens its own
        _stamp_many(home, 15, "sm3", got)
        queue.put(got + serials[-5:])

    proc = multiprocessing.get_context("fork").Process(target=child)
    threads = [
        threading.Thread(target=guarded, args=(_stamp_many, home, 15, alg, serials)) for alg in ("sm3", "sha256")
    ] + [threading.Thread(target=guarded, args=(with_shared, 15)) for _ in range(2)]
    proc.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    from_child = queue.get(timeout=120)
    proc.join(60)
    assert proc.exitcode == 0 and not errors, errors
    issued = serials + from_child
    assert len(issued) == 4 * 15 + 20 and len(set(issued)) == len(issued)
    shared.close()
    with sqlite3.connect(tmp_path / "home" / "tsa" / "serials.sqlite") as db:
        stored = [int(r[0]) for r in db.execute("SELECT serial FROM serials")]
    assert sorted(stored) == sorted(issued)


def test_ledger_blocks_from_threads_and_a_forked_process_at_once_are_all_kept(tmp_path: Path) -> None:
    """Blocks appended at once by two ledger instances in threads, one instance shared by two threads and a
    forked process: every block is in the ledger, heights 0..n-1, each header naming the one before."""
    import multiprocessing
    import threading

    from evidencectl.anchor.ledger import EmbeddedLedger
    from evidencectl.context import Context

    ctx = Context.of(str(tmp_path / "home"))
    shared = EmbeddedLedger.open(ctx)
    roots = {"sm3": "00" * 32, "sha256": "11" * 32}
    receipts: list[dict] = []
    errors: list[BaseException] = []

    def append(ledger_of, n: int, tag: str) -> None:
        try:
            ledger = ledger_of()
            for i in range(n):
                receipts.append(ledger.anchor(f"{tag}-{i}", roots))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    shared.anchor("before-the-fork", roots)  # the shared connection is open when the process forks
    proc = multiprocessing.get_context("fork").Process(
        target=lambda: (append(lambda: shared, 8, "child"), os._exit(1 if errors else 0))
    )
    threads = [threading.Thread(target=append, args=(lambda: EmbeddedLedger.open(ctx), 8, f"own{k}")) for k in range(2)]
    threads += [threading.Thread(target=append, args=(lambda: shared, 8, f"shared{k}")) for k in range(2)]
    proc.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    proc.join(120)
    assert proc.exitcode == 0 and not errors, errors
    shared.close()
    ledger = EmbeddedLedger.open(ctx)
    blocks = ledger.blocks()
    assert [b["height"] for b in blocks] == list(range(1 + 8 + 4 * 8))
    assert sorted(e["deposit_id"] for b in blocks for e in b["entries"]) == sorted(
        ["before-the-fork"] + [f"{t}-{i}" for t in ("child", "own0", "own1", "shared0", "shared1") for i in range(8)]
    )
    audit = ledger.verify_chain()
    assert audit.ok and audit.blocks == len(blocks), audit


# -- the closers of the deposit's tail --------------------------------------------------------------------


def test_ctrl_c_while_the_closers_finish_a_published_deposit_does_not_deny_it(
    cli, tmp_path: Path, monkeypatch, evidencectl_home: Path
) -> None:
    """The package is published and recorded complete; a Ctrl-C (or SIGTERM) lands while the deposit waits
    for its closers (the registry's checkpoint, the workers' end). The closers are still waited for, and
    the command reports the deposit it made (exit 0, its id), not "interrupted" (exit 130) beside a
    complete package and a registry row that say otherwise."""
    import signal
    import time

    from evidencectl.context import Context
    from evidencectl.deposit import background
    from evidencectl.registry import Registry

    real_start, real_join = background.Closing.start, background.Closing.join
    closed: list[str] = []

    def slow_start(self, close, name):
        def slowly() -> None:
            time.sleep(0.3)
            close()
            closed.append(name)

        real_start(self, slowly, name)

    def join_interrupted(self):
        if self._running:
            signal.setitimer(signal.ITIMER_REAL, 0.05)
        real_join(self)

    monkeypatch.setattr(background.Closing, "start", slow_start)
    monkeypatch.setattr(background.Closing, "join", join_interrupted)
    previous = signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        out = tmp_path / "p.evp"
        res = cli("deposit", _many(tmp_path / "case", 20), "-o", out, "--json")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert "close-registry" in closed  # waited for, interrupt or not
    assert res.code == 0, res.err
    deposit_id = json.loads(res.out)["deposit_id"]
    registry = Registry.open(Context(evidencectl_home))
    try:
        assert registry.deposit(deposit_id)["status"] == "complete"
    finally:
        registry.close()
    res = cli("verify", out, "--json")
    assert res.code == 0 and json.loads(res.out)["verdict"] == "PASSED", res.out


def test_an_output_folder_that_cannot_be_written_is_refused_as_in_one_process(
    cli, tmp_path: Path, monkeypatch, evidencectl_home: Path
) -> None:
    """The workers are hashing (chunks handed out during the walk) when the staging file cannot be made:
    the same one line and exit code as in one process, no worker left, no registry row."""
    import multiprocessing

    from evidencectl.context import Context
    from evidencectl.registry import Registry

    folder = _many(tmp_path / "case", 700)
    seen = []
    for count in (2, 0):
        monkeypatch.setattr(workers_module, "worker_count", lambda count=count: count)
        res = cli("deposit", folder, "-o", "/proc/self/p.evp", "--json")
        err = re.sub(r"\.p\.evp\.[0-9a-f]{8}\.partial", ".p.evp.RANDOM.partial", res.err)  # a random name
        seen.append((res.code, err, json.loads(res.out)["code"]))
        assert multiprocessing.active_children() == []
    assert seen[0] == seen[1] and seen[0][0] == 4 and seen[0][1].count("\n") == 1, seen
    registry = Registry.open(Context(evidencectl_home))
    try:
        assert registry.deposits() == []
    finally:
        registry.close()


# -- one command built alone, groups imported on first use ------------------------------------------------


def test_a_group_name_as_a_path_word_reads_the_same_alone_and_in_the_whole_tree(monkeypatch, capsys) -> None:
    """A path named like a group (``keys``, ``trust``) last on the line makes the whole tree load the help
    renderer (help_likely); the command built alone does not. Errors, codes and ``--json`` documents must
    still be the same."""
    from evidencectl.cli import main as cli_main

    real = cli_main._app_for
    lines = [
        ["deposit", "a.txt", "--bogus", "keys", "--json"],
        ["deposit", "keys", "--tsa-quorum", "x", "trust"],
        ["verify", "no-such.evp", "--json", "tsa"],
        ["inspect", "--json", "nope.evp", "ledger"],
        ["deposit", "a.txt", "-o", "x.evp", "--version", "users"],
    ]
    for argv in lines:
        seen = []
        for picker in (real, lambda argv: cli_main.app):
            monkeypatch.setattr(cli_main, "_app_for", picker)
            capsys.readouterr()
            seen.append((cli_main.main(list(argv)), *capsys.readouterr()))
        assert seen[0] == seen[1], argv
        assert seen[0][0] in (2, 4) and "Traceback" not in seen[0][2], seen[0]
        if "--json" in argv:
            assert json.loads(seen[0][1])["exit_code"] == seen[0][0]


def test_groups_imported_on_first_use_read_as_groups_imported_at_start(tmp_path: Path) -> None:
    """Every group imported before the command line is read, against each imported when first used: the
    same output, exit code and errors, in English and in Chinese."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    lazy = "import sys; from evidencectl.cli import main as m; sys.exit(m.main(sys.argv[1:]))"
    eager = "import sys; from evidencectl.cli import main as m, groups; groups.group_names(m.app); " + lazy[11:]
    env = {k: v for k, v in os.environ.items() if k != "EVIDENCECTL_LANG"}
    env.update(PYTHONPATH=str(root), EVIDENCECTL_HOME=str(tmp_path / "home"), COLUMNS="100")
    for argv, lang in [
        (["tsa", "serv"], "en"),
        (["trust", "list", "--bogus", "--json"], "zh"),
        (["--lang", "en", "keys", "nosuch"], "zh"),
        (["timestamp", "info", "nope.tsr", "--json"], "zh"),
    ]:
        got = [
            subprocess.run(
                [sys.executable, "-c", code, *argv],
                env={**env, "EVIDENCECTL_LANG": lang},
                capture_output=True,
                text=True,
            )
            for code in (lazy, eager)
        ]
        assert (got[0].returncode, got[0].stdout, got[0].stderr) == (got[1].returncode, got[1].stdout, got[1].stderr)
        assert got[0].returncode in (2, 4) and "Traceback" not in got[0].stderr, got[0].stderr


def test_files_that_change_while_read_are_flagged_as_in_one_process(cli, tmp_path: Path, monkeypatch) -> None:
    """Files seen changing while they are read (here: the files of 777 and 1234 bytes, as if a writer were
    at work on them) are flagged in their records and warned of, with workers as in one process."""
    from evidencectl import intake
    from evidencectl.collect import files as files_module
    from evidencectl.deposit import reading

    real = files_module.changed_while_read

    def changing(before: os.stat_result, after: os.stat_result) -> str | None:
        if before.st_size in (777, 1234):
            return "changed while it was read (size 777 -> 778); the deposited bytes may mix two versions"
        return real(before, after)

    for module in (files_module, reading):
        monkeypatch.setattr(module, "changed_while_read", changing)
    real_small = intake.read_small

    def read_small(location: str):  # the workers' read, which words a change only when one is seen
        got = real_small(location)
        if got is not None and got.stat.st_size in (777, 1234):
            got = got._replace(changed=changing(got.stat, got.stat))
        return got

    monkeypatch.setattr(intake, "read_small", read_small)
    folder = _many(tmp_path / "case")
    for n in (3, 200, 201, 450):
        (folder / f"f{n:04d}.txt").write_bytes(os.urandom(777 if n % 2 else 1234))
    first, second, parallel, serial = _deposit_both(cli, monkeypatch, tmp_path, folder)
    items = _items(parallel)
    assert items == _items(serial) and _head_bytes(parallel) == _head_bytes(serial)
    assert _warnings(first) == _warnings(second)
    assert sum(1 for i in items if i["metadata"].get("changed_while_read")) == 4


def test_chunks_handed_out_before_linked_twins_were_dropped_are_not_used(cli, tmp_path: Path, monkeypatch) -> None:
    """``--follow-symlinks`` over a folder holding a link to one of its own subfolders: the walk lists the
    linked files twice and hands chunks out for them; the second listing is dropped afterwards, moving every
    later input. No chunk handed out for the listing as walked may be used for another file."""
    from evidencectl import intake

    folder = tmp_path / "case"
    for i in range(1100):
        sub = folder / f"d{i // 275}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:04d}.txt").write_bytes(os.urandom(i % 40 + 1))
    (folder / "d0" / "a-link").symlink_to(folder / "d1", target_is_directory=True)  # walked inside d0
    handed: list[int] = []
    real = intake.Workers.ahead

    def spy(self, files):
        before = self._next
        real(self, files)
        handed.append(self._next - before)

    monkeypatch.setattr(intake.Workers, "ahead", spy)
    first, second, parallel, serial = _deposit_both(cli, monkeypatch, tmp_path, folder, "--follow-symlinks")
    assert sum(handed) >= 4 * intake.CHUNK
    items = _items(parallel)
    assert items == _items(serial) and _head_bytes(parallel) == _head_bytes(serial)
    assert len(items) == 1100 and _warnings(first) == _warnings(second)


def test_an_output_taken_while_the_workers_deposit_leaves_the_others_file_and_a_true_row(
    cli, tmp_path: Path, monkeypatch, evidencectl_home: Path
) -> None:
    """Another process writes the output while the proofs are obtained: publishing is refused (exit 2,
    the one line), the other's file is left as it is, no staging file and no worker remain, and the
    registry says abandoned, not complete or pending."""
    import multiprocessing

    from evidencectl.context import Context
    from evidencectl.deposit import pipeline
    from evidencectl.registry import Registry

    out = tmp_path / "p.evp"
    real = pipeline.obtain_proofs

    def racing(*args, **kwargs):
        out.write_bytes(b"the other deposit's package")
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "obtain_proofs", racing)
    monkeypatch.setattr(workers_module, "worker_count", lambda: 2)
    res = cli("deposit", _many(tmp_path / "case"), "-o", out, "--json")
    assert res.code == 2 and json.loads(res.out)["code"] == "OUTPUT_EXISTS" and res.err.count("\n") == 1, res
    assert out.read_bytes() == b"the other deposit's package"
    assert not list(tmp_path.glob(".p.evp.*")) and multiprocessing.active_children() == []
    registry = Registry.open(Context(evidencectl_home))
    try:
        assert [d["status"] for d in registry.deposits()] == ["abandoned"]
    finally:
        registry.close()


def test_twin_folders_of_many_files_deposit_as_in_one_process(cli, tmp_path: Path, monkeypatch) -> None:
    """Folders that are one folder on macOS or Windows (NFC and NFD, two cases), each of more files than a
    chunk, some names in both: whole runs land in a folder another run made; the same package."""
    folder = tmp_path / "case"
    for twin in ("caf\u00e9", "cafe\u0301", "Docs", "docs"):
        sub = folder / twin
        sub.mkdir(parents=True)
        for i in range(160):
            (sub / f"{twin[:1]}{i:03d}.txt" if i % 3 else sub / f"same{i:03d}.txt").write_bytes(os.urandom(i + 1))
    first, second, parallel, serial = _deposit_both(cli, monkeypatch, tmp_path, folder)
    items = _items(parallel)
    assert items == _items(serial) and _head_bytes(parallel) == _head_bytes(serial)
    assert _warnings(first) == _warnings(second)
    assert sum(1 for i in items if str(i.get("path")).startswith("evidence/_renamed/")) >= 100
    res = cli("verify", parallel, "--json")
    assert res.code == 0 and json.loads(res.out)["verdict"] == "PASSED", res.out


def test_a_file_gone_after_the_walk_is_refused_as_in_one_process(
    cli, tmp_path: Path, monkeypatch, evidencectl_home: Path
) -> None:
    """A file deleted between the listing and its reading, deep in a chunk the workers prepare: the same one
    line naming it and exit code as in one process, the workers stopped, nothing at the output, no row."""
    import multiprocessing

    from evidencectl.context import Context
    from evidencectl.deposit import pipeline
    from evidencectl.registry import Registry

    folder = _many(tmp_path / "case", 700)
    real = pipeline.select_inputs
    seen = []

    def then_delete(files, *args, **kwargs):
        kept = real(files, *args, **kwargs)
        (folder / "f0333.txt").unlink(missing_ok=True)
        return kept

    monkeypatch.setattr(pipeline, "select_inputs", then_delete)
    for count in (2, 0):
        monkeypatch.setattr(workers_module, "worker_count", lambda count=count: count)
        out = tmp_path / f"p{count}.evp"
        res = cli("deposit", folder, "-o", out, "--json")
        seen.append((res.code, res.err, json.loads(res.out)["code"]))
        assert multiprocessing.active_children() == [] and not list(tmp_path.glob(f".p{count}.evp*"))
        assert not out.exists()
        (folder / "f0333.txt").write_bytes(b"back")
    assert seen[0] == seen[1] and seen[0][0] == 4 and "f0333.txt" in seen[0][1], seen
    registry = Registry.open(Context(evidencectl_home))
    try:
        assert registry.deposits() == []
    finally:
        registry.close()


def test_a_tsa_certificate_replaced_on_disk_after_the_warm_up_gives_tokens_the_full_check_accepts(
    cli, tmp_path: Path, monkeypatch, evidencectl_home: Path
) -> None:
    """The embedded TSA is warmed up while the workers hash (its first token checked in full); then its
    chain and key are replaced on disk (another chain issued) before the deposit's tokens are made by the
    instance warmed up. Every token stored must pass the full check, carry the certificate it was signed
    under, and the package verify PASSED."""
    from evidencectl.deposit import pipeline
    from evidencectl.timestamp.request import check_response

    folder = _many(tmp_path / "case")
    assert cli("deposit", folder, "-o", tmp_path / "first.evp").code == 0  # the TSA exists: it is warmed up
    tsa_folder = evidencectl_home / "tsa" / "ecdsa-p256"
    real = pipeline.preload_services

    def then_replace(ctx, tsas, warmed, anchors):
        real(ctx, tsas, warmed, anchors)
        assert warmed and any(k.startswith("tsa:") for k in warmed)
        for name in ("chain.pem", "tsa.key", "root.pem", "root.key"):
            (tsa_folder / name).unlink()
        from evidencectl.timestamp.authority import EmbeddedTSA

        EmbeddedTSA.open(ctx).close()  # a new chain and key on disk

    monkeypatch.setattr(pipeline, "preload_services", then_replace)
    monkeypatch.setattr(workers_module, "worker_count", lambda: 2)
    out = tmp_path / "p.evp"
    res = cli("deposit", folder, "-o", out, "--json")
    assert res.code == 0, res.err
    with zipfile.ZipFile(out) as z:
        tokens = {n: z.read(n) for n in z.namelist() if n.startswith("proofs/timestamps/")}
        roots = json.loads(res.out)["roots"]
    assert len(tokens) == 2
    for name, token in tokens.items():
        hash_name = "sm3" if ".sm3." in name else "sha256"
        check_response(token, digest=bytes.fromhex(roots[hash_name]), hash_name=hash_name, nonce=None, source=name)
    res = cli("verify", out, "--json")
    assert res.code == 0 and json.loads(res.out)["verdict"] == "PASSED", res.out


def test_strict_refuses_the_first_damaged_mail_among_many_as_in_one_process(
    cli, tmp_path: Path, monkeypatch, evidencectl_home: Path
) -> None:
    """``--strict`` with two damaged mails deep among many files (each in a chunk a worker prepares): the
    first in input order is refused, in the same one line and exit code as in one process; nothing left."""
    import multiprocessing
    import shutil

    from conftest import ASSETS

    folder = _many(tmp_path / "case", 700)
    shutil.copy(ASSETS / "email" / "bad_truncated_mime.eml", folder / "f0300-damaged.eml")
    shutil.copy(ASSETS / "email" / "bad_no_headers.eml", folder / "f0500-damaged.eml")
    seen = []
    for count in (2, 0):
        monkeypatch.setattr(workers_module, "worker_count", lambda count=count: count)
        out = tmp_path / f"p{count}.evp"
        res = cli("deposit", folder, "-o", out, "--strict", "--json")
        seen.append((res.code, res.err.replace(f"p{count}.evp", "P"), json.loads(res.out)["code"]))
        assert multiprocessing.active_children() == [] and not list(tmp_path.glob(f".p{count}.evp*"))
    assert seen[0] == seen[1] and seen[0][0] != 0 and "f0300-damaged.eml" in seen[0][1], seen


def test_chunks_that_overflow_their_shared_slot_deposit_as_in_one_process(cli, tmp_path: Path, monkeypatch) -> None:
    """Files of up to the small-file limit (256 KiB), exactly at it and one byte over: a chunk's members no
    longer fit its 2 MiB slot, so some travel through the pipe and the chunk is no run; the same package."""
    from evidencectl.hashing import SMALL

    folder = _many(tmp_path / "case", 520)
    for n in range(0, 520, 7):
        size = (SMALL, SMALL + 1, SMALL - 1, 200_000)[n % 4]
        (folder / f"f{n:04d}.txt").write_bytes(os.urandom(size))
    first, second, parallel, serial = _deposit_both(cli, monkeypatch, tmp_path, folder)
    assert _items(parallel) == _items(serial) and _head_bytes(parallel) == _head_bytes(serial)


def test_an_existing_output_is_refused_after_the_walk_as_in_one_process(cli, tmp_path: Path, monkeypatch) -> None:
    """The output exists (no ``--force``) and is found only after the walk, when chunks are already with
    the workers: the same refusal (exit 2, one line, ``--json`` code), the output untouched, no worker."""
    import multiprocessing

    folder = _many(tmp_path / "case", 900)
    out = tmp_path / "p.evp"
    out.write_bytes(b"an earlier package")
    seen = []
    for count in (2, 0):
        monkeypatch.setattr(workers_module, "worker_count", lambda count=count: count)
        res = cli("deposit", folder, "-o", out, "--json")
        seen.append((res.code, res.out, res.err))
        assert multiprocessing.active_children() == [] and not list(tmp_path.glob(".p.evp.*"))
    assert seen[0] == seen[1] and seen[0][0] == 2 and json.loads(seen[0][1])["code"] == "OUTPUT_EXISTS", seen
    assert out.read_bytes() == b"an earlier package"
