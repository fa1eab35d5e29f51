"""The sweep of the ``faketime`` wrapper's leftovers in /dev/shm (tests/conftest.py), on a folder of its own."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import _sweep_faketime_leftovers


def test_only_the_leftovers_of_processes_gone_are_removed(tmp_path: Path) -> None:
    gone = 2**22 + 17  # above pid_max: no such process
    for name in (f"faketime_shm_{gone}", f"sem.faketime_sem_{gone}", f"faketime_shm_{os.getpid()}", "other_1"):
        (tmp_path / name).write_bytes(b"x")
    assert _sweep_faketime_leftovers(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"faketime_shm_{os.getpid()}", "other_1"]
