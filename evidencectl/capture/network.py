"""Facts about the network path gathered beside the browser: TLS chain, DNS answers, proxies, hosts file."""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HOSTS_FILE = Path("/etc/hosts")
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy")


@dataclass
class TlsRecord:
    """The certificate chain a server presented and whether the system trust store accepts it."""

    host: str
    """Host name sent as SNI."""
    port: int
    """TCP port."""
    chain_pem: bytes = b""
    """Every certificate the server sent, leaf first, PEM."""
    verified: bool = False
    """True when the chain validates against the system trust store for ``host``."""
    error: str | None = None
    """Why validation (or the handshake) failed."""
    protocol: str | None = None
    """Negotiated TLS version."""
    cipher: str | None = None
    """Negotiated cipher suite."""
    certificates: list[dict[str, str]] = field(default_factory=list)
    """Subject, issuer and SHA-256 fingerprint of each certificate, leaf first."""

    def to_json(self) -> dict[str, Any]:
        """JSON form for the environment record."""
        return {
            "host": self.host,
            "port": self.port,
            "verified": self.verified,
            "error": self.error,
            "protocol": self.protocol,
            "cipher": self.cipher,
            "certificates": self.certificates,
        }


def host_port(url: str) -> tuple[str, int]:
    """Host and port of an http(s) URL."""
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.hostname or "", parts.port or default


def _handshake(host: str, port: int, context: ssl.SSLContext, timeout: float) -> ssl.SSLSocket:
    raw = socket.create_connection((host, port), timeout=timeout)
    try:
        return context.wrap_socket(raw, server_hostname=host)
    except BaseException:
        raw.close()
        raise


def tls_record(url: str, timeout: float = 10.0) -> TlsRecord:
    """Connect to the server of ``url`` twice: once to validate its chain, once to take every certificate
    it sends (validation aborts the handshake on a bad chain, so the chain is read without it)."""
    from cryptography import x509

    host, port = host_port(url)
    rec = TlsRecord(host, port)
    try:
        _handshake(host, port, ssl.create_default_context(), timeout).close()
        rec.verified = True
    except ssl.SSLCertVerificationError as exc:
        rec.error = exc.verify_message or str(exc)
    except (OSError, ssl.SSLError) as exc:
        rec.error = str(exc)
    insecure = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    try:
        sock = _handshake(host, port, insecure, timeout)
    except (OSError, ssl.SSLError) as exc:
        rec.error = rec.error or str(exc)
        return rec
    with sock:
        rec.protocol = sock.version()
        cipher = sock.cipher()
        rec.cipher = cipher[0] if cipher else None
        # Python 3.11 has no public accessor for the peer's whole chain; the C object has had one since 3.10.
        chain = sock._sslobj.get_unverified_chain() or []  # type: ignore[attr-defined]
        pems: list[bytes] = []
        for cert in chain:
            der = cert.public_bytes(ssl._ssl.ENCODING_DER)  # type: ignore[attr-defined]
            parsed = x509.load_der_x509_certificate(der)
            rec.certificates.append(
                {
                    "subject": parsed.subject.rfc4514_string(),
                    "issuer": parsed.issuer.rfc4514_string(),
                    "sha256": hashlib.sha256(der).hexdigest(),
                    "not_after": parsed.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            )
            pems.append(ssl.DER_cert_to_PEM_cert(der).encode("ascii"))
        rec.chain_pem = b"".join(pems)
    return rec


def dns_answers(hosts: list[str]) -> dict[str, Any]:
    """``socket.getaddrinfo`` results for every host, as the system resolver gives them now."""
    answers: dict[str, Any] = {}
    for host in sorted(set(hosts)):
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except OSError as exc:
            answers[host] = {"error": str(exc)}
            continue
        addresses: list[str] = []
        for _family, _, _, _, sockaddr in infos:
            ip = str(sockaddr[0])
            if ip not in addresses:
                addresses.append(ip)
        answers[host] = {
            "addresses": addresses,
            "families": sorted({socket.AddressFamily(i[0]).name for i in infos}),
        }
    return answers


def proxy_settings() -> dict[str, str]:
    """Proxy variables of the environment (either case), credentials removed."""
    found: dict[str, str] = {}
    for key, value in os.environ.items():
        if key.lower() in _PROXY_VARS:
            parts = urlsplit(value)
            if parts.password or parts.username:
                # A proxy password is not evidence and must not end up in a court file.
                netloc = f"***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
                value = parts._replace(netloc=netloc).geturl()
            found[key] = value
    return dict(sorted(found.items()))


def hosts_file_sha256(path: Path = HOSTS_FILE) -> str | None:
    """SHA-256 of the hosts file (a local override of DNS), or None when it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
