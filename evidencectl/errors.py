"""Exception hierarchy. Each class carries the process exit code the CLI maps it to (DESIGN §7) and a stable
error ``code`` that scripts read from the error JSON (``schemas/error.schema.json``)."""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path
from typing import ClassVar


class ExitCode(IntEnum):
    """Exit codes shared by every command."""

    OK = 0
    FAILED = 1
    USAGE = 2
    INDETERMINATE = 3
    BAD_INPUT = 4
    SERVICE = 5
    INTERRUPTED = 130


class EvidenceError(Exception):
    """Base class of every error evidencectl raises on purpose."""

    exit_code: ClassVar[ExitCode] = ExitCode.FAILED
    code: ClassVar[str] = "FAILED"
    """Stable machine name of the error, kept across versions (the message may change)."""

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        self.path = None if path is None else str(path)
        super().__init__(message)

    def diagnostics(self) -> str:
        """One line for the user: the file concerned (if any) and what is wrong."""
        msg = str(self)
        return f"{self.path}: {msg}" if self.path else msg


class UsageError(EvidenceError):
    """The command line asks for something inconsistent."""

    exit_code = ExitCode.USAGE
    code = "USAGE"


class BadInputError(EvidenceError):
    """An input file is missing, unreadable or malformed."""

    exit_code = ExitCode.BAD_INPUT
    code = "BAD_INPUT"


class MalformedPackageError(BadInputError):
    """An evidence package is not a well-formed .evp file."""

    code = "MALFORMED_PACKAGE"


class MalformedTokenError(BadInputError):
    """A timestamp response or token cannot be parsed."""

    code = "MALFORMED_TOKEN"


class OutputExistsError(UsageError):
    """The output path exists and --force was not given."""

    code = "OUTPUT_EXISTS"


class KeyFileError(BadInputError):
    """A key file cannot be loaded (wrong passphrase, not a key, unsupported curve)."""

    code = "KEY_FILE"


class NotFoundError(BadInputError):
    """What was named (a deposit id, an item, a key) does not exist."""

    code = "NOT_FOUND"


class DataNotFoundError(BadInputError):
    """A ``--data`` original (file or folder) given to verify or report does not exist."""

    code = "DATA_NOT_FOUND"


class MissingDependencyError(BadInputError):
    """An optional part of evidencectl is not installed (web3 for EVM chains, an external tool)."""

    code = "MISSING_DEPENDENCY"


class ServiceError(EvidenceError):
    """A TSA or chain node failed during a deposit; the deposit is kept as pending."""

    exit_code = ExitCode.SERVICE
    code = "SERVICE"


class VerificationError(EvidenceError):
    """A cryptographic check failed (used inside checks; the verifier records it as FAILED)."""

    exit_code = ExitCode.FAILED
    code = "VERIFICATION_FAILED"


class IndeterminateError(EvidenceError):
    """A check cannot be decided here (untrusted root, unreachable node)."""

    exit_code = ExitCode.INDETERMINATE
    code = "INDETERMINATE"


ERROR_CODES = (
    "FAILED",
    "VERIFICATION_FAILED",
    "USAGE",
    "OUTPUT_EXISTS",
    "INDETERMINATE",
    "BAD_INPUT",
    "MALFORMED_PACKAGE",
    "MALFORMED_TOKEN",
    "KEY_FILE",
    "NOT_FOUND",
    "DATA_NOT_FOUND",
    "MISSING_DEPENDENCY",
    "SERVICE",
    "INTERRUPTED",
    "UNEXPECTED",
)
"""Every ``code`` the error JSON may carry: the classes' codes, INTERRUPTED (Ctrl-C) and UNEXPECTED (a bug)."""
