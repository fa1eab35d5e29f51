"""The web-capture section of a report: what page was recorded, from where, over which certificate.

Facts come from the package's own items (``capture/environment.json``, ``capture/tls-chain.pem``,
``capture/screenshot.png``); the certificate chain is parsed from the PEM the server presented rather
than taken from the environment record's summary of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import MalformedPackageError
from ..package.reader import PackageReader
from .labels import labels
from .metadata import MAX_VALUE
from .model import Block, Cell, Code, Fields, Heading, Paragraph, Picture, t
from .thumbnail import Thumbnail, make_thumbnail

ENVIRONMENT = "capture/environment.json"
"""Item whose presence makes a package a web capture."""
CHAIN = "capture/tls-chain.pem"
"""Item holding the certificates the server presented, leaf first."""
SCREENSHOT = "capture/screenshot.png"
"""Item holding the full-page screenshot."""
MAX_CHAIN_BYTES = 1 << 20
"""Largest PEM chain read (a real chain is a few kilobytes)."""


@dataclass(frozen=True)
class ServerCertificate:
    """One certificate of the chain the server presented."""

    subject: str
    """Subject, RFC 4514."""
    issuer: str
    """Issuer, RFC 4514."""
    sha256: str
    """SHA-256 fingerprint of the DER certificate, lower-case hex."""
    not_before: str
    """Start of validity, UTC."""
    not_after: str
    """End of validity, UTC."""
    names: list[str]
    """DNS names and IP addresses of the subjectAltName extension."""


@dataclass
class CaptureFacts:
    """What a report says about a web capture."""

    environment: dict[str, Any]
    """The environment record (empty when it is not in the package, e.g. hash-only)."""
    items: dict[str, dict[str, Any]]
    """Manifest items of the capture by name (digests, sizes, package paths)."""
    certificates: list[ServerCertificate] = field(default_factory=list)
    """The server's chain, leaf first; empty for plain HTTP."""
    chain_problem: str | None = None
    """Why the chain could not be read, when it could not."""
    thumbnail: Thumbnail | None = None
    """The screenshot, reduced."""
    thumbnail_problem: str | None = None
    """Why no thumbnail is shown, when none is."""


def _clip(value: object) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _chain(pem: bytes) -> list[ServerCertificate]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    out = []
    for cert in x509.load_pem_x509_certificates(pem):
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = [str(n.value) for n in san if isinstance(n, (x509.DNSName, x509.IPAddress))]
        except x509.ExtensionNotFound:
            names = []
        out.append(
            ServerCertificate(
                subject=cert.subject.rfc4514_string(),
                issuer=cert.issuer.rfc4514_string(),
                sha256=cert.fingerprint(hashes.SHA256()).hex(),
                not_before=cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
                not_after=cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
                names=names,
            )
        )
    return out


def read_capture(reader: PackageReader, manifest: dict[str, Any]) -> CaptureFacts | None:
    """The capture facts of an opened package, or None when it is not a web capture.

    An unreadable chain or screenshot does not stop the report: the digests are verified elsewhere, and
    the section says what could not be shown.
    """
    items = {
        str(i["name"]): i
        for i in manifest.get("items", [])
        if isinstance(i, dict) and str(i.get("name", "")).startswith("capture/")
    }
    env_item = items.get(ENVIRONMENT)
    if env_item is None:
        return None
    facts = CaptureFacts({}, items)
    if env_item.get("path"):
        record = reader.read_json(str(env_item["path"]))
        facts.environment = record if isinstance(record, dict) else {}
    chain = items.get(CHAIN)
    if chain is not None and chain.get("path"):
        try:
            facts.certificates = _chain(reader.read(str(chain["path"]), limit=MAX_CHAIN_BYTES))
        except (ValueError, MalformedPackageError) as exc:
            facts.chain_problem = _clip(f"{CHAIN} cannot be read: {exc}")
    shot = items.get(SCREENSHOT)
    if shot is None or not shot.get("path"):
        facts.thumbnail_problem = f"{SCREENSHOT} is not in the package"
    else:
        try:
            from .thumbnail import MAX_SOURCE_BYTES

            facts.thumbnail = make_thumbnail(reader.read(str(shot["path"]), limit=MAX_SOURCE_BYTES))
        except (ValueError, MalformedPackageError) as exc:
            facts.thumbnail_problem = _clip(exc)
    return facts


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _addresses(env: dict[str, Any]) -> Cell:
    cell = [
        t(f"{host}: {', '.join(map(str, ips)) if isinstance(ips, list) else ips}", mono=True)
        for host, ips in _dict(env.get("addresses")).items()
    ]
    return cell or [t("—")]


def summary_fields(facts: CaptureFacts, L: dict[str, str]) -> Fields:
    """URL, final URL, server addresses, leaf certificate and times: the lines a court asks for first."""
    cap = _dict(facts.environment.get("capture"))
    rows: list[tuple[str, Cell]] = [
        (L["cap_url"], [t(_clip(cap.get("url") or "—"), mono=True)]),
        (L["cap_final"], [t(_clip(cap.get("final_url") or "—"), mono=True)]),
        (L["cap_status"], [t(_clip(cap.get("status") or "—"), mono=True)]),
        (L["cap_ips"], _addresses(facts.environment)),
        (L["cap_time"], [t(f"{_clip(cap.get('start') or '—')} — {_clip(cap.get('end') or '—')}", mono=True)]),
    ]
    if facts.certificates:
        leaf = facts.certificates[0]
        rows.append((L["cap_leaf"], [t(leaf.subject, mono=True), t(leaf.sha256, mono=True)]))
    complete = cap.get("complete")
    notes = [t(_clip(n)) for n in facts.environment.get("notes") or [] if isinstance(n, str)]
    rows.append((L["cap_complete"], [t(L["yes"] if complete is True else L["no"], bold=complete is not True), *notes]))
    return Fields(rows)


def _tls(facts: CaptureFacts, L: dict[str, str]) -> list[Block]:
    blocks: list[Block] = [Heading(L["cap_tls"])]
    tls = _dict(facts.environment.get("tls"))
    if tls:
        verdict = L["yes"] if tls.get("verified") is True else f"{L['no']} ({_clip(tls.get('error') or '?')})"
        proto = " · ".join(_clip(tls[k]) for k in ("protocol", "cipher") if tls.get(k))
        blocks.append(Fields([(L["cap_tls_trusted"], [t(verdict)]), (L["cap_tls_session"], [t(proto or "—")])]))
    if facts.chain_problem:
        blocks.append(Paragraph([t(facts.chain_problem, bold=True)]))
    elif not facts.certificates:
        blocks.append(Paragraph([t(L["cap_tls_none"])]))
    for n, cert in enumerate(facts.certificates):
        rows: list[tuple[str, Cell]] = [
            (f"{L['cert_subject']} [{n}]", [t(cert.subject, mono=True)]),
            (L["cert_issuer"], [t(cert.issuer, mono=True)]),
            (L["cert_validity"], [t(f"{cert.not_before} — {cert.not_after}", mono=True)]),
        ]
        if cert.names:
            rows.append((L["cert_names"], [t(_clip(", ".join(cert.names)), mono=True)]))
        rows.append((L["cert_fp"], [t(cert.sha256, mono=True)]))
        blocks.append(Fields(rows))
    return blocks


def _screenshot(facts: CaptureFacts, L: dict[str, str]) -> list[Block]:
    blocks: list[Block] = [Heading(L["cap_screenshot"])]
    thumb, item = facts.thumbnail, facts.items.get(SCREENSHOT, {})
    if thumb is None:
        return [*blocks, Paragraph([t(L["cap_no_thumb"].format(reason=facts.thumbnail_problem or "?"))])]
    caption = L["cap_thumb"].format(
        name=SCREENSHOT, w=thumb.source_width, h=thumb.source_height, sha=item.get("digests", {}).get("sha256", "?")
    )
    if thumb.cropped:
        caption += L["cap_thumb_top"].format(shown=thumb.shown_height)
    return [*blocks, Picture(thumb.png, thumb.width, thumb.height, caption)]


def _environment(facts: CaptureFacts, L: dict[str, str]) -> list[Block]:
    env = facts.environment
    browser, tool, system = _dict(env.get("browser")), _dict(env.get("tool")), _dict(env.get("os"))
    clock = _dict(env.get("clock"))
    item = facts.items[ENVIRONMENT]
    rows: list[tuple[str, Cell]] = [
        (L["env_browser"], [t(_clip(f"{browser.get('version', '?')} · {browser.get('executable', '?')}"))]),
        (L["env_ua"], [t(_clip(browser.get("user_agent") or "—"))]),
        (L["env_flags"], [t(_clip(" ".join(map(str, browser.get("flags") or []))) or "—", mono=True)]),
        (L["env_tools"], [t(_clip(", ".join(f"{k} {v}" for k, v in tool.items() if k != "name" and v)))]),
        (L["env_os"], [t(_clip(" · ".join(str(system[k]) for k in system if system[k])) or "—")]),
        (L["env_proxy"], [t(_clip(", ".join(f"{k}={v}" for k, v in _dict(env.get("proxy")).items())) or L["none"])]),
        (L["env_hosts"], [t(_clip(_dict(env.get("hosts_file")).get("sha256") or "—"), mono=True)]),
    ]
    if clock:
        offset = clock.get("offset_seconds")
        text = (
            f"{offset:+.3f} {L['seconds']} ± {clock.get('uncertainty_seconds')} {L['seconds']}"
            if isinstance(offset, (int, float))
            else "—"
        )
        tsa = _clip(f"{clock.get('tsa_name')} · {clock.get('gen_time')}")
        rows.append((L["env_clock"], [t(text, mono=True), t(tsa)]))
    digest = item.get("digests", {}).get("sha256", "—")
    rows.append((L["env_record"], [t(ENVIRONMENT, mono=True), t(digest, mono=True)]))
    if not env:
        rows = [(L["env_record"], [t(L["cap_env_missing"])])]
    return [Heading(L["cap_env"]), Fields(rows)]


def _reproduce(facts: CaptureFacts, name: str) -> Code:
    def path(item: str) -> str | None:
        found = facts.items.get(item, {}).get("path")
        return str(found) if found else None

    lines = []
    if (chain := path(CHAIN)) is not None:
        lines.append(f"unzip -p {name} '{chain}' | openssl x509 -noout -subject -issuer")
        lines.append(f"unzip -p {name} '{chain}' | openssl x509 -outform DER | sha256sum")
    if (record := path(ENVIRONMENT)) is not None:
        lines.append(f"unzip -p {name} '{record}' | python3 -m json.tool")
    if (shot := path(SCREENSHOT)) is not None:
        lines.append(f"unzip -p {name} '{shot}' > screenshot.png && sha256sum screenshot.png")
    return Code(lines)


def capture_blocks(facts: CaptureFacts, lang: str, package_name: str) -> list[Block]:
    """The whole capture section of a deposit certificate."""
    L = labels(lang)
    blocks: list[Block] = [Heading(L["capture"]), summary_fields(facts, L)]
    blocks += _tls(facts, L)
    blocks += _screenshot(facts, L)
    blocks += _environment(facts, L)
    code = _reproduce(facts, package_name)
    if code.lines:
        blocks += [Paragraph([t(L["cap_how"])]), code]
    return blocks
