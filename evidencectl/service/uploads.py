"""Request bodies streamed to a file on disk, chunk by chunk, with a size limit and a stall limit.

A body never sits whole in memory: a court's package can be gigabytes, and a server answering many
verifications at once would hold them all. The limit is checked against the declared Content-Length
before anything is read, and again against what actually arrives (chunked bodies declare nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from .leftovers import prefix
from .problems import Problem


def _mib(n: int) -> str:
    return f"{n / (1 << 20):g} MiB"


def declared_length(header: str | None, limit: int) -> int | None:
    """The Content-Length header as a number, or a Problem if it is malformed or over ``limit``."""
    if header is None:
        return None
    if not header.isdigit():
        raise Problem("unprocessable-package", "the Content-Length header is not a number")
    length = int(header)
    if length > limit:
        raise Problem("payload-too-large", f"the upload is {length} bytes; this service accepts {_mib(limit)}",
                      limit=limit)  # fmt: skip
    return length


async def bounded(chunks: AsyncIterator[bytes], limit: int, idle: float, total: float) -> AsyncIterator[bytes]:
    """The chunks of a request body, cut off with a Problem: 413 as soon as more than ``limit`` bytes
    arrived, 408 when no chunk comes for ``idle`` seconds or the whole body takes longer than ``total`` (a
    client trickling a byte a second never stalls, but is cut off all the same). Shared by raw uploads and
    multipart forms."""
    deadline = time.monotonic() + total
    received = 0
    iterator = chunks.__aiter__()
    while True:
        left = deadline - time.monotonic()
        try:
            async with asyncio.timeout(max(0.0, min(idle, left))):
                chunk = await iterator.__anext__()
        except StopAsyncIteration:
            return
        except TimeoutError:
            why = f"no data arrived for {idle:g} seconds" if left > idle else f"the upload took over {total:g} s"
            raise Problem("request-timeout", why) from None
        received += len(chunk)
        if received > limit:
            raise Problem("payload-too-large", f"the upload exceeds {_mib(limit)}", limit=limit)
        yield chunk


async def save_stream(
    chunks: AsyncIterator[bytes], folder: Path, name: str, limit: int, idle: float, total: float = float("inf")
) -> Path:
    """Write ``chunks`` to ``folder``/``name`` in a fresh private subfolder; return the file's path.

    Raises a Problem (413) as soon as more than ``limit`` bytes arrive, and (408) when no chunk arrives
    for ``idle`` seconds or the whole body takes over ``total`` (a client trickling a byte a second never
    stalls, but is cut off all the same); the partial file is removed either way. The caller removes the subfolder.
    """
    folder.mkdir(parents=True, exist_ok=True)
    # A subfolder of its own, so that the file can keep a fixed name (``name`` is ours, never the client's).
    spool = Path(tempfile.mkdtemp(prefix=prefix("upload"), dir=folder))  # named by its process (leftovers.py)
    path = spool / name
    try:
        with path.open("xb") as out:
            async for chunk in bounded(chunks, limit, idle, total):
                out.write(chunk)
    except BaseException:
        remove_spool(path)
        raise
    return path


def remove_spool(path: Path) -> None:
    """Remove an uploaded file and the private folder it was saved in."""
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty or already gone: nothing of ours to remove
        path.parent.rmdir()
