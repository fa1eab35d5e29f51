"""Optional parts of evidencectl (pip extras): the one-line error that names the extra to install when a
command needs a module that is not there."""

from __future__ import annotations

from ..errors import MissingDependencyError
from ..i18n import _

# Optional dependencies, by the top-level module a missing one raises, and the extra that installs them.
_EXTRAS = {"web3": "chain", "eth_account": "chain", "eth_abi": "chain", "eth_utils": "chain", "hexbytes": "chain"}


def missing_dependency(exc: ModuleNotFoundError) -> MissingDependencyError | None:
    """The one-line error for an optional dependency that is not installed (None: not an optional one)."""
    top = (exc.name or "").split(".")[0]
    extra = _EXTRAS.get(top)
    if extra is None:
        return None
    return MissingDependencyError(
        _(
            "EVM chains need the optional module {top}, which is not installed: pip install 'evidencectl[{extra}]'"
        ).format(top=top, extra=extra)
    )


def require_chain_support() -> None:
    """Refuse, before any work, a command that will need web3 when it is not installed."""
    try:
        import web3  # noqa: F401
    except ModuleNotFoundError as exc:
        missing = missing_dependency(exc)
        if missing is None:
            raise
        raise missing from exc
