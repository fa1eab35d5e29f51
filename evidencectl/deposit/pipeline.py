"""``deposit()``: the stages in order. Collect the inputs, read them into the item spool, seal the
manifest, obtain the proofs, publish (or record pending)."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from collections.abc import Callable, Iterable
from typing import Any

from .. import intake
from .. import progress as progress_hooks
from .. import workers as forks
from ..collect.files import check_statement_text, collect_inputs
from ..context import Context
from ..errors import BadInputError
from ..heads import current_heads
from ..i18n import _
from ..package.writer import PackageWriter, check_output
from ..preparedfiles import Handed, Prepared, PreparedRun
from ..registry import Registry
from .background import Closing
from .items import ItemSpool, _member_for
from .options import AnalyzeSettings, DepositOptions, DepositResult, SourceOptions
from .proofs import obtain_proofs
from .publish import finish, still_needed
from .reading import NO_ROOM, read_inputs
from .seal import seal
from .selection import select_inputs
from .state import ResumeState
from .statement import build_private, build_statement, unused_deposit_id
from .warmup import preload_services


def _start_workers(sources: SourceOptions, settings: AnalyzeSettings) -> intake.Workers | None:
    """Worker processes for a deposit that may hold thousands of small files (folders or a list)."""
    count = forks.worker_count()
    if not count or (sources.from_list is None and not any(a != "-" and os.path.isdir(a) for a in sources.inputs)):
        return None
    # The workers fork and load while the folders are walked.
    return intake.Workers(
        count,
        hash_only=sources.hash_only,
        strict=settings.strict,
        offline=settings.offline,
        keys=settings.keys,
        member_for=_member_for,
    )


def deposit(opts: DepositOptions, ctx: Context, progress: Callable[[int], None] | None = None) -> DepositResult:
    """Deposit ``opts.inputs`` into a new package at ``opts.out``; returns what was produced.

    When a TSA quorum or an anchor cannot be had, the result is ``pending``: the work done is kept in its
    ``staging`` file and the registry, ``pending`` lists the failed services, and :func:`resume` finishes
    it. Raises UsageError (exit 2) for bad options or an existing output, BadInputError (exit 4) for an
    input that cannot be read or an output that cannot be written.
    """
    check_statement_text(case=opts.case, depositor=opts.depositor, note=opts.note)
    opts.services.check()
    sources = opts.sources
    settings = sources.analyze_settings()
    workers = _start_workers(sources, settings)
    closing = Closing()  # what the tail no longer uses, closed in threads (deposit/background.py)
    try:
        result = _deposit(opts, ctx, progress, settings, workers, closing)
    except BaseException:
        _close(closing, workers)
        raise
    # Published (or recorded pending) before an interrupt that comes while only closers are waited for:
    # the deposit is what the registry holds, and saying "interrupted" (exit 130) would deny it.
    with contextlib.suppress(KeyboardInterrupt):
        _close(closing, workers)
    return result


def _close(closing: Closing, workers: intake.Workers | None) -> None:
    """Wait for the closers, then make sure the workers are gone."""
    try:
        closing.join()
    finally:
        if workers is not None:
            workers.close()


def _deposit(
    opts: DepositOptions,
    ctx: Context,
    progress: Callable[[int], None] | None,
    settings: AnalyzeSettings,
    workers: intake.Workers | None,
    closing: Closing,
) -> DepositResult:
    # The workers hash the first folders' files while the next folders are walked (one input walked: the
    # files found so far are those deposited, bar the output inside it, which Workers.prepared catches).
    early = workers.ahead if workers is not None and len(opts.inputs) == 1 and opts.from_list is None else None
    collected = collect_inputs(
        opts.inputs, from_list=opts.from_list, follow_symlinks=opts.follow_symlinks, walked=early
    )
    check_output(opts.out, opts.force)
    warnings = list(collected.warnings)
    files = select_inputs(collected.files, opts.sources, opts.out, warnings)
    if workers is not None and len(files) < intake.MIN_FILES:
        workers.close()  # too few files to be worth it
        workers = None
    registry = Registry.open(ctx)
    deposit_id = unused_deposit_id(lambda drawn: registry.deposit(drawn) is not None)
    writer = PackageWriter(opts.out)
    spool = ItemSpool(None if opts.hash_only else writer, opts.out.parent, deposit_id)
    warmed: dict[str, Any] = {}  # the TSA and ledger warmed up, used for the proofs
    try:
        spool.warnings.extend(warnings)
        if progress_hooks.wants_totals(progress):
            progress_hooks.begin(progress, progress_hooks.total_size(f.location for f in files), len(files))
        ready: Iterable[PreparedRun | Prepared | Handed | None] = (
            workers.prepared(files, meanwhile=lambda: preload_services(ctx, opts.tsas, warmed, opts.anchors))
            if workers
            else itertools.repeat(None)
        )
        read_inputs(spool, files, ready, opts.hash_only, settings, progress, stdin_limit=opts.max_size)
        if workers is not None:
            closing.start(workers.close, "stop-workers")  # idle from here on
        heads = current_heads(ctx, registry)
        private = build_private(opts.statement)
        statement = build_statement(deposit_id, opts.statement, opts.hash_only, spool.count, heads, private=private)
        roots = seal(writer, deposit_id, statement, spool, opts.statement, private)
        labels: set[str] = set()
        progress_hooks.phase(progress, "timestamping")
        proofs = obtain_proofs(
            writer, ctx, deposit_id, roots, opts.tsas, opts.anchors, labels, opts.contract, progress=progress,
            opened=warmed,
        )  # fmt: skip
        result = DepositResult(
            deposit_id, opts.out, "pending", spool.count, roots, proofs.timestamps, proofs.anchors,
            warnings=spool.warnings,
        )  # fmt: skip
        retry = still_needed(proofs.failed, proofs.tsas_answered, opts.tsa_quorum, result.warnings)
        out = os.path.abspath(writer.out)  # resumed from any folder
        state = ResumeState(retry, opts.tsa_quorum, proofs.tsas_answered, opts.force, out, labels, opts.contract)
        row = {
            "deposit_id": deposit_id,
            "created": statement["created"],
            "case_no": opts.case,
            "depositor": opts.depositor,
            "note": opts.note,
            "package": str(opts.out.resolve()),
            "staging": None,
            "status": "pending",
            "roots": json.dumps(roots),
            "item_count": spool.count,
            "pending": None,
        }
        return finish(registry, writer, result, state, row, spool.registry_rows())
    except OSError as exc:
        writer.abort()
        if exc.errno in NO_ROOM:
            raise BadInputError(
                _("cannot write the package: {strerror}").format(strerror=exc.strerror), path=opts.out
            ) from exc
        raise
    except BaseException:
        writer.abort()
        raise
    finally:
        closing.start(spool.close, "drop-spools")
        closing.start(registry.close, "close-registry")
        for service in warmed.values():
            closing.start(service.close, "close-service")
