"""Verification of an evidence package: :func:`verify` is the entry, :mod:`.verifier` the checks of the
package and its items, :mod:`.services` those of its timestamps, anchors and signature, :mod:`.parallel`
the forked workers of a large package. The stages load when :func:`verify` is first called."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..checks import VerificationReport
from ..context import Context

if TYPE_CHECKING:
    from ..crypto.trust import TrustStore
    from ..pathargs import PathArg
    from ..progress import ByteCallback


def verify(
    package: PathArg,
    *,
    trust: TrustStore | None = None,
    data: PathArg | Sequence[PathArg] = (),
    online: bool = False,
    context: Context | Path | None = None,
    require_independent: bool | None = None,
    progress: ByteCallback | None = None,
) -> VerificationReport:
    """Verify ``package`` and return the report (``verdict``: PASSED, FAILED or INDETERMINATE, and every
    check); never raises for a package that is merely wrong (that is a FAILED report).

    ``trust`` is what the verification trusts; None: the data directory's store and the TSA roots its
    ``config.toml`` names (``context``: that directory; None: the default one). ``data`` are the originals
    of a ``--hash-only`` deposit (files or folders); ``package`` and ``data`` may be ``str`` or any
    ``os.PathLike``. With ``online``, chain anchors are re-checked against their nodes.
    ``require_independent``: time resting only on depositor-operated services is INDETERMINATE (None: as
    ``[verify] require_independent`` of ``config.toml`` says). ``progress`` follows the bytes read
    (:mod:`evidencectl.progress`). Raises MalformedPackageError (exit 4) for a file that is not a package.
    """
    from ..config import require_independent_default
    from ..pathargs import as_path, as_paths
    from .verifier import verify_package

    ctx = Context.of(context)
    if trust is None:
        from ..crypto.trust import TrustStore

        trust = TrustStore.for_verification(ctx)
    if require_independent is None:
        require_independent = require_independent_default(ctx.config)
    return verify_package(
        as_path(package),
        data=as_paths(data),
        trust=trust,
        online=online,
        require_independent=require_independent,
        progress=progress,
    )


def attested_time(package: Path, trust: TrustStore, known: dict[str, Any] | None = None) -> VerificationReport:
    """A report holding only the timestamp and anchor checks of ``package``: its proven time, without
    verifying the evidence (``inspect`` and ``cases`` show it). ``known``: the deposit id and roots from the
    registry, so that a large package's manifest need not be read."""
    from .attested import attested_time as checks_of_time

    return checks_of_time(package, trust, known)


__all__ = ["VerificationReport", "attested_time", "verify"]


def write_json(report: VerificationReport, out: Any) -> None:
    """Write the ``verify --json`` document of ``report`` to ``out`` (a text stream) and a newline: the
    characters of ``json.dumps(report.to_json(), ensure_ascii=False, indent=2)``, written check by check
    (``verify/compact.py``) so a large verification's document is never whole in memory."""
    from .compact import write_json as write

    write(report, out)
