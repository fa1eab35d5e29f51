"""Web capture against real local HTTP and HTTPS servers, driven through the system's headless Chromium."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import http.server
import io
import json
import ssl
import subprocess
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from evidencectl.capture import CaptureOptions, CaptureResult, capture
from evidencectl.capture.replay import check_capture
from evidencectl.checks import Status
from evidencectl.deposit import StatementOptions
from evidencectl.errors import BadInputError, ExitCode, UsageError
from evidencectl.package.reader import PackageReader
from evidencectl.progress import Progress

ASSETS = Path(__file__).parent / "assets" / "capture"
ROOT = Path(__file__).parent.parent
CHROMIUM = Path("/usr/bin/chromium")


def _browser_ready() -> str | None:
    if not CHROMIUM.exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "install-browser.sh")], check=False, timeout=600)
    if not CHROMIUM.exists():
        return "Chromium cannot be installed here (scripts/install-browser.sh failed)"
    return None


_REASON = _browser_ready()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")

FORCED_GZIP = b"body { margin: 0 } /* always sent gzip-encoded */\n" * 20
CHUNKED = b"// sent in chunks\n" + b"var chunk = 1;\n" * 50
DOWNLOAD = b"%PDF-1.4\n% not really a PDF, a file offered as a download\n" + bytes(range(256))


@dataclass
class Site:
    """A local web site; ``served`` holds every body exactly as written to the socket, by path."""

    http: str
    https: str
    cert_pem: bytes
    served: dict[str, bytes] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)


def _self_signed() -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _handler(site: Site) -> type[http.server.BaseHTTPRequestHandler]:
    pages = {
        "/page.html": ("text/html; charset=utf-8", (ASSETS / "page.html").read_bytes()),
        "/lazy.html": ("text/html; charset=utf-8", (ASSETS / "lazy.html").read_bytes()),
        "/style.css": ("text/css", (ASSETS / "style.css").read_bytes()),
        "/app.js": ("text/javascript", (ASSETS / "app.js").read_bytes()),
        "/pixel.png": ("image/png", (ASSETS / "pixel.png").read_bytes()),
        "/slow.png": ("image/png", (ASSETS / "pixel.png").read_bytes()),
        "/hang.html": ("text/html", b"<html><body><h1>still loading</h1><img src='/never.png'></body></html>"),
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            self.send_header("X-Evidence-Test", "served")
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            site.served[self.path] = body

        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            path = self.path
            if path == "/redirect":
                self._send(302, [("Location", "/page.html")], b"")
            elif path == "/forced-gzip.css":
                self._send(
                    200,
                    [("Content-Type", "text/css"), ("Content-Encoding", "gzip")],
                    gzip.compress(FORCED_GZIP, mtime=0),
                )
            elif path == "/chunked.js":
                self.send_response(200)
                self.send_header("Content-Type", "text/javascript")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(0, len(CHUNKED), 300):
                    part = CHUNKED[i : i + 300]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")
                site.served[path] = CHUNKED
            elif path == "/file.bin":
                headers = [
                    ("Content-Type", "application/octet-stream"),
                    ("Content-Disposition", 'attachment; filename="contract v2.bin"'),
                ]
                self._send(200, headers, DOWNLOAD)
            elif path == "/never.png":
                # Never answers: the capture must stop at its timeout and say so.
                site.stop.wait(60)
            elif path.split("?")[0] in pages:
                if path == "/slow.png":
                    time.sleep(0.5)
                ctype, body = pages[path.split("?")[0]]
                self._send(200, [("Content-Type", ctype), ("Cache-Control", "no-store")], body)
            else:
                self._send(404, [("Content-Type", "text/plain")], b"not found\n")

    return Handler


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """HTTP and HTTPS servers on free ports of 127.0.0.1 (HTTPS with a fresh self-signed certificate)."""
    cert_pem, key_pem = _self_signed()
    d = tmp_path_factory.mktemp("tls")
    (d / "cert.pem").write_bytes(cert_pem)
    (d / "key.pem").write_bytes(key_pem)
    site = Site("", "", cert_pem)
    plain = _Server(("127.0.0.1", 0), _handler(site))
    secure = _Server(("127.0.0.1", 0), _handler(site))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d / "cert.pem", d / "key.pem")
    secure.socket = ctx.wrap_socket(secure.socket, server_side=True)
    site.http = f"http://127.0.0.1:{plain.server_address[1]}"
    site.https = f"https://localhost:{secure.server_address[1]}"
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (plain, secure)]
    for t in threads:
        t.start()
    yield site
    site.stop.set()
    for s in (plain, secure):
        s.shutdown()
        s.server_close()


def _capture(base: Path, out: Path, url: str, **kw: Any) -> CaptureResult:
    statement = StatementOptions(case="（2026）渝0192民初88号")
    return capture(CaptureOptions(url=url, out=out, statement=statement, **kw), base)


@dataclass
class Captured:
    """One capture of the product page, shared by the tests that only read it."""

    result: CaptureResult
    package: Path
    base: Path
    served: dict[str, bytes]


@pytest.fixture(scope="module")
def product(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Captured:
    """``/redirect`` -> ``/page.html`` captured once (HTTP)."""
    d = tmp_path_factory.mktemp("product")
    base = d / "home"
    result = _capture(base, d / "item123.evp", f"{site.http}/redirect")
    return Captured(result, d / "item123.evp", base, dict(site.served))


def _member(package: Path, name: str) -> bytes:
    with zipfile.ZipFile(package) as z:
        return z.read(f"evidence/{name}")


def _warc(package: Path) -> list[tuple[str, str, Any, bytes]]:
    from warcio.archiveiterator import ArchiveIterator

    out = []
    for rec in ArchiveIterator(io.BytesIO(_member(package, "capture/page.warc.gz"))):
        if rec.rec_type == "response":
            uri = rec.rec_headers.get_header("WARC-Target-URI")
            out.append((uri, rec.http_headers.get_statuscode(), rec.http_headers, rec.raw_stream.read()))
    return out


def test_capture_items_are_one_deposit(product: Captured) -> None:
    """Every artefact is an item ``capture/…`` of one complete, timestamped and anchored deposit."""
    r = product.result
    assert r.deposit.status == "complete" and product.package.exists()
    assert r.final_url.endswith("/page.html")
    with zipfile.ZipFile(product.package) as z:
        manifest = json.loads(z.read("manifest.json"))
    names = {i["name"] for i in manifest["items"]}
    for artefact in (
        "screenshot.png",
        "page.warc.gz",
        "page.mhtml",
        "page.pdf",
        "network.har",
        "headers.json",
        "dns.json",
        "environment.json",
        "clock.tsr",
    ):
        assert f"capture/{artefact}" in names
    assert "capture/tls-chain.pem" not in names  # plain HTTP has no certificate to record
    assert manifest["statement"]["case"] == "（2026）渝0192民初88号"
    assert r.deposit.timestamps and r.deposit.anchors
    assert _member(product.package, "capture/screenshot.png").startswith(b"\x89PNG\r\n\x1a\n")
    assert _member(product.package, "capture/page.pdf").startswith(b"%PDF-")


def test_warc_holds_every_response_as_served(product: Captured) -> None:
    """Each response body in the WARC equals, byte for byte, what the server wrote to the socket."""
    records = {uri.split("/", 3)[3]: (status, headers, body) for uri, status, headers, body in _warc(product.package)}
    for path in ("page.html", "style.css", "app.js", "pixel.png", "slow.png"):
        status, headers, body = records[path]
        assert status == "200" and body == product.served[f"/{path}"], path
        assert headers.get_header("X-Evidence-Test") == "served"
    status, headers, body = records["redirect"]
    assert status == "302" and headers.get_header("Location") == "/page.html" and body == b""
    # Chunked transfer coding is removed by the browser: the payload is the de-chunked body, and the header
    # is kept under the web-archive prefix so that the record stays truthful.
    status, headers, body = records["chunked.js"]
    assert body == CHUNKED
    assert headers.get_header("X-Archive-Orig-Transfer-Encoding") == "chunked"
    assert headers.get_header("Transfer-Encoding") is None
    assert headers.get_header("Content-Length") == str(len(CHUNKED))
    # The browser asks for unencoded bodies; a server that gzips anyway is refused by Chromium, and the
    # record says so rather than holding bytes it never received.
    assert "forced-gzip.css" not in records
    env = json.loads(_member(product.package, "capture/environment.json"))
    failed = [i for i in env["incomplete_requests"] if i["url"].endswith("/forced-gzip.css")]
    assert failed == [{"url": failed[0]["url"], "state": "failed", "error": "net::ERR_CONTENT_DECODING_FAILED"}]
    assert any("1 request(s) failed" in n for n in env["notes"])


def test_rendered_record_shows_the_page_after_load(product: Captured) -> None:
    """The MHTML is the DOM as rendered (script ran), while the WARC keeps the HTML as served."""
    import email

    mhtml = email.message_from_bytes(_member(product.package, "capture/page.mhtml"))
    html = next(p for p in mhtml.walk() if p.get_content_type() == "text/html").get_payload(decode=True)
    assert b"changed after load" in html
    assert b"changed after load" not in product.served["/page.html"]
    assert "商品 123".encode() in html


def test_har_and_headers_match_the_traffic(product: Captured) -> None:
    """The HAR lists the same responses with the same digests; headers.json keeps the raw headers."""
    har = json.loads(_member(product.package, "capture/network.har"))
    entries = {e["request"]["url"].split("/", 3)[3]: e for e in har["log"]["entries"]}
    for path in ("page.html", "pixel.png", "slow.png", "app.js"):
        assert entries[path]["_sha256"] == hashlib.sha256(product.served[f"/{path}"]).hexdigest()
        assert entries[path]["serverIPAddress"] == "127.0.0.1"
    assert entries["redirect"]["response"]["status"] == 302
    assert entries["redirect"]["response"]["redirectURL"] == "/page.html"
    assert entries["slow.png"]["timings"]["wait"] >= 400  # the server held it for 0.5 s
    headers = json.loads(_member(product.package, "capture/headers.json"))
    page = next(h for h in headers if h["url"].endswith("/page.html"))
    assert ["X-Evidence-Test", "served"] in page["response_headers"]
    assert any(n.lower() == "user-agent" for n, _ in page["request_headers"])


def test_environment_record(product: Captured) -> None:
    """Versions, OS, hosts file digest, clock offset against the TSA, times, URLs and addresses."""
    env = json.loads(_member(product.package, "capture/environment.json"))
    assert env["browser"]["version"].startswith(("Chrome/", "HeadlessChrome/"))
    assert env["tool"]["name"] == "evidencectl" and env["tool"]["playwright"]
    assert env["os"]["system"] == "Linux"
    assert env["hosts_file"]["sha256"] == hashlib.sha256(Path("/etc/hosts").read_bytes()).hexdigest()
    cap = env["capture"]
    assert cap["url"].endswith("/redirect") and cap["final_url"].endswith("/page.html")
    assert cap["status"] == 200 and cap["complete"] is False  # the forced-gzip stylesheet was refused
    assert len(env["notes"]) == 1
    assert cap["start"] < cap["end"]
    assert abs(env["clock"]["offset_seconds"]) < 2  # the embedded TSA runs on this clock
    assert env["addresses"] == {"127.0.0.1": ["127.0.0.1"]}
    dns = json.loads(_member(product.package, "capture/dns.json"))
    assert dns["127.0.0.1"]["addresses"] == ["127.0.0.1"]
    # Every artefact the record lists is deposited with the digest it states.
    for name, facts in env["artefacts"].items():
        assert hashlib.sha256(_member(product.package, name)).hexdigest() == facts["sha256"]


def test_clock_token_verifies_with_openssl(product: Captured, tmp_path: Path) -> None:
    """The clock-check token is an RFC 3161 response that OpenSSL accepts for the stated imprint."""
    env = json.loads(_member(product.package, "capture/environment.json"))
    opening = f"evidencectl capture\n{env['capture']['url']}\n{env['capture']['start']}\n".encode()
    (tmp_path / "clock.tsr").write_bytes(_member(product.package, "capture/clock.tsr"))
    (tmp_path / "tsa.pem").write_bytes(_member_raw(product.package, "certs/tsa-local.pem"))
    proc = subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-digest",
            hashlib.sha256(opening).hexdigest(),
            "-sha256",
            "-in",
            str(tmp_path / "clock.tsr"),
            "-CAfile",
            str(tmp_path / "tsa.pem"),
            "-partial_chain",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0 and "Verification: OK" in proc.stdout, proc.stderr


def _member_raw(package: Path, name: str) -> bytes:
    with zipfile.ZipFile(package) as z:
        return z.read(name)


def test_replay_check_passes_and_core_verification_passes(product: Captured) -> None:
    """check_capture finds WARC, HAR and screenshot consistent; the package verifies as any deposit."""
    from evidencectl.crypto.trust import TrustStore
    from evidencectl.verify.verifier import verify_package

    with PackageReader(product.package) as reader:
        checks = check_capture(reader, reader.read_json("manifest.json"))
    assert {c.check: c.status for c in checks} == {
        "capture:environment": Status.PASSED,
        "capture:warc-har": Status.PASSED,
        "capture:screenshot": Status.PASSED,
    }
    report = verify_package(product.package, trust=TrustStore.load(product.base))
    assert report.verdict == Status.PASSED, [c for c in report.checks if c.status != Status.PASSED]


def _rewrite(src: Path, dst: Path, member: str, change: Any) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, change(data) if info.filename == member else data)


def _alter_first_artefact(data: bytes) -> bytes:
    env = json.loads(data)
    first = sorted(env["artefacts"])[0]
    env["artefacts"][first]["sha256"] = "0" * 64
    return json.dumps(env).encode()


@pytest.mark.parametrize(
    ("member", "change", "check"),
    [
        (
            "evidence/capture/network.har",
            lambda d: d.replace(b'"_sha256": "', b'"_sha256": "00', 1),
            "capture:warc-har",
        ),
        (
            "evidence/capture/network.har",
            lambda d: json.dumps({"log": {"entries": json.loads(d)["log"]["entries"][1:]}}).encode(),
            "capture:warc-har",
        ),
        ("evidence/capture/page.warc.gz", lambda d: d[: len(d) // 2], "capture:warc-har"),
        ("evidence/capture/screenshot.png", lambda d: b"GIF89a" + d[6:], "capture:screenshot"),
        (
            "evidence/capture/environment.json",
            _alter_first_artefact,
            "capture:environment",
        ),
    ],
    ids=["har-digest", "har-entry-dropped", "warc-truncated", "screenshot-not-png", "environment-artefact"],
)
def test_replay_check_detects_inconsistency(
    product: Captured, tmp_path: Path, member: str, change: Any, check: str
) -> None:
    """An altered WARC, HAR, screenshot or environment record makes its replay check FAILED."""
    bad = tmp_path / "bad.evp"
    _rewrite(product.package, bad, member, change)
    with PackageReader(bad) as reader:
        checks = {c.check: c for c in check_capture(reader, reader.read_json("manifest.json"))}
    assert checks[check].status == Status.FAILED, checks[check]


def test_https_with_untrusted_certificate(site: Site, evidencectl_home: Path, tmp_path: Path) -> None:
    """A TLS error stops the capture (exit 4, nothing written) unless --insecure, which records it."""
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "tls.evp"
    with pytest.raises(BadInputError) as err:
        _capture(evidencectl_home, out, f"{site.https}/page.html")
    assert err.value.exit_code == ExitCode.BAD_INPUT
    assert "ERR_CERT" in str(err.value) and "--insecure" in str(err.value)
    assert list(out.parent.iterdir()) == []  # no package, no partial file
    r = _capture(evidencectl_home, out, f"{site.https}/page.html", insecure=True, timeout=10)
    assert r.deposit.status == "complete"
    assert any("not trusted" in n for n in r.notes)
    from cryptography import x509

    chain = x509.load_pem_x509_certificates(_member(out, "capture/tls-chain.pem"))
    assert chain == [x509.load_pem_x509_certificate(site.cert_pem)]
    env = json.loads(_member(out, "capture/environment.json"))
    assert env["tls"]["verified"] is False and env["tls"]["error"]
    assert env["tls"]["certificates"][0]["subject"] == "CN=localhost"
    assert env["capture"]["insecure"] is True and env["capture"]["complete"] is False
    page = next(b for u, s, h, b in _warc(out) if u.endswith("/page.html"))
    assert page == (ASSETS / "page.html").read_bytes()


def test_unreachable_host(evidencectl_home: Path, tmp_path: Path) -> None:
    """A port nobody listens on: exit 4 with one line naming the URL; nothing is left behind."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "out").mkdir()
    with pytest.raises(BadInputError) as err:
        _capture(evidencectl_home, tmp_path / "out" / "x.evp", f"http://127.0.0.1:{port}/", timeout=5)
    assert "ERR_CONNECTION_REFUSED" in str(err.value) and f":{port}/" in str(err.value)
    assert "\n" not in err.value.diagnostics()
    assert list((tmp_path / "out").iterdir()) == []


class _Stages(Progress):
    """When each stage of a capture began (monotonic clock)."""

    def __init__(self) -> None:
        self.began: dict[str, float] = {}

    def phase(self, label: str) -> None:
        self.began.setdefault(label, time.monotonic())


def test_page_that_never_finishes_loading(site: Site, evidencectl_home: Path, tmp_path: Path) -> None:
    """Bounded by --timeout; recorded as it was, with a note and the pending request listed.

    The bound is measured on the stages the timeout governs (loading the page, then letting it settle), read
    from the capture's own progress: the whole call also starts Chromium and renders a screenshot, MHTML and
    PDF, which on a loaded machine took more than the 15 s the test once allowed for everything. A wait for the
    image that never comes would last Playwright's 30 s default or the server's 60 s."""
    out = tmp_path / "hang.evp"
    stages = _Stages()
    # 3 s: long enough for Chromium to have asked for /never.png on a loaded machine, the point of the test.
    r = capture(
        CaptureOptions(url=f"{site.http}/hang.html", out=out, statement=StatementOptions(case="C-1"), timeout=3),
        evidencectl_home,
        stages,
    )
    loading = stages.began["waiting"] - stages.began["loading"]
    settling = stages.began["screenshot"] - stages.began["waiting"]
    assert 3.0 <= loading < 20, loading  # it waited for the timeout, and no longer than the timeout governs
    assert settling < 20, settling  # the quiet period after it is bounded too (at most 1.5 s of waiting)
    assert any("did not finish loading within 3 s" in n for n in r.notes)
    env = json.loads(_member(out, "capture/environment.json"))
    assert env["capture"]["complete"] is False
    assert any(i["url"].endswith("/never.png") and i["state"] == "pending" for i in env["incomplete_requests"])
    uris = [u for u, *_ in _warc(out)]
    assert any(u.endswith("/hang.html") for u in uris) and not any(u.endswith("/never.png") for u in uris)
    with PackageReader(out) as reader:
        checks = {c.check: c for c in check_capture(reader, reader.read_json("manifest.json"))}
    assert checks["capture:environment"].status == Status.PASSED
    assert "incomplete" in checks["capture:environment"].detail


def test_non_html_url_is_captured_as_download(site: Site, evidencectl_home: Path, tmp_path: Path) -> None:
    """A URL the browser downloads rather than renders: its bytes become capture/download/<name>."""
    out = tmp_path / "file.evp"
    r = _capture(evidencectl_home, out, f"{site.http}/file.bin", timeout=10)
    assert "capture/download/contract_v2.bin" in r.artefacts
    assert _member(out, "capture/download/contract_v2.bin") == DOWNLOAD
    assert r.notes == ["the URL is not a page: its content was captured as a file download"]
    (record,) = [(s, h, b) for u, s, h, b in _warc(out) if u.endswith("/file.bin")]
    assert record[0] == "200" and record[2] == DOWNLOAD == site.served["/file.bin"]
    assert record[1].get_header("Content-Disposition") == 'attachment; filename="contract v2.bin"'
    with PackageReader(out) as reader:
        checks = {c.check: c.status for c in check_capture(reader, reader.read_json("manifest.json"))}
    assert checks["capture:screenshot"] == Status.PASSED and checks["capture:warc-har"] == Status.PASSED


def test_video_scroll_and_wait_for(site: Site, evidencectl_home: Path, tmp_path: Path) -> None:
    """--video records a WebM; --scroll fetches lazy content; --wait-for waits for a late element."""
    out = tmp_path / "lazy.evp"
    r = _capture(evidencectl_home, out, f"{site.http}/lazy.html", video=True, scroll=True, wait_for="#late")
    assert r.notes == []
    assert _member(out, "capture/video.webm").startswith(b"\x1a\x45\xdf\xa3")  # EBML (WebM) header
    assert any(u.endswith("/pixel.png?lazy=1") for u, *_ in _warc(out))
    import email

    mhtml = email.message_from_bytes(_member(out, "capture/page.mhtml"))
    html = next(p for p in mhtml.walk() if p.get_content_type() == "text/html").get_payload(decode=True)
    assert b"appeared late" in html


def test_bad_url_and_existing_output(evidencectl_home: Path, tmp_path: Path) -> None:
    """A non-http URL is a usage error; an existing output is refused before anything is fetched."""
    with pytest.raises(UsageError):
        _capture(evidencectl_home, tmp_path / "a.evp", "file:///etc/passwd")
    existing = tmp_path / "exists.evp"
    existing.write_bytes(b"keep me")
    with pytest.raises(UsageError):
        _capture(evidencectl_home, existing, "http://127.0.0.1:9/")
    assert existing.read_bytes() == b"keep me"


@pytest.fixture
def capture_cli(cli: Any) -> Any:
    """The real entry point with the ``capture`` command registered (as the main CLI does)."""
    from evidencectl.cli import main as cli_main
    from evidencectl.cli.capture_cmd import register

    if "capture" not in {c.name for c in cli_main.app.registered_commands}:
        register(cli_main.app)
    return cli


def test_cli_capture_then_inspect(site: Site, capture_cli: Any, tmp_path: Path) -> None:
    """``capture URL -o OUT --case … --json`` exits 0 with one JSON document; ``inspect`` lists the items."""
    out = tmp_path / "item123.evp"
    r = capture_cli("capture", f"{site.http}/pixel.png", "-o", out, "--case", "（2026）渝0192民初88号", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["status"] == "complete" and "capture/screenshot.png" in doc["capture"]["artefacts"]
    r = capture_cli("inspect", out)
    assert r.code == 0 and "capture/page.warc.gz" in r.out and "capture/environment.json" in r.out


def test_cli_exit_codes(capture_cli: Any, tmp_path: Path) -> None:
    """2 for a bad URL, 4 for an unreachable host, each with one clear line on stderr."""
    r = capture_cli("capture", "ftp://example.org/x", "-o", tmp_path / "a.evp")
    assert r.code == ExitCode.USAGE and "http:// or https://" in r.err
    r = capture_cli("capture", "http://127.0.0.1:9/", "-o", tmp_path / "a.evp", "--timeout", "5")
    assert r.code == ExitCode.BAD_INPUT
    assert r.err.count("\n") == 1 and "cannot reach http://127.0.0.1:9/" in r.err
    assert not (tmp_path / "a.evp").exists()


def test_capture_signs_and_takes_a_quorum_like_deposit(
    site: Site, capture_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``capture --sign --tsa local --tsa DOWN --tsa-quorum 1`` signs manifest.json with the depositor's key and
    is complete with the one TSA that answered; a quorum no TSA list can meet is refused before the browser."""
    monkeypatch.setenv("EVK_PASS", "correct horse battery staple")
    assert capture_cli("keys", "generate", "--name", "张律师", "--passphrase-env", "EVK_PASS").code == 0
    out = tmp_path / "signed.evp"
    args = ["capture", f"{site.http}/pixel.png", "-o", out, "--sign", "--passphrase-env", "EVK_PASS"]
    r = capture_cli(*args, "--tsa", "local", "--tsa", "http://127.0.0.1:9/tsa", "--tsa-quorum", "1", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["status"] == "complete" and any("did not answer" in w for w in doc["warnings"])
    with zipfile.ZipFile(out) as z:
        assert {"manifest.sig", "certs/depositor.pem"} <= set(z.namelist())
    r = capture_cli("verify", out, "--json")
    sig = next(c for c in json.loads(r.out)["checks"] if c["check"] == "signature:manifest")
    assert sig["status"] != "FAILED"
    r = capture_cli("capture", f"{site.http}/pixel.png", "-o", tmp_path / "q.evp", "--tsa-quorum", "3")
    assert r.code == ExitCode.USAGE and "--tsa-quorum 3" in r.err
    assert not (tmp_path / "q.evp").exists()
