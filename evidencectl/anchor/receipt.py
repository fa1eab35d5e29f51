"""What every anchor receipt shares: its version, the checks of its fields, the roots it may carry."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..checks import CheckResult, Status
from ..errors import UsageError
from ..hashing import ALGORITHMS
from ..i18n import _

RECEIPT_VERSION = 1
"""Version of the receipt layout, the same for every kind of receipt."""

_HEX64 = re.compile(r"[0-9a-f]{64}")


def check_roots(roots: Mapping[str, str]) -> dict[str, str]:
    """A clean copy of ``roots``: known algorithms, 32-byte lower-case hex; UsageError otherwise."""
    if not isinstance(roots, Mapping) or not roots:
        raise UsageError(_("anchor roots must be a non-empty mapping of algorithm to hex digest"))
    clean: dict[str, str] = {}
    for alg, value in roots.items():
        if alg not in ALGORITHMS:
            raise UsageError(_("anchor roots: unknown algorithm {alg!r}").format(alg=alg))
        if not isinstance(value, str) or not _HEX64.fullmatch(value):
            raise UsageError(_("anchor roots: {alg} root is not 64 lower-case hex digits").format(alg=alg))
        clean[alg] = value
    return dict(sorted(clean.items()))


class MalformedReceipt(Exception):
    """A receipt field is missing or of the wrong kind (a FAILED check, never a crash)."""


def need(mapping: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str = "receipt") -> Any:
    """``mapping[key]`` when it exists and is of ``kind``; raises MalformedReceipt otherwise."""
    if not isinstance(mapping, Mapping) or key not in mapping:
        raise MalformedReceipt(f"{where} has no {key!r}")
    value = mapping[key]
    # bool is an int in Python; a height of ``true`` is still malformed.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise MalformedReceipt(f"{where}.{key} has the wrong type")
    return value


def exact_keys(mapping: Mapping[str, Any], keys: frozenset[str], where: str = "receipt") -> None:
    """Raise MalformedReceipt unless ``mapping`` has exactly ``keys``.

    Every field of a receipt is either bound by the signature or proof it carries or checked for
    consistency with them; a field nobody checks could be changed freely, so an unknown one is refused.
    """
    if not isinstance(mapping, Mapping):
        raise MalformedReceipt(f"{where} is not an object")
    unknown, missing = sorted(set(mapping) - keys), sorted(keys - set(mapping))
    if unknown:
        raise MalformedReceipt(f"{where} has unknown field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
    if missing:
        raise MalformedReceipt(f"{where} lacks {', '.join(missing)}")


def failed(
    check: str,
    detail: str,
    facts: dict[str, Any] | None = None,
    reproduce: str | None = None,
    reason: str | None = None,
) -> CheckResult:
    """A FAILED check result (``reason``: its machine reason, e.g. ``FORMAT``)."""
    return CheckResult(check, Status.FAILED, detail, facts or {}, reproduce, reason=reason)
