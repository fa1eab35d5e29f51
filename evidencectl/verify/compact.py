"""What a verification of many items keeps of them: the manifest's bytes, and one small object per passed check.

A manifest of 200,000 items is 114 MB of JSON and about 540 MB of parsed dicts; 200,000 passed digest checks,
each with its facts, sentence and command line, were another 170 MB, and the ``--json`` document of them
another 400 MB. A verification by :mod:`.stream` keeps instead the bytes of ``manifest.json`` (which the
signature check reads anyway) and where each item record starts, and parses a record again only when
something asks for it (a report's item list, the facts of a check being printed). A passed digest check is
a :class:`PassedDigest`: its name and where its record is; its sentence, facts and command line are made
by the same function that makes them for the plain path, when they are read.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any, overload

from ..checks import CheckResult, Status, VerificationReport

BLOCK = 4096
"""Records parsed at a time when the records are walked in order."""


def member_reproduce(member: str) -> str:
    """How to redo the digest check of a package member with standard tools."""
    return f"unzip -p PACKAGE '{member}' | openssl dgst -sm3 ; unzip -p PACKAGE '{member}' | sha256sum"


def passed_digest(name: str, source: str, size: int, sm3: str, sha256: str, reproduce: str | None) -> CheckResult:
    """The PASSED ``digest:NAME`` check: both digests of ``source`` are the deposit's."""
    facts = {"item": name, "source": source, "size": size, "sm3": sm3, "sha256": sha256}
    detail = f"SM3 and SHA-256 of {source} match the deposit"
    return CheckResult(f"digest:{name}", Status.PASSED, detail, facts, reproduce)


class ItemRecords(Sequence[dict[str, Any]]):
    """The item records of a canonical ``manifest.json``, parsed from its bytes each time one is read.

    ``starts[i]`` is where record ``i`` starts in ``raw``; one more offset, one past the end of the items
    array's text, closes the last record (a record ends one byte, the comma, before the next one starts).
    The records were checked (schema, canonical form) when the verification read them.
    """

    __slots__ = ("_raw", "_starts")

    def __init__(self, raw: bytes, starts: array[int]) -> None:
        self._raw = raw
        self._starts = starts

    def __len__(self) -> int:
        return len(self._starts) - 1

    def span(self, index: int) -> bytes:
        """The stored bytes of record ``index`` (its leaf bytes)."""
        return self._raw[self._starts[index] : self._starts[index + 1] - 1]

    def joined(self, start: int, stop: int) -> bytes:
        """The stored bytes of records ``start`` … ``stop - 1`` (at least one) as one JSON array."""
        return b"[" + self._raw[self._starts[start] : self._starts[stop] - 1] + b"]"

    def block(self, start: int, stop: int) -> list[dict[str, Any]]:
        """Records ``start`` … ``stop - 1``, parsed in one go."""
        if start >= stop:
            return []
        value: list[dict[str, Any]] = json.loads(self.joined(start, stop))
        return value

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            return self.block(start, stop)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("item record index out of range")
        value: dict[str, Any] = json.loads(self.span(index))
        return value

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for start in range(0, len(self), BLOCK):
            yield from self.block(start, min(start + BLOCK, len(self)))


class PassedDigest(CheckResult):
    """A PASSED digest check of a package member, kept as its name and the index of its item record.

    It reads as the :class:`CheckResult` the plain path makes (:func:`passed_digest`), field for field;
    ``status`` and ``check`` cost nothing, the other fields parse the record when read."""

    # ``check`` and ``status`` are slots (read at C speed: the verdict, the counts and the proven time walk
    # every check several times), the other fields properties.
    __slots__ = ("check", "status", "_records", "_index")
    _records: ItemRecords
    _index: int

    def __init__(self, check: str, records: ItemRecords, index: int) -> None:  # noqa: D107
        object.__setattr__(self, "check", check)
        object.__setattr__(self, "status", Status.PASSED)
        object.__setattr__(self, "_records", records)
        object.__setattr__(self, "_index", index)

    def full(self) -> CheckResult:
        """The same check as a plain :class:`CheckResult`."""
        item = self._records[self._index]
        member = item["path"]
        digests = item["digests"]
        return passed_digest(
            item["name"],
            f"package member {member}",
            item["size"],
            digests["sm3"],
            digests["sha256"],
            member_reproduce(member),
        )

    @property  # type: ignore[override]
    def detail(self) -> str:
        return self.full().detail

    @property  # type: ignore[override]
    def facts(self) -> dict[str, Any]:
        return self.full().facts

    @property  # type: ignore[override]
    def reproduce(self) -> str | None:
        return self.full().reproduce

    @property  # type: ignore[override]
    def reason(self) -> str | None:
        return None

    def to_json(self) -> dict[str, Any]:
        """JSON form, as :meth:`CheckResult.to_json`."""
        return self.full().to_json()

    def json_text(self) -> str:
        """``json.dumps(self.to_json(), ensure_ascii=False, indent=2)``, written directly (a third of the time
        of the general encoder, which is pure Python once it indents)."""
        full = self.full()
        f, q = full.facts, _quote
        return (
            f'{{\n  "check": {q(full.check)},\n  "status": "PASSED",\n  "detail": {q(full.detail)},\n  "facts": {{\n'
            f'    "item": {q(f["item"])},\n    "source": {q(f["source"])},\n    "size": {int.__repr__(f["size"])},\n'
            f'    "sm3": {q(f["sm3"])},\n    "sha256": {q(f["sha256"])}\n  }},\n'
            f'  "reproduce": {q(str(full.reproduce))}\n}}'
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PassedDigest):
            other = other.full()
        return self.full() == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self.full())

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled (or copied) as the plain check: never with the manifest's bytes behind it.
        full = self.full()
        return (CheckResult, (full.check, full.status, full.detail, full.facts, full.reproduce, full.reason))


_quote: Callable[[str], str] = json.encoder.encode_basestring  # type: ignore[attr-defined]
"""A JSON string as ``json.dumps(..., ensure_ascii=False)`` writes it."""
_PLACE = "\x00checks\x00"
_FLUSH = 2048


def write_json(report: VerificationReport, out: IO[str]) -> None:
    """Write ``json.dumps(report.to_json(), ensure_ascii=False, indent=2)`` and a newline to ``out``, the
    same characters, without building the document of every check at once (for 200,000 checks that
    document and its text were 400 MB)."""
    text = json.dumps(report.json_form(_PLACE), ensure_ascii=False, indent=2)
    # Keys sit at the start of a line and no JSON string holds a raw line break: this spot is unique.
    marker = '\n  "checks": ' + json.dumps(_PLACE)
    head, tail = text.split(marker, 1)
    out.write(head + '\n  "checks": ')
    if not report.checks:
        out.write("[]")
    else:
        encoder = json.JSONEncoder(ensure_ascii=False, indent=2)
        pending = ["["]
        for n, check in enumerate(report.checks):
            # A check inside the list inside the document is indented by two levels (4 spaces).
            own = check.json_text() if isinstance(check, PassedDigest) else encoder.encode(check.to_json())
            text = own.replace("\n", "\n    ")
            pending.append(("\n    " if n == 0 else ",\n    ") + text)
            if len(pending) >= _FLUSH:
                out.write("".join(pending))
                pending.clear()
        pending.append("\n  ]")
        out.write("".join(pending))
    out.write(tail + "\n")
