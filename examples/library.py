"""Deposit a folder and verify the package through the library (docs/library.md).

    python examples/library.py FOLDER OUT.evp [CASE]

Exit 0 when the package verifies PASSED, 5 when the deposit is pending (a service is down: run
``evidencectl deposit --resume`` later), else the verification's exit code.
"""

from __future__ import annotations

import sys
from pathlib import Path

from evidencectl import Context, DepositOptions, EvidenceError, deposit, verify


def main(argv: list[str]) -> int:
    """Deposit ``argv[0]`` into ``argv[1]`` (case ``argv[2]``), verify it, print one line each."""
    folder, out = Path(argv[0]), Path(argv[1])
    context = Context.default()  # $EVIDENCECTL_HOME, or the platform's data directory
    options = DepositOptions(inputs=[str(folder)], out=out, case=argv[2] if len(argv) > 2 else None)
    try:
        result = deposit(options, context)
    except EvidenceError as exc:  # bad input, existing output…: each error carries its exit code
        print(f"deposit refused: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    if result.status == "pending":
        failed = ", ".join(p["spec"] for p in result.pending)
        print(f"deposit {result.deposit_id} pending ({failed}); kept in {result.staging}")
        return 5
    print(f"deposit {result.deposit_id}: {result.items} item(s), SM3 root {result.roots['sm3']}")
    report = verify(result.package, context=context)  # trusts the data directory's store
    print(f"verification {report.verdict.value}: {len(report.checks)} checks")
    return int(report.verdict.exit_code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
