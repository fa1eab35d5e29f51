"""The console script leaves with os._exit (cli/fastexit.py): what it writes is what a normal exit writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

FAST = "from evidencectl.cli.main import run; run()"
PLAIN = "import sys; from evidencectl.cli.main import main; sys.exit(main())"


def _run(code: str, home: Path, *args: str | Path) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, EVIDENCECTL_HOME=str(home))
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, env=env, check=False)


def test_a_fast_exit_writes_what_a_normal_exit_writes(tmp_path: Path) -> None:
    home, folder = tmp_path / "home", tmp_path / "in"
    folder.mkdir()
    for i in range(40):
        (folder / f"f{i}.txt").write_text(f"exhibit {i}\n" * 500)
    out = tmp_path / "fast.evp"
    fast = _run(FAST, home, "deposit", folder, "-o", out, "--json")
    assert fast.returncode == 0, fast.stderr
    assert json.loads(fast.stdout)["status"] == "complete"  # stdout flushed before the process ended
    # Everything the deposit wrote is on disk and consistent: the registry, custody log, ledger, package.
    cases = _run(PLAIN, home, "cases", "--json")
    assert [d["status"] for d in json.loads(cases.stdout)["deposits"]] == ["complete"]
    assert _run(PLAIN, home, "log", "--verify").returncode == 0
    assert _run(FAST, home, "verify", out).returncode == 0
    # A large output, byte for byte the same both ways.
    fast_inspect, plain_inspect = (
        _run(FAST, home, "inspect", out, "--json"),
        _run(PLAIN, home, "inspect", out, "--json"),
    )
    assert fast_inspect.returncode == plain_inspect.returncode == 0
    assert fast_inspect.stdout == plain_inspect.stdout and len(fast_inspect.stdout) > 10_000
    # The exit code of a failure survives the fast exit.
    assert (
        _run(FAST, home, "verify", tmp_path / "missing.evp").returncode
        == _run(PLAIN, home, "verify", tmp_path / "missing.evp").returncode
        != 0
    )
