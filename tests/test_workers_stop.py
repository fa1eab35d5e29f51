"""Stopping a pool of forked workers while they write their answers (evidencectl/workers.py stop_pool).

``Pool.terminate()`` kills workers as they are; one killed while it writes an answer dies holding the answer
queue's lock, and the pool's task thread then waits for that lock for ever. A deposit interrupted with
Ctrl-C hung that way in ``Workers.close`` (tests/test_intake.py, Ctrl-C test, on a loaded machine). With
``pool.terminate()`` in place of ``stop_pool`` the script below hangs in about one run of three.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import os, sys, threading
from evidencectl import workers

def big(i):
    return b"x" * (64 << 20)  # long enough to write that the stop lands in the middle of one

pool = workers.fork_pool(2)
answers = pool.imap(big, range(8))
next(answers)  # the workers are writing their next answers now
done = threading.Event()

def stop():
    workers.stop_pool(pool)
    done.set()

threading.Thread(target=stop, daemon=True).start()
print("stopped" if done.wait(30) else "hung", flush=True)
os._exit(0)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
@pytest.mark.parametrize("run", range(4))
def test_stopping_workers_in_the_middle_of_an_answer_does_not_hang(run: int, tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    got = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path
    )
    assert got.stdout.strip() == "stopped", got.stderr[-2000:]


def test_a_stopped_pools_queued_tasks_return_at_once() -> None:
    from evidencectl import workers

    pool = workers.fork_pool(1)
    try:
        assert pool.apply(workers.stopping) is False
        pool.evidencectl_stop[0] = 1
        assert pool.apply(workers.stopping) is True
    finally:
        workers.stop_pool(pool)


def _answer(i: int) -> bytes:
    return bytes(200_000)  # an answer that takes the result thread a while to read


def test_the_worker_handler_does_not_wake_for_every_answer(monkeypatch) -> None:
    """multiprocessing's worker-handler thread also waits on the answer pipe, and while an answer sits there
    it wakes and walks the workers again and again (40 to 100 ms of CPU time in a deposit of 10,000 small
    files; 15,000 to 25,000 turns here with the stock sentinels). With every task handed out at once and
    this thread busy meanwhile, as a deposit is with the answers, the handler has a handful of turns."""
    from multiprocessing.pool import Pool

    from evidencectl import workers

    turns: list[int] = []
    real = Pool._maintain_pool  # type: ignore[attr-defined]  # the handler thread calls it on Pool itself

    def counted(*args):
        turns.append(1)
        return real(*args)

    monkeypatch.setattr(Pool, "_maintain_pool", staticmethod(counted))
    pool = workers.fork_pool(2)
    try:
        answers = pool.map_async(_answer, range(400), chunksize=1)
        while not answers.ready():
            sum(range(2000))
        assert len(answers.get()) == 400
    finally:
        workers.stop_pool(pool)
    assert len(turns) <= 20, len(turns)
