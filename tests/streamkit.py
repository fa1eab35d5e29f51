"""What the attacks on the streamed verification (tests/test_attack_stream_*.py) share: a genuine package of
2,100 small files deposited in the depositor's data directory, trusted by a court's data directory, and the
other party's tampered copies of it, each verified by the court on the streamed path and on the plain path.

The plain path (the whole manifest parsed by ``json.loads``, evidencectl/verify/verifier.py ``_open_plain``)
is the reference. It is forced by raising ``evidencectl.verify.stream.MIN_ITEMS`` (the streamed path's
threshold, read at every call) above any item count; :func:`both` also records whether the streamed path
really answered (``stream_manifest`` returned its blocks) or handed the package to the plain path.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from evidencectl import workers
from tests.conftest import CliResult
from tests.zipattacks import Entry, Layout, build, entries_of

ITEMS = 2100
"""Files in the base package: above the streamed path's 2,048, and more than one block of 4,096 leaves is
not needed for most attacks (the block tests make their own)."""


@dataclass(frozen=True)
class Base:
    """A genuine deposit and the three data directories around it."""

    depositor: Path
    court: Path
    other: Path
    package: Path
    folder: Path
    """The deposited folder (``case/``; its files are ``case/dN/fNNNNN.txt``)."""

    def manifest(self) -> bytes:
        """The genuine ``manifest.json`` as ``unzip -p`` extracts it (not evidencectl's reader)."""
        return unzip_member(self.package, "manifest.json")


def run(home: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """``evidencectl ARGS`` as a separate process in data directory ``home``."""
    env = {**os.environ, "EVIDENCECTL_HOME": str(home)}
    cmd = [sys.executable, "-m", "evidencectl", *map(str, args)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)


def make_files(folder: Path, count: int, content: Callable[[int], bytes] | None = None) -> None:
    """``count`` small files under ``folder`` in sub-folders of 500."""
    for i in range(count):
        sub = folder / f"d{i // 500}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:05d}.txt").write_bytes(content(i) if content else b"exhibit %d\n" % i)


def deposit_base(
    work: Path,
    count: int = ITEMS,
    extra: Callable[[Path], None] | None = None,
    args: tuple[str | Path, ...] = (),
) -> Base:
    """Deposit ``count`` files (and what ``extra(folder)`` adds), with deposit options ``args``, as the
    depositor; trust the depositor's embedded TSA and ledger in the court's data directory (a court that
    chose to check them)."""
    folder = work / "in" / "case"
    make_files(folder, count)
    if extra is not None:
        extra(folder)
    depositor, court, other = work / "depositor", work / "court", work / "other"
    package = work / "genuine.evp"
    statement = ("--case", "(2026)渝0103民初1234号", "--note", "内部：证人尚未联系")
    done = run(depositor, "deposit", folder, "-o", package, *statement, *args)
    assert done.returncode == 0, done.stderr
    assert run(court, "trust", "add", depositor / "tsa" / "ecdsa-p256" / "root.pem", "--as", "tsa").returncode == 0
    (ledger,) = (depositor / "trust" / "ledger").glob("*.pem")
    assert run(court, "trust", "add", ledger, "--as", "ledger").returncode == 0
    other.mkdir()
    return Base(depositor, court, other, package, folder)


def unzip_member(package: Path, name: str) -> bytes:
    """A member's bytes as ``unzip -p`` gives them (the oracle for what the package holds)."""
    return subprocess.run(["unzip", "-p", package, name], capture_output=True, check=True).stdout


def with_manifest(base: Path, manifest: bytes, out: Path) -> Path:
    """A copy of package ``base`` whose ``manifest.json`` is ``manifest``, written in the strict ZIP profile
    (so that only the manifest is what the verifier judges)."""
    entries = entries_of(base)
    next(e for e in entries if e.name == "manifest.json").data = manifest
    out.write_bytes(build(Layout(entries=entries)))
    return out


def with_members(base: Path, out: Path, change: Callable[[list[Entry]], None]) -> Path:
    """A copy of package ``base`` with its members changed by ``change`` (in the strict profile)."""
    entries = entries_of(base)
    change(entries)
    out.write_bytes(build(Layout(entries=entries)))
    return out


def oracle_manifest(package: Path) -> object:
    """What ``manifest.json`` says according to ``jq`` (not Python): ``jq -c .`` of the extracted bytes, then
    parsed. jq keeps the last of duplicate keys, as Python's json does."""
    raw = unzip_member(package, "manifest.json")
    done = subprocess.run(["jq", "-c", "."], input=raw, capture_output=True, check=False)
    return json.loads(done.stdout) if done.returncode == 0 and done.stdout.strip() else None


def members(package: Path) -> list[str]:
    """Member names as ``bsdtar -tf`` lists them."""
    done = subprocess.run(["bsdtar", "-tf", package], capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


_VERIFIED_AT = re.compile(r'"verified_at": "[^"]*"')


@dataclass(frozen=True)
class Both:
    """One verification on each path, ``verified_at`` blanked out of their output."""

    streamed: CliResult
    plain: CliResult
    took_stream: bool
    """The streamed path answered (False: it handed the package to the plain path)."""

    def same(self) -> None:
        """The streamed path said exactly what the plain path said: exit code, output, errors."""
        assert self.streamed.code == self.plain.code, (self.streamed.code, self.plain.code, self.plain.err)
        assert self.streamed.out == self.plain.out
        assert self.streamed.err == self.plain.err

    def checks(self) -> dict[str, dict[str, object]]:
        """The plain path's ``--json`` checks by name."""
        return {c["check"]: c for c in json.loads(self.plain.out)["checks"]}

    @property
    def verdict(self) -> str:
        """The plain path's verdict from ``--json``, or ``refused`` (exit 4, no report)."""
        if self.plain.code == 4:
            return "refused"
        verdict: str = json.loads(self.plain.out)["verdict"]
        return verdict


def both(
    cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch, court: Path, package: Path, *args: str | Path
) -> Both:
    """``verify PACKAGE --json ARGS`` in the court's data directory on the streamed path, then on the plain."""
    from evidencectl.verify import stream, verifier

    monkeypatch.setenv("EVIDENCECTL_HOME", str(court))
    answered: list[bool] = []
    real = verifier.stream_manifest

    def spy(*a: object, **k: object) -> object:
        got = real(*a, **k)  # type: ignore[arg-type]
        answered.append(got is not None)
        return got

    monkeypatch.setattr(verifier, "stream_manifest", spy)
    streamed = cli("verify", package, "--json", *args)
    took = bool(answered) and answered[-1]
    with monkeypatch.context() as m:
        m.setattr(stream, "MIN_ITEMS", 10**9)
        answered.clear()
        plain = cli("verify", package, "--json", *args)
        assert answered == [False]  # the plain path did judge
    blank = lambda r: CliResult(r.code, _VERIFIED_AT.sub('"verified_at": ""', r.out), r.err)  # noqa: E731
    return Both(blank(streamed), blank(plain), took)


def zip_names(package: Path) -> list[str]:
    """Member names as Python's zipfile reads the central directory."""
    with zipfile.ZipFile(package) as z:
        return z.namelist()


def interleaved(
    monkeypatch: pytest.MonkeyPatch, first: Callable[[], Any], second: Callable[[], Any], *, wait: float = 300
) -> list[Any]:
    """Run ``first`` and ``second`` in two threads, each forking its workers only once both have registered
    their job (both reached the fork) and going on only once both pools are forked: what two requests
    arriving together at the service's thread pool may do, made certain. What a thread raised is its
    result."""
    real = workers.fork_pool
    both_ready, both_forked = threading.Barrier(2, timeout=60), threading.Barrier(2, timeout=60)

    def fork_in_turn(*args: Any, **kwargs: Any) -> Any:
        both_ready.wait()
        pool = real(*args, **kwargs)
        both_forked.wait()
        return pool

    monkeypatch.setattr(workers, "fork_pool", fork_in_turn)
    monkeypatch.setattr(workers, "worker_count", lambda: 2)  # workers also on a one-CPU machine
    out: list[Any] = [None, None]

    def go(n: int, job: Callable[[], Any]) -> None:
        try:
            out[n] = job()
        except BaseException as exc:  # noqa: BLE001 - reported by the test as that job's outcome
            out[n] = exc

    threads = [threading.Thread(target=go, args=(n, job)) for n, job in enumerate((first, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(wait)
    return out
