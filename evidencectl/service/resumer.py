"""Pending deposits resumed by the server: a background task in each worker process.

A deposit made over the API whose TSA or anchor was down is answered 202 and recorded pending. Every
``resume_interval`` seconds each worker looks for such deposits and, for each one it can *claim* in the
registry (:func:`evidencectl.registry.shared.claim`, so that four workers, or four machines on one
PostgreSQL, do not resume one deposit twice at once), calls the library's ``resume()``. Only deposits
made through this service (an owner, a staging file under its own ``service/deposits/``) are taken: a
depositor's own CLI deposits in a shared registry are theirs to resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from ..errors import EvidenceError, UsageError
from .settings import ServiceSettings

log = logging.getLogger("evidencectl.service")
CLAIM_SECONDS = 600.0
"""How long a claim holds; a worker killed while resuming frees its deposit after this."""


def resume_pending(base: Path, deposits_dir: Path, holder: str) -> list[str]:
    """One pass: resume the service's pending deposits this process can claim; returns those completed."""
    from .. import Context, resume
    from ..registry import Registry, acting_as
    from ..registry.shared import claim, release

    registry = Registry.open(base)
    done: list[str] = []
    try:
        for row in registry.deposits("pending"):
            staging = row.get("staging") or ""
            if row.get("owner_id") is None or not Path(staging).is_relative_to(deposits_dir):
                continue
            if not claim(registry, row["deposit_id"], holder, CLAIM_SECONDS):
                continue  # another worker is on it
            try:
                with acting_as("service:resume"):
                    results = resume(Context(base), row["deposit_id"])
                done += [r.deposit_id for r in results if r.status == "complete"]
            except UsageError:
                pass  # completed by another worker between the list and the claim
            except EvidenceError as exc:
                log.warning("resuming %s failed: %s", row["deposit_id"], " ".join(str(exc).split()))
            finally:
                release(registry, row["deposit_id"], holder)
    finally:
        registry.close()
    return done


async def _loop(settings: ServiceSettings) -> None:
    holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    while True:
        await asyncio.sleep(settings.resume_interval)
        try:
            await run_in_threadpool(resume_pending, settings.base, settings.deposits_dir.resolve(), holder)
        except Exception:  # a registry that is down now may be back next time: never end the loop
            log.exception("resuming pending deposits failed")


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Starlette lifespan: run the resume loop while the worker serves (not at all with interval 0)."""
    settings = app.state.settings
    task = asyncio.create_task(_loop(settings)) if settings.resume_interval > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
