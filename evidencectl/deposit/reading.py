"""Stage: read, hash, store and analyse every input, in input order, into the item spool.

Worker processes (evidencectl/intake.py) may have done a file already: a :class:`~evidencectl.preparedfiles.Prepared`
file is only appended; a :class:`~evidencectl.preparedfiles.Handed` one brings its bytes and analysis; anything else
is done here, exactly as without workers, so every error is raised in input order with the same message.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .. import progress as progress_hooks
from ..collect.analysis import Analysis
from ..collect.files import InputFile, bounded_stdin, changed_while_read, open_regular, read_whole
from ..collect.media import SNIFF_SIZE
from ..display import invisible_in_name
from ..errors import BadInputError
from ..hashing import SMALL, Digests, digest_bytes
from ..i18n import _
from ..preparedfiles import Handed, Prepared, PreparedRun
from .items import ItemSpool, _member_for
from .options import AnalyzeSettings

NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)
"""Write errors that mean the output's file system cannot take the package."""


@dataclass(frozen=True)
class _Read:
    """An input read whole: its bytes, digests, file status and why it is flagged as changed while read."""

    data: bytes
    digests: Digests
    stat: os.stat_result
    changed: str | None = None


def _read_small(path: Path | None) -> _Read | OSError | None:
    """Read and hash a file of at most SMALL bytes, or a mail or image to be parsed from the bytes hashed
    (None for other files and stdin: they are streamed); the OSError it raised is returned for
    :func:`_hash_input` to report."""
    from ..collect.analyze import MAX_PARSE_BYTES

    try:
        got = None if path is None else read_whole(path, SMALL, MAX_PARSE_BYTES)
    except OSError as exc:
        return exc
    return None if got is None else _Read(got.data, digest_bytes(got.data), got.stat, got.changed)


def _analyze(
    path: Path | None,
    settings: AnalyzeSettings,
    head: bytes | None,
    st: os.stat_result | None,
    ahead: _Read | OSError | None,
    changed: str | None,
) -> Analysis | None:
    if path is None:
        return None
    from ..collect.analyze import analyze

    data = ahead.data if isinstance(ahead, _Read) else None  # the very bytes hashed and stored
    return analyze(
        path,
        strict=settings.strict,
        dkim_keys=settings.keys,
        offline=settings.offline,
        head=head,
        stat=st,
        data=data,
        changed=changed,
    )


def _hash_input(
    spool: ItemSpool,
    f: InputFile,
    name: str,
    hash_only: bool,
    progress: Callable[[int], None] | None,
    ahead: _Read | OSError | None,
    stdin_limit: int,
) -> tuple[Digests, str | None, bytes | None, os.stat_result | None, str | None]:
    """Hash (and store) one input; returns its digests, package member, first bytes, status and why it is
    flagged as changed while it was read (or None)."""
    member = spool.names.claim(None if hash_only else _member_for(name, spool.count + 1), spool.count + 1)
    if hidden := invisible_in_name(name):
        spool.warnings.append(
            _("{name}: the name holds characters that hide or reorder text ({join})").format(
                name=name, join=", ".join(hidden)
            )
        )
    head: bytes | None = None
    st: os.stat_result | None = None
    changed: str | None = None
    if isinstance(ahead, OSError):
        raise BadInputError(_("cannot read: {value}").format(value=ahead.strerror or ahead), path=f.path)
    if isinstance(ahead, _Read):
        digests, head, st, changed = ahead.digests, ahead.data[:SNIFF_SIZE], ahead.stat, ahead.changed
        if spool.writer is not None and member is not None:
            spool.writer.add_bytes(member, ahead.data)
        if progress is not None:
            progress(digests.size)
    elif f.path is None:
        digests = spool.store(member, bounded_stdin(sys.stdin.buffer, stdin_limit), None, progress)
    else:
        try:
            with open(open_regular(f.path), "rb", buffering=0) as src:
                st = os.fstat(src.fileno())
                head = src.read(SNIFF_SIZE)
                src.seek(0)
                digests = spool.store(member, src, None, progress)  # type: ignore[arg-type]
                changed = changed_while_read(st, os.fstat(src.fileno()))
        except OSError as exc:
            if exc.errno in NO_ROOM:
                raise  # the package cannot be written; deposit() names the output, not this input
            raise BadInputError(_("cannot read: {value}").format(value=exc.strerror or exc), path=f.path) from exc
    if f.expected_sha256 and f.expected_sha256 != digests.sha256:
        raise BadInputError(
            _("SHA-256 {sha256} differs from the list's {expected_sha256}").format(
                sha256=digests.sha256, expected_sha256=f.expected_sha256
            ),
            path=f.path,
        )
    return digests, member, head, st, changed


def read_inputs(
    spool: ItemSpool,
    files: list[InputFile],
    ready: Iterable[PreparedRun | Prepared | Handed | None],
    hash_only: bool,
    settings: AnalyzeSettings,
    progress: Callable[[int], None] | None,
    *,
    stdin_limit: int = 4 << 30,
) -> None:
    """Add every file (and the parts derived from it) to ``spool``; ``ready`` is what the workers made of
    each file, in order (None: nothing; a run stands for as many files as it holds). Standard input is
    refused beyond ``stdin_limit`` bytes."""
    listed = any(f.expected_sha256 for f in files)  # a list's digests are compared file by file
    drawn = isinstance(progress, progress_hooks.Progress)
    ahead = iter(ready)
    index = 0
    while index < len(files):
        p = next(ahead, None)
        if isinstance(p, PreparedRun):
            n = len(p.sizes)
            assert p.start == index, "a run out of order"
            chunk = files[index : index + n]
            if not listed and spool.add_run([f.name for f in chunk], p):
                if drawn:
                    for f, size in zip(chunk, p.sizes, strict=True):
                        progress_hooks.item(progress, f.name)
                        progress(size)  # type: ignore[misc]
                elif progress is not None:
                    progress(sum(p.sizes))
                index += n
                continue
            for f, q in zip(chunk, p.expand(), strict=True):
                _read_one(spool, f, q, index, hash_only, settings, progress, stdin_limit)
                index += 1
            continue
        _read_one(spool, files[index], p, index, hash_only, settings, progress, stdin_limit)
        index += 1


def _read_one(
    spool: ItemSpool,
    f: InputFile,
    p: Prepared | Handed | None,
    index: int,
    hash_only: bool,
    settings: AnalyzeSettings,
    progress: Callable[[int], None] | None,
    stdin_limit: int,
) -> None:
    """Add input ``index`` (``f``, which the workers made ``p`` of) and its derived parts to ``spool``."""
    progress_hooks.item(progress, f.name)
    if isinstance(p, Prepared):
        # The member is taken here when the record can be used (its name and member both free).
        listed = not f.expected_sha256 or f.expected_sha256 == p.sha256
        if listed and f.name not in spool.taken and spool.names.take(p.member):
            spool.add_prepared(f, p, index + 1)
            if progress is not None:
                progress(p.size)
            return
        p = None  # not the digest the list gave, or a name taken: redone here, which reports or renames it
    ahead = _read_small(f.path) if p is None else _Read(p.data, p.digests, p.stat)
    name = spool.unique_name(f.name)
    digests, member, head, st, changed = _hash_input(spool, f, name, hash_only, progress, ahead, stdin_limit)
    analysis = p.analysis if p is not None else _analyze(f.path, settings, head, st, ahead, changed)
    kind, media_type, metadata = "file", "application/octet-stream", {}
    if analysis is not None:
        kind, media_type, metadata = analysis.kind, analysis.media_type, dict(analysis.metadata)
        if analysis.warnings:
            metadata["warnings"] = list(analysis.warnings)
            spool.warnings.extend(f"{f.path}: {w}" for w in analysis.warnings)
    item_id = spool.add(name, kind, media_type, digests, metadata, None, member, f.name_raw)
    if analysis is not None:
        spool.add_children(item_id, name, analysis.children, hash_only, member)
