"""Inputs that never end, loop, run too deep, change under the reader, or are killed: every deposit ends,
leaves nothing half-written, and says what happened to which input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from evidencectl.collect.files import collect_inputs
from tests.conftest import CliResult

PATH_MAX = os.pathconf("/", "PC_PATH_MAX")


def _run(*args: str | Path, stdin: object = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evidencectl", *map(str, args)],
        stdin=stdin,  # type: ignore[arg-type]
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_stdin_from_dev_zero_ends_at_max_size_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "zero.evp"
    with open("/dev/zero", "rb") as zero:
        got = _run("deposit", "-", "-o", out, "--max-size", "8M", stdin=zero)
    assert got.returncode == 4, got.stderr
    assert got.stderr.strip().splitlines() == [
        "evidencectl: error: standard input: more than 8388608 bytes (--max-size); nothing was deposited"
    ]
    assert list(out.parent.iterdir()) == []  # no package, no staging file, no spool


def test_stdin_of_exactly_max_size_is_deposited(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    data = os.urandom(3 << 20)
    got = _run("deposit", "-", "-o", tmp_path / "exact.evp", "--max-size", "3M", "--json", stdin=_file(tmp_path, data))
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["items"] == 1


def _file(tmp: Path, data: bytes) -> object:
    path = tmp / "stdin.bin"
    path.write_bytes(data)
    return path.open("rb")


def test_symlink_loop_is_walked_once_with_a_warning(tmp_path: Path) -> None:
    root = tmp_path / "case"
    (root / "loop").mkdir(parents=True)
    (root / "loop" / "a.txt").write_text("a")
    os.symlink(".", root / "loop" / "self")
    os.symlink("..", root / "loop" / "up")
    got = collect_inputs([str(root)], follow_symlinks=True)
    assert [f.name for f in got.files] == ["case/loop/a.txt"]
    assert sum("symbolic link loop" in w for w in got.warnings) == 2, got.warnings


def test_follow_symlinks_loop_deposit_ends(tmp_path: Path) -> None:
    root = tmp_path / "loop"
    root.mkdir()
    (root / "a.txt").write_text("a")
    os.symlink(".", root / "self")
    got = _run("deposit", root, "--follow-symlinks", "-o", tmp_path / "loop.evp", "--json", timeout=60)
    assert got.returncode == 0, got.stderr
    result = json.loads(got.stdout)
    assert result["items"] == 1
    assert any("self: symbolic link loop" in w for w in result["warnings"])


def _deep_tree(base: Path) -> Path:
    """A file whose path is longer than PATH_MAX (made with relative opens, as no full path can be used)."""
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    depth = 0
    try:
        while depth * 201 < PATH_MAX + 200:
            os.mkdir("d" * 200, dir_fd=fd)
            inner = os.open("d" * 200, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd, depth = inner, depth + 1
        file = os.open("deep.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(file, b"deep")
        os.close(file)
    finally:
        os.close(fd)
    return base


def test_path_longer_than_the_system_allows_is_one_items_warning(tmp_path: Path) -> None:
    root = tmp_path / "case"
    root.mkdir()
    (root / "short.txt").write_text("short")
    _deep_tree(root)
    got = _run("deposit", root, "-o", tmp_path / "deep.evp", "--json")
    assert got.returncode == 0, got.stderr
    result = json.loads(got.stdout)
    assert result["items"] == 1
    assert any("is longer than this system opens" in w and "passed over" in w for w in result["warnings"])
    shown = _run("deposit", root, "-o", tmp_path / "deep2.evp")
    assert shown.returncode == 0 and "warning:" in shown.stderr and "passed over" in shown.stderr


def test_sigterm_removes_the_staging_file_as_ctrl_c_does(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "term.evp"
    proc = subprocess.Popen(
        [sys.executable, "-m", "evidencectl", "deposit", "-", "-o", str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    deadline = time.monotonic() + 60
    while not list(out.parent.glob(".term.evp.*.partial")) and time.monotonic() < deadline:
        proc.stdin.write(b"x" * (1 << 20))  # stdin that has not ended: the deposit is mid-way
        proc.stdin.flush()
        time.sleep(0.02)
    assert list(out.parent.glob(".term.evp.*.partial")), "the deposit never began its staging file"
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"interrupted" in err and b"Traceback" not in err
    assert list(out.parent.iterdir()) == []


def test_file_changing_while_read_is_flagged(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    big = tmp_path / "growing.log"
    with big.open("wb") as fh:
        fh.truncate(192 << 20)  # long enough to read that the writer below is sure to touch it meanwhile
    stop = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            os.utime(big, ns=(n * 1_000_000_000, n * 1_000_000_000))
            time.sleep(0.001)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        got = cli("deposit", big, "-o", tmp_path / "changed.evp", "--hash-only", "--json")
    finally:
        stop.set()
        thread.join()
    assert got.code == 0, got.err
    result = json.loads(got.out)
    assert any("growing.log: changed while it was read (" in w for w in result["warnings"]), result["warnings"]
    inspected = json.loads(cli("inspect", tmp_path / "changed.evp", "--json").out)
    meta = inspected["items"][0]["metadata"]
    assert meta["changed_while_read"] is True
    assert any("mtime_ns" in w for w in meta["warnings"])


def test_file_left_alone_is_not_flagged(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    (tmp_path / "still.txt").write_text("still")
    got = cli("deposit", tmp_path / "still.txt", "-o", tmp_path / "still.evp", "--json")
    assert got.code == 0 and json.loads(got.out)["warnings"] == []


def test_workers_are_forked_with_sigterms_default_action() -> None:
    """The command line catches SIGTERM in Python; a worker forked with that handler that hangs before its
    first line would ignore terminate() and hang the deposit's end. Workers are forked with the default."""
    from evidencectl import workers

    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        with workers._default_sigterm():
            pid = os.fork()
            if pid == 0:  # the child: how would SIGTERM find it?
                os._exit(0 if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL  # the caller's handler is back
    finally:
        signal.signal(signal.SIGTERM, previous)
