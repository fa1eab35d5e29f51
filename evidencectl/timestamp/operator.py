"""Who operates a time service: this installation, another depositor's installation, or a third party.

Every embedded TSA certificate says, from the certificate alone, that it is depositor-operated: it carries
the certificate policy :data:`DEPOSITOR_OPERATED_OID` and the subject ``OU = depositor-operated``, and its
subject names the installation (``ctx.installation_id_path``). Whoever trusts such a certificate can check
the signatures it makes, but the time it attests is the depositor's own clock (docs/security.md).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from asn1crypto import x509

if TYPE_CHECKING:
    from ..context import Context

Operator = Literal["own", "depositor", "third-party", "unknown"]
"""``own``: this installation's embedded service; ``depositor``: an embedded service of another installation
(operated by whoever deposited); ``third-party``: a service that does not declare itself depositor-operated;
``unknown``: the certificate could not be found."""

DEPOSITOR_OPERATED_OID = "2.25.320194560031348805942458356351881795225"
"""Certificate policy (a UUID OID, ITU-T X.667) by which a certificate declares its service depositor-operated."""
DEPOSITOR_OPERATED_UNIT = "depositor-operated"
"""The subject OU of every embedded-service certificate, for people reading the certificate."""
LEGACY_POLICY_OID = "2.25.376007879076535125761060645507812047"
"""The TSTInfo policy every embedded TSA has issued under (before and after certificates declared it)."""
_LEGACY_CN = "evidencectl embedded TSA"


def installation_id(ctx: Context) -> str:
    """This data directory's installation id (32 hex digits), created on first use (two processes agree on
    one)."""
    path = ctx.installation_id_path
    with contextlib.suppress(OSError):
        text = path.read_text(encoding="ascii").strip()
        if len(text) == 32 and all(c in "0123456789abcdef" for c in text):
            return text
    from ..crypto.files import write_new_file
    from ..errors import OutputExistsError

    candidate = uuid.uuid4().hex
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_new_file(path, candidate.encode("ascii") + b"\n", mode=0o644)
    except OutputExistsError:  # another process made it first: theirs counts
        return path.read_text(encoding="ascii").strip()
    return candidate


def declares_depositor_operated(cert: x509.Certificate) -> bool:
    """True when ``cert`` says it belongs to a depositor-operated service (policy OID, or an embedded TSA
    certificate made before the policy existed, recognised by its fixed subject)."""
    try:
        policies = cert.certificate_policies_value
        if policies is not None and any(p["policy_identifier"].dotted == DEPOSITOR_OPERATED_OID for p in policies):
            return True
        subject = cert.subject.native
    except (ValueError, TypeError, KeyError):
        return False
    if not isinstance(subject, dict):
        return False
    if subject.get("organizational_unit_name") == DEPOSITOR_OPERATED_UNIT:
        return True
    return subject.get("organization_name") == "evidencectl" and str(subject.get("common_name", "")).startswith(
        _LEGACY_CN
    )


def own_tsa_certificates(ctx: Context) -> set[bytes]:
    """DER of every TSA certificate this installation's embedded TSA ever used (current and retired chains)."""
    from ..crypto.x509 import load_certificates

    out: set[bytes] = set()
    folder = ctx.tsa_dir
    for chain in [*folder.glob("*/chain.pem"), *folder.glob("*/retired-*/chain.pem")]:
        with contextlib.suppress(OSError, ValueError, Exception):
            out.update(load_certificates(chain.read_bytes()))
    return out


def tsa_operator(
    signer: x509.Certificate | None,
    policy: str | None,
    own_certs: Sequence[bytes] | set[bytes],
    anchor: x509.Certificate | None = None,
) -> Operator:
    """Who operates the TSA that signed a token, judged from its certificate, the trust anchor its path led to
    (a depositor holding an embedded root key can issue a TSA certificate that declares nothing; the root
    still declares) and the token's policy."""
    path = [c for c in (signer, anchor) if c is not None]
    if any(c.dump() in own_certs for c in path):
        return "own"
    if any(declares_depositor_operated(c) for c in path) or policy == LEGACY_POLICY_OID:
        return "depositor"
    if signer is None:
        return "unknown"
    return "third-party"
