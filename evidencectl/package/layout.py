"""The names of a package's members (docs/format.md §"Layout"), in one table.

Writers and readers name members through these constants and helpers, so that a layout change is one
edit here and no literal in another module disagrees with it.
"""

from __future__ import annotations

MIMETYPE = "mimetype"
"""First member, stored: the package's media type."""
MANIFEST = "manifest.json"
"""The statement, the items and the roots (canonical JSON)."""
MANIFEST_SIG = "manifest.sig"
"""The depositor's signature over manifest.json (``--sign``)."""
DEPOSITOR_CERT = "certs/depositor.pem"
"""The signer's certificate."""
CERTS = "certs/"
"""Certificates carried for convenience (never trusted because they are here)."""
TIMESTAMPS = "proofs/timestamps/"
"""RFC 3161 responses, ``<label>.<algorithm>.tsr``, one per TSA and root."""
ANCHORS = "proofs/anchors/"
"""Anchor receipts, ``<label>.json``, one per anchor."""
EVIDENCE = "evidence/"
"""The originals (not for ``--hash-only``)."""
REPORT = "report.pdf"
"""A verification report a court may add."""


def timestamp_member(label: str, algorithm: str) -> str:
    """The member of TSA ``label``'s token over the ``algorithm`` root."""
    return f"{TIMESTAMPS}{label}.{algorithm}.tsr"


def timestamp_label(name: str) -> str | None:
    """``<label>.<algorithm>`` of a timestamp member, None for any other member."""
    if name.startswith(TIMESTAMPS) and name.endswith(".tsr"):
        return name.removeprefix(TIMESTAMPS).removesuffix(".tsr")
    return None


def anchor_member(label: str) -> str:
    """The member of anchor ``label``'s receipt."""
    return f"{ANCHORS}{label}.json"


def anchor_label(name: str) -> str | None:
    """The label of an anchor receipt member, None for any other member."""
    if name.startswith(ANCHORS) and name.endswith(".json"):
        return name.removeprefix(ANCHORS).removesuffix(".json")
    return None


def tsa_chain_member(label: str) -> str:
    """The member of the certificate chain TSA ``label`` presented."""
    return f"{CERTS}tsa-{label}.pem"


def is_certificate(name: str) -> bool:
    """A PEM file under ``certs/``."""
    return name.startswith(CERTS) and name.endswith(".pem")
