"""The records a deposit keeps between its stages and across a ``--resume``: failed services, resume state."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ServiceFailure:
    """A TSA or anchor that did not answer."""

    kind: str
    """``tsa`` or ``anchor``."""
    spec: str
    """The spec it was asked as (``local``, a URL, ``evm:RPC-URL``)."""
    error: str
    """What went wrong, one line."""

    def to_json(self) -> dict[str, str]:
        """``{"kind", "spec", "error"}`` (the form of DepositResult.pending and the registry)."""
        return {"kind": self.kind, "spec": self.spec, "error": self.error}

    @classmethod
    def from_json(cls, value: dict[str, str]) -> ServiceFailure:
        """Parse :meth:`to_json`'s form."""
        return cls(value["kind"], value["spec"], value["error"])


@dataclass
class ResumeState:
    """What ``deposit --resume`` needs to finish a pending deposit (the registry's ``pending`` column)."""

    retry: list[ServiceFailure]
    """The services still to be asked."""
    quorum: int
    """How many TSAs must answer in all."""
    tsas_ok: int
    """How many TSAs answered so far."""
    force: bool
    """Replace an existing output when publishing."""
    out: str
    """Where the package is published."""
    labels: set[str] = field(default_factory=set)
    """Member labels already taken (``tsa:local``, ``anchor:evm-host``…)."""
    contract: str | None = None
    """EvidenceRegistry address for ``evm:`` anchors."""

    def to_json(self) -> str:
        """The JSON text stored in the registry."""
        value: dict[str, Any] = {
            "retry": [r.to_json() for r in self.retry],
            "quorum": self.quorum,
            "tsas_ok": self.tsas_ok,
            "force": self.force,
            "out": self.out,
            "labels": sorted(self.labels),
            "contract": self.contract,
        }
        return json.dumps(value, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ResumeState:
        """Parse :meth:`to_json`'s text."""
        value = json.loads(text)
        return cls(
            [ServiceFailure.from_json(r) for r in value["retry"]],
            int(value["quorum"]),
            int(value["tsas_ok"]),
            bool(value["force"]),
            str(value["out"]),
            set(value["labels"]),
            value.get("contract"),
        )
