"""``python -m benchmarks [--quick] [--keep] [--dir DIR] [--only NAME...]``: run every workload, print figures.

Data, packages and data directories live in a temporary folder (by default under the system's temporary
folder; give ``--dir`` to put it on another disk) that is removed at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .harness import machine, need_tools
from .workloads import FULL, QUICK, Line, Session

ORDER = ("startup", "small", "tiny", "big", "stored", "ledger", "report", "service")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; exit 0 when every target was met, 1 otherwise."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shrink every workload (runs in under a minute)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--dir", type=Path, default=None, help="where to create the temporary folder")
    parser.add_argument("--only", nargs="*", choices=ORDER, default=list(ORDER), help="workloads to run")
    args = parser.parse_args(argv)
    need_tools()
    work = Path(tempfile.mkdtemp(prefix="evidencectl-bench-", dir=args.dir))
    lines: list[Line] = []

    def emit(line: Line) -> None:
        lines.append(line)
        print(line.text, flush=True)

    print(f"# evidencectl benchmarks ({'quick' if args.quick else 'full'}), data in {work}")
    for name, value in machine(work):
        print(f"# {name}: {value}")
    start = time.perf_counter()
    try:
        session = Session(work, QUICK if args.quick else FULL, emit)
        for name in ORDER:
            if name in args.only:
                getattr(session, name)()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    missed = [ln.key for ln in lines if not ln.ok]
    print(
        f"# {len(lines)} figures in {time.perf_counter() - start:.1f} s; targets missed: {', '.join(missed) or 'none'}"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
