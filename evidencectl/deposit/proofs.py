"""Stage: proofs. Timestamp every root with every TSA, anchor the roots; what failed is kept, not raised."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..context import Context
from ..errors import ServiceError
from ..hashing import ALGORITHMS
from ..package.canonical import canonical_json
from ..package.layout import anchor_member, timestamp_member, tsa_chain_member
from ..package.writer import PackageWriter
from ..progress import ByteCallback, phase
from .state import ServiceFailure
from .warmup import anchor_key, tsa_key


@dataclass
class Proofs:
    """What :func:`obtain_proofs` stored in the package and what it could not get."""

    timestamps: list[str] = field(default_factory=list)
    """Package members of the timestamp responses obtained."""
    anchors: list[str] = field(default_factory=list)
    """Package members of the anchor receipts obtained."""
    failed: list[ServiceFailure] = field(default_factory=list)
    """The services that did not answer."""
    tsas_answered: int = 0
    """How many of the TSAs asked answered."""


def label_for(spec: str, used: set[str], kind: str = "tsa") -> str:
    """A short file-name-safe label for a TSA or anchor spec (``local``, ``tsa.example.com``…)."""
    if spec == "local":
        base = "local"
    else:
        m = re.match(r"^(?:evm:)?[a-z]+://([^/:@]+@)?([^/:]+)", spec)
        base = re.sub(r"[^A-Za-z0-9.-]", "_", m.group(2) if m else spec)[:40] or "service"
        if spec.startswith("evm:"):
            base = "evm-" + base
    label, n = base, 2
    while f"{kind}:{label}" in used:
        label, n = f"{base}-{n}", n + 1
    used.add(f"{kind}:{label}")
    return label


def obtain_proofs(
    writer: PackageWriter,
    ctx: Context,
    deposit_id: str,
    roots: dict[str, str],
    tsas: Iterable[str],
    anchors: Iterable[str],
    labels: set[str],
    contract: str | None = None,
    *,
    progress: ByteCallback | None = None,
    opened: Mapping[str, Any] | None = None,
) -> Proofs:
    """Ask every TSA for a token over each root and every anchor for a receipt, and store them in ``writer``
    under labels not yet in ``labels`` (which records the labels taken); ``progress`` hears "anchoring"
    when the anchors' turn comes. ``opened`` holds the services already opened, by
    :func:`~.warmup.tsa_key` and :func:`~.warmup.anchor_key` of their spec (those warmed up)."""
    from ..anchor.backends import anchor_from_spec
    from ..timestamp.client import tsa_from_spec

    got = Proofs()
    for spec in tsas:
        label = label_for(spec, labels)
        try:
            tsa = (opened or {}).get(tsa_key(spec)) or tsa_from_spec(spec, ctx)
            accepted = getattr(tsa, "hashes", None) or ALGORITHMS  # public TSAs take no sm3 imprint
            responses = {alg: tsa.timestamp(bytes.fromhex(roots[alg]), alg) for alg in ALGORITHMS if alg in accepted}
        except ServiceError as exc:
            labels.discard(f"tsa:{label}")
            got.failed.append(ServiceFailure("tsa", spec, str(exc)))
            continue
        got.tsas_answered += 1
        for alg, der in responses.items():
            name = timestamp_member(label, alg)
            writer.add_bytes(name, der)
            got.timestamps.append(name)
        chain = getattr(tsa, "chain_pem", None)
        if callable(chain):
            writer.add_bytes(tsa_chain_member(label), chain())
    anchors = list(anchors)
    if anchors:
        phase(progress, "anchoring")
    for spec in anchors:
        label = label_for(spec, labels, "anchor")
        try:
            anchor = (opened or {}).get(anchor_key(spec)) or anchor_from_spec(spec, ctx, contract=contract)
            receipt = anchor.anchor(deposit_id, dict(roots))
        except ServiceError as exc:
            labels.discard(f"anchor:{label}")
            got.failed.append(ServiceFailure("anchor", spec, str(exc)))
            continue
        name = anchor_member(label)
        writer.add_bytes(name, canonical_json(receipt))
        got.anchors.append(name)
    return got
