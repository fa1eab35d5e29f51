"""Leaving the console script without tearing the interpreter down.

Once a command has returned, everything it wrote is closed and on disk (packages, registry, ledger), so the
process can end with ``os._exit``: unloading some 400 modules and a last garbage collection cost ~30 ms a
command, more than the work of a small deposit (CPU time of ``verify`` of a one-file package, benchmarks/
fastpaths.py: 450 ms with the teardown, 411 ms without). Under a tracer or coverage the
normal exit is kept, so that their own files are written. tests/test_fastexit.py checks that a command that
leaves this way wrote exactly what one that exits normally writes.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

from ..errors import ExitCode


def leave(code: int) -> NoReturn:
    """Flush stdout and stderr and end the process with ``code`` (4 if stdout could not be written)."""
    if sys.gettrace() is not None or "coverage" in sys.modules:
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # a reader that went away, or a stream already closed
        pass
    except OSError:
        code = code or int(ExitCode.BAD_INPUT)  # stdout could not be written (a full disk): say so
    os._exit(code)
