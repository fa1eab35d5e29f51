"""What a killed server leaves under the data directory's ``service/``, and when it may be removed.

A worker killed mid-request leaves its upload's spool folder (``uploads/deposit-…``, ``uploads/upload-…``),
the staging file of the package it was writing (``deposits/.NAME.evp.HEX.partial``, ``….partial.resume``)
and a certificate half rendered (``certificates/.cert-…``). Each worker sweeps them when it starts and on
every pass of the resume loop. Never removed is a file that a live worker, in this process or another, on
this machine or another one sharing the registry, may still be writing:

* spool folders and certificate files carry the name of the process that made them (a tag of the machine
  and PID namespace, its process id, a random tag of the process): removed when that process is of this
  machine and namespace and no longer runs (the random tag tells a new process that got a dead one's id
  from it), or, made by a process not of this machine and namespace, after :data:`UNNAMED_GRACE`;
* a staging file is kept while the registry has a pending deposit whose staging file it is (the resume
  loop finishes it), and while a deposit holds the claim ``package:NAME.evp`` in the registry (taken before
  the file exists, released when the deposit ends; a claim of a process of this machine that no longer runs
  counts for nothing); one that nothing claims is removed once untouched for :data:`GRACE` seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
import shutil
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..registry import Registry

log = logging.getLogger("evidencectl.service")
GRACE = 600.0
"""Seconds a staging file that no deposit claims is kept after its last change (a deposit whose claim
lapsed while it still writes, or one of a release without claims)."""
UNNAMED_GRACE = 86400.0
"""Seconds after which a spool folder or temporary certificate not named by a process (made by a release
before leftovers were swept) is removed: longer than any upload or rendering takes."""
DEPOSIT_CLAIM_SECONDS = 3600.0
"""How long a deposit's claim on its package name holds (it is released when the deposit ends)."""

_SELF: list[tuple[int, str]] = []
_NAMED = re.compile(r"^(?:deposit|upload|\.cert)-([0-9a-f]{8})-(\d+)-([0-9a-f]{8})-")


def _host() -> str:
    # The host name alone does not tell machines apart for process ids: two containers with host networking
    # share it, each with a PID namespace of its own (both servers process 1), and one took the other's
    # live work for a dead process's. The namespace (and the boot) is part of the tag, so such a process is
    # one this one cannot see: its work goes by a claim lapsing or by age, never by its process id.
    where = [socket.gethostname()]
    for link in ("/proc/self/ns/pid", "/proc/sys/kernel/random/boot_id"):
        with contextlib.suppress(OSError):
            where.append(os.readlink(link) if link.endswith("pid") else Path(link).read_text().strip())
    return hashlib.sha256("\0".join(where).encode("utf-8", "replace")).hexdigest()[:8]


def _tag() -> str:
    # Per process (and made again in a forked child): a new process given a dead one's id is told apart.
    if not _SELF or _SELF[0][0] != os.getpid():
        _SELF[:] = [(os.getpid(), secrets.token_hex(4))]
    return _SELF[0][1]


def holder() -> str:
    """This process as a claim's holder in the registry: ``HOST:PID:TAG``."""
    return f"{_host()}:{os.getpid()}:{_tag()}"


def prefix(kind: str) -> str:
    """The start of a spool folder's (or temporary file's) name made by this process."""
    return f"{kind}-{_host()}-{os.getpid()}-{_tag()}-"


def _gone(host: str, pid: int, tag: str) -> bool:
    """Whether the process named is known to have ended (only a process of this machine can be known)."""
    if host != _host():
        return False
    if pid == os.getpid():
        return tag != _tag()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _zombie(pid)


def _zombie(pid: int) -> bool:
    # A killed process stays in the process table until its parent reaps it (a supervisor may take its
    # time): it runs no more, so what it was writing is nobody's. Linux only; elsewhere it counts as alive.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] in (["Z"], ["X"])


def holder_gone(name: str) -> bool:
    """Whether the holder ``HOST:PID:TAG`` of a claim is a process of this machine that no longer runs."""
    parts = name.split(":")
    return len(parts) == 3 and parts[1].isdigit() and _gone(parts[0], int(parts[1]), parts[2])


def _made_by_a_gone_process(path: Path) -> bool:
    named = _NAMED.match(path.name)
    if named is None or named.group(1) != _host():
        # A release's before names were not tagged; a process of another machine or PID namespace (a
        # container restarted gets a new one) cannot be seen from here: only their age tells.
        with contextlib.suppress(FileNotFoundError):
            return time.time() - path.stat().st_mtime > UNNAMED_GRACE
        return False
    return _gone(named.group(1), int(named.group(2)), named.group(3))


def sweep(service_dir: Path, registry: Registry) -> list[Path]:
    """Remove what killed workers left under ``service_dir`` (the data directory's ``service/``), asking
    ``registry`` which staging files are pending deposits' and which are claimed; returns what was removed."""
    from ..registry.shared import claims, release

    removed: list[Path] = []
    for folder in _entries(service_dir / "uploads"):
        if folder.is_dir() and _made_by_a_gone_process(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    for file in _entries(service_dir / "certificates"):
        if file.name.startswith(".cert-") and _made_by_a_gone_process(file):
            file.unlink(missing_ok=True)
            removed.append(file)
    staging_files = [f for f in _entries(service_dir / "deposits") if f.name.endswith((".partial", ".partial.resume"))]
    if staging_files:
        pending = {str(Path(r["staging"]).resolve()) for r in registry.deposits("pending") if r.get("staging")}
        held = claims(registry, "package:")
        now = time.time()
        for file in staging_files:
            staging = file.with_name(file.name.removesuffix(".resume")).resolve()
            if str(staging) in pending:
                continue  # a pending deposit's work: resumed (and a stale .resume replaced) by the loop
            key = f"package:{_package_name(staging.name)}"
            who = held.get(key)
            if who is not None and not holder_gone(who):
                continue  # a deposit in progress, here or on another machine
            with contextlib.suppress(FileNotFoundError):
                if who is None and now - file.stat().st_mtime < GRACE:
                    continue
                file.unlink()
                removed.append(file)
            if who is not None:
                release(registry, key, who)
    if removed:
        log.warning("removed %d file(s) left under %s by a server that was killed", len(removed), service_dir)
    return removed


def _package_name(staging: str) -> str:
    # ".NAME.evp.HEX.partial" (package/writer.py) -> "NAME.evp"
    return staging.removeprefix(".").rsplit(".", 2)[0]


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except FileNotFoundError:
        return []
