"""The capture section of reports, from a real capture of a local HTTPS site by the system's Chromium."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import struct
import subprocess
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat
from test_capture import _REASON, _capture, site  # noqa: F401 - ``site`` is the shared HTTPS server fixture
from test_report_support import pdftotext, render_png

from evidencectl.crypto.trust import TrustStore
from evidencectl.report import write_deposit_certificate, write_verification_report
from evidencectl.report.thumbnail import BOX, MAX_ASPECT, make_thumbnail
from evidencectl.verify.verifier import verify_package

needs_browser = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")


@dataclass
class Captured:
    """One HTTPS capture (``/redirect`` -> ``/page.html``, self-signed, --insecure) and the home that made it."""

    package: Path
    base: Path


@pytest.fixture(scope="module")
def captured(site, tmp_path_factory: pytest.TempPathFactory) -> Captured:  # type: ignore[no-untyped-def]  # noqa: F811
    d = tmp_path_factory.mktemp("report-capture")
    out = d / "item123.evp"
    _capture(d / "home", out, f"{site.https}/redirect", insecure=True, timeout=10)
    return Captured(out, d / "home")


def _member(package: Path, name: str) -> bytes:
    with zipfile.ZipFile(package) as z:
        return z.read(f"evidence/{name}")


def _environment(package: Path) -> dict[str, object]:
    env: dict[str, object] = json.loads(_member(package, "capture/environment.json"))
    return env


def _openssl_fingerprint(pem: bytes) -> str:
    """SHA-256 of the first certificate's DER, as OpenSSL re-encodes it (not our parser)."""
    der = subprocess.run(["openssl", "x509", "-outform", "DER"], input=pem, capture_output=True, check=True).stdout
    return hashlib.sha256(der).hexdigest()


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


@needs_browser
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_certificate_shows_url_address_certificate_and_screenshot(
    captured: Captured, tmp_path: Path, lang: str
) -> None:
    out = tmp_path / "cert.pdf"
    write_deposit_certificate(captured.package, out, lang=lang, trust=TrustStore.load(captured.base))
    text = _flat(pdftotext(out))
    env = _environment(captured.package)
    cap = env["capture"]
    assert isinstance(cap, dict) and cap["url"] != cap["final_url"]  # a redirect was followed
    assert _flat(cap["url"]) in text and _flat(cap["final_url"]) in text
    assert cap["final_url"].endswith("/page.html")
    assert env["addresses"] == {"localhost": ["127.0.0.1"]} and "localhost:127.0.0.1" in text
    assert _openssl_fingerprint(_member(captured.package, "capture/tls-chain.pem")) in text
    assert "CN=localhost" in text and _flat(cap["start"]) in text
    assert "self-signedcertificate" in text  # the record says the system trust store refused it
    assert _flat(str(env["browser"]["user_agent"])) in text  # type: ignore[index]
    assert "opensslx509-outformDER|sha256sum" in text
    # Page one names the page captured, and says whose clock dated the capture.
    first = _flat(pdftotext(out, "-f", "1", "-l", "1"))
    assert _flat(cap["url"]) in first
    assert ("取证电脑的时钟，未经证明" if lang == "zh" else "thecapturingcomputer'sclock,notproven") in first

    # Exactly one image: the screenshot, reduced and embedded.
    listing = subprocess.run(["pdfimages", "-list", str(out)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in listing.splitlines()[2:]]
    assert len(rows) == 1 and rows[0][2] == "image"
    width, height = int(rows[0][3]), int(rows[0][4])
    assert width <= BOX[0] and height <= BOX[1]
    subprocess.run(["pdfimages", "-png", str(out), str(tmp_path / "img")], check=True)
    shown = Image.open(tmp_path / "img-000.png").convert("RGB")
    shot = Image.open(io.BytesIO(_member(captured.package, "capture/screenshot.png"))).convert("RGB")
    assert abs(shown.width / shown.height - shot.width / shot.height) < 0.02
    # It is this page's screenshot, not a blank box: it matches the original scaled down.
    diff = ImageChops.difference(shown, shot.resize(shown.size, Image.Resampling.LANCZOS))
    assert max(ImageStat.Stat(diff).mean) < 8
    assert min(ImageStat.Stat(shown.convert("L")).extrema[0]) < 128  # the page's dark text and red boxes


@needs_browser
def test_rendered_capture_page_is_not_blank(captured: Captured, tmp_path: Path) -> None:
    out = tmp_path / "cert.pdf"
    write_deposit_certificate(captured.package, out, lang="zh", trust=TrustStore.load(captured.base))
    page = next(p for p in range(1, 6) if "网页截图" in pdftotext(out, "-f", str(p), "-l", str(p)))
    image = Image.open(render_png(out, tmp_path / "p", dpi=60, page=page)).convert("L")
    assert sum(image.histogram()[:128]) > 0.01 * image.width * image.height


@needs_browser
def test_html_certificate_embeds_the_thumbnail_as_data_uri(captured: Captured, tmp_path: Path) -> None:
    out = tmp_path / "cert.html"
    write_deposit_certificate(captured.package, out, lang="en", fmt="html", trust=TrustStore.load(captured.base))
    html = out.read_text(encoding="utf-8")
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" width="(\d+)" height="(\d+)"', html)
    assert len(images) == 1 and len(re.findall(r"<img\b", html)) == 1
    data, width, height = images[0]
    thumb = Image.open(io.BytesIO(base64.b64decode(data)))
    assert thumb.format == "PNG" and thumb.size == (int(width), int(height))
    assert thumb.width <= BOX[0] and thumb.height <= BOX[1]
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", html) and "<script" not in html
    env = _environment(captured.package)
    assert env["capture"]["final_url"] in html  # type: ignore[index]
    assert _openssl_fingerprint(_member(captured.package, "capture/tls-chain.pem")) in html


@needs_browser
def test_verification_report_states_the_capture(captured: Captured, tmp_path: Path) -> None:
    report = verify_package(captured.package, trust=TrustStore.load(captured.base))
    out = tmp_path / "v.pdf"
    write_verification_report(report, out, lang="en")
    text = _flat(pdftotext(out))
    env = _environment(captured.package)
    assert _flat(env["capture"]["final_url"]) in text and "localhost:127.0.0.1" in text  # type: ignore[index]
    assert _openssl_fingerprint(_member(captured.package, "capture/tls-chain.pem")) in text
    assert text.index("Webcapture") < text.index("Checks")


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` × ``height`` but that holds almost no data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_oversized_screenshot_is_refused_before_decoding() -> None:
    with pytest.raises(ValueError, match="declares more than 40000000 pixels"):
        make_thumbnail(_png_header(100_000, 100_000))
    with pytest.raises(ValueError, match="declares 5000×9000"):
        make_thumbnail(_png_header(5000, 9000), max_pixels=40_000_000)
    with pytest.raises(ValueError, match="cannot be read"):
        make_thumbnail(b"not an image at all")


def test_tall_page_shows_its_top_and_fits_the_box() -> None:
    image = Image.new("RGB", (1200, 9000), "blue")
    image.paste(Image.new("RGB", (1200, int(1200 * MAX_ASPECT)), "red"), (0, 0))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    thumb = make_thumbnail(buf.getvalue())
    assert thumb.cropped and thumb.shown_height == int(1200 * MAX_ASPECT) and thumb.source_height == 9000
    assert thumb.width == BOX[0] and thumb.height <= BOX[1]
    shown = Image.open(io.BytesIO(thumb.png)).convert("RGB")
    red, green, blue = ImageStat.Stat(shown).mean
    assert red > 250 and blue < 5  # the top of the page, none of the rest
    small = io.BytesIO()
    Image.new("RGBA", (300, 200), (0, 128, 0, 255)).save(small, format="PNG")
    whole = make_thumbnail(small.getvalue())
    assert not whole.cropped and (whole.width, whole.height) == (300, 200)  # never enlarged


@needs_browser
def test_hostile_screenshot_is_not_decoded_and_the_certificate_says_so(captured: Captured, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.evp"
    with zipfile.ZipFile(captured.package) as src, zipfile.ZipFile(bomb, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, _png_header(60_000, 60_000) if info.filename.endswith("/screenshot.png") else data)
    out = tmp_path / "bomb.pdf"
    # The altered screenshot fails verification; with --force the certificate is written and says why.
    write_deposit_certificate(bomb, out, lang="en", force=True, trust=TrustStore.load(captured.base))
    text = re.sub(r"\s+", " ", pdftotext(out))
    assert "digest:capture/screenshot.png" in text
    assert "No screenshot shown: the image declares more than 40000000 pixels" in text
    listing = subprocess.run(["pdfimages", "-list", str(out)], capture_output=True, text=True, check=True).stdout
    assert len(listing.splitlines()) == 2  # header lines only: no image
