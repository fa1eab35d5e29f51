"""Verification of an evidence package: :func:`verify` is the entry, :mod:`.verifier` the checks of the
package and its items, :mod:`.services` those of its timestamps, anchors and signature, :mod:`.parallel`
the forked workers of a large package. The stages load when :func:`verify` is first called."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..checks import VerificationReport
from ..context import Context

if TYPE_CHECKING:
    from ..crypto.trust import TrustStore


def verify(
    package: Path,
    *,
    trust: TrustStore | None = None,
    data: Sequence[Path] = (),
    online: bool = False,
    context: Context | Path | None = None,
) -> VerificationReport:
    """Verify ``package`` and return the report (``verdict``: PASSED, FAILED or INDETERMINATE, and every
    check); never raises for a package that is merely wrong (that is a FAILED report).

    ``trust`` is what the verification trusts; None: the data directory's store and the TSA roots its
    ``config.toml`` names (``context``: that directory; None: the default one). ``data`` are the originals
    of a ``--hash-only`` deposit. With ``online``, chain anchors are re-checked against their nodes.
    Raises MalformedPackageError (exit 4) for a file that is not a package at all.
    """
    from .verifier import verify_package

    if trust is None:
        trust = _default_trust(Context.of(context))
    return verify_package(Path(package), data=list(data), trust=trust, online=online)


def _default_trust(ctx: Context) -> TrustStore:
    """The trust of a verification in ``ctx``: the store and the configured TSA roots."""
    from ..crypto.trust import TrustStore
    from ..timestamp.client import configured_tsa_roots

    return TrustStore.load(ctx.base, configured_tsa_roots(ctx.base))


__all__ = ["VerificationReport", "verify"]
