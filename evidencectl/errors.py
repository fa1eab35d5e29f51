"""Exception hierarchy. Each class carries the process exit code the CLI maps it to (DESIGN §7)."""

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


class BadInputError(EvidenceError):
    """An input file is missing, unreadable or malformed."""

    exit_code = ExitCode.BAD_INPUT


class MalformedPackageError(BadInputError):
    """An evidence package is not a well-formed .evp file."""


class MalformedTokenError(BadInputError):
    """A timestamp response or token cannot be parsed."""


class OutputExistsError(UsageError):
    """The output path exists and --force was not given."""


class KeyFileError(BadInputError):
    """A key file cannot be loaded (wrong passphrase, not a key, unsupported curve)."""


class ServiceError(EvidenceError):
    """A TSA or chain node failed during a deposit; the deposit is kept as pending."""

    exit_code = ExitCode.SERVICE


class VerificationError(EvidenceError):
    """A cryptographic check failed (used inside checks; the verifier records it as FAILED)."""

    exit_code = ExitCode.FAILED


class IndeterminateError(EvidenceError):
    """A check cannot be decided here (untrusted root, unreachable node)."""

    exit_code = ExitCode.INDETERMINATE
