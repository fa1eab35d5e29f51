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
