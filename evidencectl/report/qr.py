"""The QR code of a deposit certificate: a small, line-based payload (documented in docs/reports.md).

```
EVIDENCECTL-DEPOSIT/1
id=<deposit number>
manifest-sm3=<SM3 of manifest.json>
sm3=<SM3 Merkle root>
sha256=<SHA-256 Merkle root>
anchor=<type>;<ledger or chain id>;<block height>;<block hash>[;<tx hash>]
```
Lines end with ``\\n``; the ``anchor`` line is absent when the package holds no anchor receipt.
With ``[report] verify_url`` configured, the code carries that link instead (:func:`verify_link`).
"""

from __future__ import annotations

from typing import Any

from ..errors import BadInputError
from ..i18n import _
from .facts import anchor_coordinates

HEADER = "EVIDENCECTL-DEPOSIT/1"


def qr_payload(manifest: dict[str, Any], manifest_sm3: str, anchors: list[dict[str, Any]]) -> str:
    """The payload text for a deposit (``anchors`` are receipts; the first one is encoded)."""
    roots = manifest.get("roots", {})
    lines = [
        HEADER,
        f"id={manifest.get('deposit_id', '')}",
        f"manifest-sm3={manifest_sm3}",
        f"sm3={roots.get('sm3', '')}",
        f"sha256={roots.get('sha256', '')}",
    ]
    if anchors:
        c = anchor_coordinates(anchors[0])
        parts = [c["type"], c["chain"], c["height"], c["block_hash"]]
        if c["tx_hash"]:
            parts.append(c["tx_hash"])
        lines.append("anchor=" + ";".join("" if p is None else str(p) for p in parts))
    return "\n".join(lines)


def parse_payload(text: str) -> dict[str, str]:
    """Read a payload back into its fields (for checkers and tests); raises ValueError when not one."""
    lines = text.split("\n")
    if not lines or lines[0] != HEADER:
        raise ValueError("not an evidencectl deposit QR payload")
    return dict(line.split("=", 1) for line in lines[1:] if "=" in line)


def qr_matrix(payload: str) -> list[list[bool]]:
    """Module matrix of the QR code (True = dark), without the quiet zone."""
    import segno

    code = segno.make(payload, error="m", micro=False)
    return [[bool(v) for v in row] for row in code.matrix]


def qr_svg(payload: str) -> str:
    """The QR code as an inline SVG element (no XML declaration), for HTML reports.

    Only a viewBox, no width or height: the page sizes the code (CSS) and it scales whole; a fixed
    340 × 340 drawing squeezed into a smaller box without a viewBox showed only its corner."""
    import io

    import segno

    buf = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(
        buf, kind="svg", scale=1, border=4, xmldecl=False, svgns=True, title=None, desc=None, omitsize=True
    )
    return buf.getvalue().decode("utf-8")


URL_FIELDS = ("deposit_id", "manifest_sm3")
"""The fields a ``verify_url`` template may name."""


def verify_link(template: str, deposit_id: str, manifest_sm3: str) -> str:
    """``[report] verify_url`` filled in, e.g. ``https://host/v/{deposit_id}?m={manifest_sm3}``; raises
    BadInputError for a template that is not an http(s) URL or names another field."""
    import string
    from urllib.parse import quote

    if not template.startswith(("https://", "http://")):
        raise BadInputError(
            _("[report] verify_url must start with https:// or http://: {template!r}").format(template=template)
        )
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as exc:
        raise BadInputError(_("[report] verify_url is not a valid template: {exc}").format(exc=exc)) from exc
    unknown = names - set(URL_FIELDS)
    if unknown:
        raise BadInputError(
            _("[report] verify_url names {join}: use {{deposit_id}} and {{manifest_sm3}}").format(
                join=", ".join(sorted(unknown))
            )
        )
    return template.format(deposit_id=quote(deposit_id, safe=""), manifest_sm3=manifest_sm3)
