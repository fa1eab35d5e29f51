"""The statement's private record: what a disclosure may leave out (docs/format.md §3.1, from version 3).

The free-text note is the depositor's own remark (a lawyer's internal comment on the case), not a fact the
other side needs to check the evidence. From format version 3 it is not in the statement: it sits in the
*private record* ``{"kind": "private", "note": …, "salt": <64 hex>}`` at the top of ``manifest.json``, and
the statement seals that record's leaf hash per algorithm (``private_leaf``), computed as a tree leaf is
(RFC 9162: ``H(0x00 || canonical JSON)``). Salted disclosures sealed by their digests are the shape of
SD-JWT (IETF OAuth working group): a disclosure package keeps the statement, so ``private_leaf`` and the statement's
inclusion proof, and drops the record; its 256-bit random salt keeps the note from being guessed from the
hash, and the record exists in every version-3 deposit, note or not, so the hash does not even say
whether there is a note.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import MalformedPackageError
from ..hashing import ALGORITHMS
from ..i18n import _
from ..merkle import leaf_hash
from .canonical import canonical_json
from .manifest import new_salt

PRIVATE = "private"
"""The manifest member (top level) holding the private record; absent from a disclosure package."""
PRIVATE_LEAF = "private_leaf"
"""The statement member sealing the private record's leaf hash per algorithm."""
PRIVATE_FIELDS = ("note",)
"""What the private record holds besides ``kind`` and ``salt``: the fields a disclosure withholds."""
FIRST_PRIVATE_VERSION = 3
"""The first format version with a private record (versions 1 and 2 seal the note in the statement)."""


def new_private_record(note: str | None) -> dict[str, Any]:
    """The private record of a new deposit, with a fresh 256-bit salt (drawn from the OS's CSPRNG)."""
    return {"kind": "private", "note": note, "salt": new_salt()}


def private_leaf(record: dict[str, Any]) -> dict[str, str]:
    """The record's leaf hash per algorithm, hex: what the statement seals as ``private_leaf``."""
    data = canonical_json(record)
    return {alg: leaf_hash(alg, data).hex() for alg in ALGORITHMS}


def has_private_record(manifest: dict[str, Any]) -> bool:
    """True when the format version puts the note in a private record (version 3 on)."""
    version = manifest.get("version")
    return isinstance(version, int) and version >= FIRST_PRIVATE_VERSION


def declared_note(manifest: dict[str, Any]) -> tuple[str | None, bool]:
    """The deposit's note as the package holds it, and whether it is withheld (a version-3 disclosure that
    left the private record out: the note may or may not exist; nobody without the full package can tell).
    Not a verification: :func:`check_private` says whether the note is the one sealed."""
    if not has_private_record(manifest):
        note = (manifest.get("statement") or {}).get("note")
        return (note if isinstance(note, str) else None), False
    record = manifest.get(PRIVATE)
    if not isinstance(record, dict):
        return None, True
    note = record.get("note")
    return (note if isinstance(note, str) else None), False


def check_private(manifest: dict[str, Any]) -> tuple[str, str]:
    """Judge the private record of a (schema-checked) version-3 manifest against the statement's seal:
    ``("ok", "")``, ``("withheld", "")`` (a disclosure without it), ``("mismatch", algorithms)`` or
    ``("missing", "")`` (a complete package must hold every sealed record)."""
    sealed = manifest["statement"][PRIVATE_LEAF]
    record = manifest.get(PRIVATE)
    if record is None:
        return ("withheld", "") if "disclosure" in manifest else ("missing", "")
    got = private_leaf(record)
    wrong = [alg for alg in ALGORITHMS if got[alg] != sealed[alg]]
    return ("mismatch", " and ".join(wrong)) if wrong else ("ok", "")


def private_problem(manifest: Any) -> str | None:
    """What is wrong with where a manifest keeps its note for its version, in words (the schema's own
    message for these rules is "must NOT match a disallowed definition"), or None; any other shape problem
    is left to the schema."""
    if not isinstance(manifest, dict) or not isinstance(manifest.get("statement"), dict):
        return None
    statement, version = manifest["statement"], manifest.get("version")
    if version == FIRST_PRIVATE_VERSION:
        if PRIVATE_LEAF not in statement:
            return "a version-3 statement must seal its private record's leaf hash (statement.private_leaf)"
        if "note" in statement:
            return "a version-3 statement must not hold the note (it belongs in the private record)"
    elif version in (1, 2) and (PRIVATE in manifest or PRIVATE_LEAF in statement):
        return f"a version-{version} manifest has no private record (that is version 3)"
    return None


def schema_refusal(manifest: Any, problem: str, path: Path) -> MalformedPackageError:
    """The one-line refusal of a manifest that does not follow its schema, naming the private record's own
    problem first when it has one (verify and inspect word it alike)."""
    problem = private_problem(manifest) or problem
    return MalformedPackageError(
        _("manifest.json does not follow its schema: {problem}").format(problem=problem), path=path
    )
