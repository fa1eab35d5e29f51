"""Every member of a package is covered by the deposit, or the package is refused (docs/format.md §1).

What the ZIP holds beyond what the manifest binds is what a reader of the package sees without any check
behind it: an ``evidence/`` member no item lists, a ``report.pdf`` (deposits embed none, so nothing binds
one: a forged "verification report" could sit there), a ``certs/*.pem`` that holds anything but
certificates. Structural junk is refused (exit 4); a member in the evidence layout that nothing covers is
FAILED with reason NOT_COVERED.
"""

from __future__ import annotations

import re
from collections.abc import Container
from typing import Any

from ..checks import CheckResult, Status, VerificationReport
from ..errors import EvidenceError, MalformedPackageError
from ..i18n import _
from ..package.reader import PackageReader

MAX_CERT_FILE = 1 << 20
_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\r?\n?")


def _check_certificates(reader: PackageReader) -> None:
    """Each ``certs/*.pem`` is one or more PEM certificates and nothing else (no text around them that a
    person opening the file would read, no key, no broken base64)."""
    from ..crypto.x509 import load_certificates

    for name in reader.names():
        if not name.startswith("certs/"):
            continue
        data = reader.read(name, limit=MAX_CERT_FILE)
        if not _PEM_BLOCK.search(data) or _PEM_BLOCK.sub(b"", data).strip():
            raise MalformedPackageError(
                _("{name} is not a file of PEM certificates").format(name=name), path=reader.path
            )
        try:
            load_certificates(data)
        except (EvidenceError, ValueError) as exc:
            detail = exc.diagnostics() if isinstance(exc, EvidenceError) else str(exc)
            raise MalformedPackageError(
                _("{name} holds a certificate that cannot be read: {detail}").format(name=name, detail=detail),
                path=reader.path,
            ) from exc


def item_members(reader: PackageReader, items: list[dict[str, Any]]) -> dict[str, int]:
    """member -> id of the item that lists it; refuses a path listed twice or outside ``evidence/``."""
    listed: dict[str, int] = {}
    for item in items:
        path = item.get("path")
        if not path:
            continue
        if not path.startswith("evidence/"):
            raise MalformedPackageError(
                _("manifest.json: item {id} names member {path!r} outside evidence/").format(id=item["id"], path=path),
                path=reader.path,
            )
        if path in listed:
            raise MalformedPackageError(
                _("manifest.json: items {listed} and {id} both name member {path!r}").format(
                    listed=listed[path], id=item["id"], path=path
                ),
                path=reader.path,
            )
        listed[path] = item["id"]
    return listed


def check_members(
    report: VerificationReport, reader: PackageReader, manifest: dict[str, Any], listed: Container[str] | None = None
) -> None:
    """Add ``package:members``: PASSED when every member is an item's original, a proof checked by the
    timestamp and anchor checks, a certificate, the signature or the manifest; else FAILED (NOT_COVERED).

    ``listed``: the members the items name, when the verifier has already checked (as :func:`item_members`
    does) that no two items name one member and none names one outside ``evidence/``."""
    if listed is None:
        listed = item_members(reader, manifest["items"])
    _check_certificates(reader)
    uncovered = [n for n in reader.names() if (n.startswith("evidence/") and n not in listed) or n == "report.pdf"]
    if uncovered:
        shown = ", ".join(uncovered[:5])
        report.add(
            CheckResult(
                "package:members",
                Status.FAILED,
                f"{len(uncovered)} member(s) not covered by the deposit: {shown}"
                + (" (deposits embed no report.pdf: nothing binds it)" if "report.pdf" in uncovered else ""),
                {"unlisted": uncovered[:100], "members": len(reader.names())},
                reason="NOT_COVERED",
            )
        )
    else:
        report.add(
            CheckResult(
                "package:members",
                Status.PASSED,
                f"all {len(reader.names())} members are covered: originals of listed items, proofs, "
                "certificates, the signature and the manifest",
                {"members": len(reader.names())},
            )
        )
