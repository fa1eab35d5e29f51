"""evidencectl: judicial e-evidence depositing (司法存证) with SM3/SHA-256, RFC 3161 and ledger anchors.

The public library face (docs/library.md)::

    from evidencectl import Context, DepositOptions, TrustStore, deposit, resume, verify

Everything else is internal: modules may move between releases. The command line uses this face too.
"""

from .version import __version__  # noqa: I001 - first: the modules below may read it

from .checks import CheckResult, Status, VerificationReport
from .context import Context
from .crypto.trust import TrustStore
from .deposit import (
    DepositOptions,
    DepositResult,
    ServiceOptions,
    SourceOptions,
    StatementOptions,
    deposit,
    resume,
)
from .errors import EvidenceError, ExitCode
from .verify import verify

__all__ = [
    "CheckResult",
    "Context",
    "DepositOptions",
    "DepositResult",
    "EvidenceError",
    "ExitCode",
    "ServiceOptions",
    "SourceOptions",
    "Status",
    "StatementOptions",
    "TrustStore",
    "VerificationReport",
    "__version__",
    "deposit",
    "resume",
    "verify",
]
