"""Members whose local header and CRC-32 are made in a worker process: the ZIP writer's one fast path.

A deposit of many small files has its workers (evidencectl/intake.py) read each file and hand the parent one
blob, the member's final local header followed by its bytes; the parent appends it with one write
(:meth:`~evidencectl.package.writer.PackageWriter.add_prepared`) instead of computing the CRC-32 and the
header itself. Measured (CPU time, 20,000 members of 4 KiB, benchmarks/fastpaths.py): header and CRC cost 2.2
us a member, done in the worker; the parent's append costs 5.3 us instead of 6.3 (noisy: 0.6 to 1 us saved
from run to run, the rest goes to handling the blob). The header is the one :func:`zipformat.local_header`
makes for an offset below 2 GiB; the writer makes it again for an offset above (a ZIP64 offset needs version
4.5). tests/test_zip_writer.py checks that members added this way give the bytes ``add_bytes`` gives.
"""

from __future__ import annotations

import struct
import zlib

from . import zipformat as zf

_HEAD = zf.LOCAL.pack(zf.LOCAL_SIG, zf.version_needed(False), 0, 0, zf.FIXED_TIME, zf.FIXED_DATE, 0, 0, 0, 0, 0)[:14]
"""The first 14 bytes of the local header of an ASCII-named member below the ZIP64 limits (signature,
version 2.0, no flags, stored, the fixed time and date): the same for every such member."""
_TAIL = struct.Struct("<IIIHH")
"""The rest of :data:`zipformat.LOCAL`: CRC-32, sizes, name length, extra length (0)."""


def stored_member(name: str, data: bytes | memoryview) -> tuple[bytes, int]:
    """The local header of a stored member holding ``data`` written at an offset below 2 GiB, and the
    data's CRC-32. For an ASCII name and a size below the ZIP64 limit, from the fixed head and one packed
    tail instead of :func:`zipformat.local_header` (1.4 -> 1.1 us with the CRC, "Worker per-file CPU";
    tests/test_worker_perfile.py compares the bytes)."""
    crc = zlib.crc32(data)
    size = len(data)
    if size < zf.ZIP64_FROM and name.isascii():
        return _HEAD + _TAIL.pack(crc, size, size, len(name), 0) + name.encode("ascii"), crc
    return zf.local_header(name, size, crc, 0), crc
