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
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from ..context import Context
from ..errors import EvidenceError, UsageError
from .leftovers import holder, holder_gone, sweep
from .settings import ServiceSettings

log = logging.getLogger("evidencectl.service")
CLAIM_SECONDS = 600.0
"""How long a claim holds; a worker killed while resuming frees its deposit after this (at once for a
worker of this machine: a claim of a process that no longer runs counts for nothing)."""


class Outcomes:
    """What the last attempt at each pending deposit gave, so that the log says each change once (its
    first failure, a different failure, its recovery) and not every pass of the loop."""

    def __init__(self) -> None:
        self._last: dict[str, str] = {}

    def failed(self, deposit_id: str, why: str) -> None:
        """Log ``why`` unless it is what this deposit's last attempt said too."""
        if self._last.get(deposit_id) != why:
            log.warning("resuming %s failed: %s", deposit_id, why)
            self._last[deposit_id] = why

    def completed(self, deposit_id: str) -> None:
        """The deposit is complete: said once if it had failed before."""
        if self._last.pop(deposit_id, None) is not None:
            log.warning("resuming %s succeeded: the deposit is complete", deposit_id)


def resume_pending(ctx: Context, deposits_dir: Path, who: str, outcomes: Outcomes | None = None) -> list[str]:
    """One pass: resume the service's pending deposits this process can claim; returns those completed."""
    from .. import resume
    from ..registry import Registry, acting_as
    from ..registry.shared import claim, release

    outcomes = outcomes or Outcomes()
    registry = Registry.open(ctx)
    done: list[str] = []
    try:
        for row in registry.deposits("pending"):
            staging = row.get("staging") or ""
            if row.get("owner_id") is None or not Path(staging).is_relative_to(deposits_dir):
                continue
            deposit_id = row["deposit_id"]
            if not claim(registry, deposit_id, who, CLAIM_SECONDS, gone=holder_gone):
                continue  # another worker is on it
            try:
                with acting_as("service:resume"):
                    results = resume(ctx, deposit_id)
                for r in results:
                    if r.status == "complete":
                        done.append(r.deposit_id)
                        outcomes.completed(r.deposit_id)
                    else:
                        waiting = "; ".join(f"{p['kind']} {p['spec']}: {p['error']}" for p in r.pending)
                        outcomes.failed(r.deposit_id, f"still pending ({waiting})")
            except UsageError:
                outcomes.completed(deposit_id)  # completed by another worker between the list and the claim
            except EvidenceError as exc:
                outcomes.failed(deposit_id, " ".join(str(exc).split()))
            finally:
                release(registry, deposit_id, who)
        sweep(ctx.service_dir, registry)
    finally:
        registry.close()
    return done


def _sweep_at_start(ctx: Context) -> None:
    from ..registry import Registry

    registry = Registry.open(ctx)
    try:
        sweep(ctx.service_dir, registry)
    finally:
        registry.close()


async def _loop(settings: ServiceSettings) -> None:
    outcomes = Outcomes()
    while True:
        await asyncio.sleep(settings.resume_interval)
        try:
            await run_in_threadpool(resume_pending, settings.ctx, settings.deposits_dir.resolve(), holder(), outcomes)
        except Exception:  # a registry that is down now may be back next time: never end the loop
            log.exception("resuming pending deposits failed")


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Starlette lifespan: remove what killed workers left (leftovers.py), then run the resume loop while
    the worker serves (not at all with interval 0)."""
    settings: ServiceSettings = app.state.settings
    try:
        await run_in_threadpool(_sweep_at_start, settings.ctx)
    except Exception:  # a registry down at start must not keep the server from serving
        log.exception("removing what a killed server left failed")
    task = asyncio.create_task(_loop(settings)) if settings.resume_interval > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
