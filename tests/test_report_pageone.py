"""Page one is the answer: verdict, proven time in Beijing time, who attests it, what is deposited, identity,
trust basis; the art. 17 section; the QR code that leads to the verification page, in PDF and in HTML."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from test_report_support import deposit, flip_member_byte, manifest_of, pdftotext, render_png

from evidencectl.crypto.trust import TrustStore
from evidencectl.report import write_deposit_certificate, write_verification_report
from evidencectl.report.qr import parse_payload
from evidencectl.verify.verifier import verify_package

EXAMPLES = Path(__file__).parent.parent / "examples" / "evidence"
ROOT = Path(__file__).parent.parent
URL = "https://verify.example.cn/v/{deposit_id}?m={manifest_sm3}"
CONFIG = """[report]
issuer = "重庆某某电子数据存证平台"
operator = "重庆某某科技有限公司"
filing = "渝网信备50010523456789号"
verify_url = "https://verify.example.cn/v/{deposit_id}?m={manifest_sm3}"
"""


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One deposit of examples/evidence: (its EVIDENCECTL_HOME, the package)."""
    base = tmp_path_factory.mktemp("pageone")
    mp = pytest.MonkeyPatch()
    mp.setenv("EVIDENCECTL_HOME", str(base / "home"))
    try:
        package = deposit([EXAMPLES], base / "case.evp")
    finally:
        mp.undo()
    return base / "home", package


@pytest.fixture
def package(made: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The deposit, with EVIDENCECTL_HOME pointing at the data directory that made it (no config.toml)."""
    monkeypatch.setenv("EVIDENCECTL_HOME", str(made[0]))
    (made[0] / "config.toml").unlink(missing_ok=True)
    return made[1]


def _configured(package: Path) -> None:
    (package.parent / "home" / "config.toml").write_text(CONFIG, encoding="utf-8")


def _first_page(pdf: Path) -> str:
    return re.sub(r"\s+", "", pdftotext(pdf, "-f", "1", "-l", "1"))


def _beijing_times(package: Path) -> list[str]:
    """The latest moment each token (genTime + accuracy, as OpenSSL prints them) and each ledger block vouches
    for, turned into Beijing time (UTC+8) by hand: the proven time is the earliest of them."""
    out = []
    with zipfile.ZipFile(package) as z:
        for name in z.namelist():
            if name.startswith("proofs/timestamps/"):
                text = subprocess.run(
                    ["openssl", "ts", "-reply", "-in", "/dev/stdin", "-text"],
                    input=z.read(name),
                    capture_output=True,
                    check=True,
                ).stdout.decode()
                stamp = re.search(r"Time stamp: (\w+ +\d+ [\d:]+)(\.\d+)? (\d{4}) GMT", text)
                assert stamp is not None, text
                when = " ".join(stamp.group(1).split()) + " " + stamp.group(3)
                moment = datetime.strptime(when, "%b %d %H:%M:%S %Y").replace(tzinfo=UTC)
                # The proven time is genTime plus the TSA's declared accuracy, rounded up to the second.
                micros = round(float(stamp.group(2) or 0) * 1_000_000)
                for amount, unit in re.findall(r"(0x[0-9a-fA-F]+|\d+) (seconds|millis|micros)", text):
                    micros += int(amount, 0) * {"seconds": 1_000_000, "millis": 1_000, "micros": 1}[unit]
                moment += timedelta(seconds=-(-micros // 1_000_000))
                out.append(moment.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d%H:%M:%S"))
            elif name.startswith("proofs/anchors/"):  # a ledger block's time, rounded up to the second
                block = json.loads(z.read(name)).get("block", {}).get("header", {}).get("time")
                if block:
                    moment = datetime.fromisoformat(block.replace("Z", "+00:00"))
                    moment = moment.replace(microsecond=0) + timedelta(seconds=1 if moment.microsecond else 0)
                    out.append(moment.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d%H:%M:%S"))
    return sorted(out)


def _manifest_sm3(package: Path) -> str:
    with zipfile.ZipFile(package) as z:
        return hashlib.new("sm3", z.read("manifest.json")).hexdigest()


@pytest.mark.parametrize(
    "lang,verdict,time_word,operator",
    [
        ("zh", "通过：存证的电子数据自存证以来未被修改", "北京时间", "由存证人自己运营，不独立于存证人"),
        (
            "en",
            "PASSED:thedepositeddatahasnotchangedsinceitwasdeposited",
            "Beijingtime",
            "operatedbythedepositor:notindependent",
        ),
    ],
)
def test_page_one_of_both_documents_gives_verdict_beijing_time_and_operator(
    package: Path, tmp_path: Path, lang: str, verdict: str, time_word: str, operator: str
) -> None:
    _configured(package)
    cert = tmp_path / "cert.pdf"
    write_deposit_certificate(package, cert, lang=lang)
    report = verify_package(package, trust=TrustStore.load(package.parent / "home"))
    ver = tmp_path / "verification.pdf"
    write_verification_report(report, ver, lang=lang)
    earliest = _beijing_times(package)[0]
    for pdf in (cert, ver):
        first = _first_page(pdf)
        assert "重庆某某电子数据存证平台" in first  # the issuer under the title
        assert verdict in first
        assert f"{earliest}{time_word}" in first
        assert operator in first
        assert ("共4项" if lang == "zh" else "4items") in first
        assert (
            "未签名，姓名仅为存证人自述" if lang == "zh" else "unsigned;thenameisthedepositor'sownstatement"
        ) in first
        assert "digest:" not in first and "RFC 3161" not in first  # technique is in the appendix


@pytest.mark.parametrize(
    "lang,sentence",
    [
        ("zh", "「contract.txt」在存证后被修改；其余3项与存证一致；时间戳与锚定有效。"),
        (
            "en",
            "“contract.txt”wasmodifiedafterthedeposit;theother3itemsmatchthedeposit;thetimestampsandtheanchorarevalid.",
        ),
    ],
)
def test_tampered_package_says_what_is_still_intact(package: Path, tmp_path: Path, lang: str, sentence: str) -> None:
    bad = flip_member_byte(package, tmp_path / "bad.evp", "evidence/evidence/contract.txt")
    report = verify_package(bad, trust=TrustStore.load(package.parent / "home"))
    out = tmp_path / "v.pdf"
    write_verification_report(report, out, lang=lang, settings={})
    assert sentence in _first_page(out)
    rest = pdftotext(out, "-f", "2")
    want = manifest_of(package)["items"][1]["digests"]["sm3"]  # type: ignore[index]
    # Expected and actual stand in labelled rows, not as a JSON blob, with no raw fact key.
    assert ("存证时的 SM3" if lang == "zh" else "SM3 when deposited") in rest and want in rest
    assert '{"sha256"' not in rest and "signer_certificate_from" not in rest and "hash_algorithm" not in rest


def test_untrusted_timestamp_is_explained_with_where_its_certificate_came_from(package: Path, tmp_path: Path) -> None:
    report = verify_package(package, trust=TrustStore.load(tmp_path / "court"))
    out = tmp_path / "v.pdf"
    write_verification_report(report, out, lang="zh", settings={})
    text = re.sub(r"\s+", "", pdftotext(out))
    assert "无法确定：数据完整性已核对" in text
    assert "时间戳本身可读，但无法确定是否可信：签发者的证书（时间戳令牌自带）不能连到验证者信任的根证书" in text
    assert "4项与存证一致" in text


def test_art17_section_states_qualification_relation_system_and_process(package: Path, tmp_path: Path) -> None:
    out = tmp_path / "none.pdf"
    write_deposit_certificate(package, out, lang="zh")
    text = re.sub(r"\s+", "", pdftotext(out))
    assert "第十七条" in text and text.count("未声明") >= 4  # nothing configured: nothing claimed
    assert "存证人自己运营（本安装内置）" in text  # the embedded TSA and ledger disclosed as the depositor's
    for standard in ("GB/T32905", "GB/T32918", "RFC3161", "RFC9162", "SF/T0076-2020"):
        assert standard in text
    # The program's hash is the one coreutils gives for the installed files.
    shell = "find evidencectl -name '*.py' -type f | LC_ALL=C sort | xargs sha256sum | sha256sum"
    digest = subprocess.run(["sh", "-c", shell], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()[0]
    assert digest in text
    _configured(package)
    write_deposit_certificate(package, out, lang="en")
    text = re.sub(r"\s+", "", pdftotext(out))
    assert "渝网信备50010523456789号" in text and "重庆某某科技有限公司" in text
    assert text.count("nonedeclared") == 1  # only the licence is left undeclared


def _html_qr(html: Path, tmp_path: Path) -> list[str]:
    """Render the HTML with headless Chromium and read every QR code in the screenshot."""
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=2",
            "--window-size=1000,1100",
            f"--screenshot={shot}",
            html.as_uri(),
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return [r.text for r in zxingcpp.read_barcodes(Image.open(shot))]


def test_qr_of_pdf_and_html_opens_the_configured_verification_page(package: Path, tmp_path: Path) -> None:
    _configured(package)
    manifest = manifest_of(package)
    want = URL.format(deposit_id=manifest["deposit_id"], manifest_sm3=_manifest_sm3(package))
    cert = tmp_path / "cert.pdf"
    write_deposit_certificate(package, cert, lang="zh")
    report = verify_package(package, trust=TrustStore.load(package.parent / "home"))
    ver = tmp_path / "v.pdf"
    write_verification_report(report, ver, lang="en")
    for pdf in (cert, ver):
        found = zxingcpp.read_barcodes(Image.open(render_png(pdf, tmp_path / pdf.stem, dpi=150)))
        assert [r.text for r in found] == [want]
        assert want in _first_page(pdf)  # the link is printed beside the code
    html = tmp_path / "cert.html"
    write_deposit_certificate(package, html, lang="zh", fmt="html")
    assert _html_qr(html, tmp_path) == [want]


def test_qr_of_html_without_a_url_holds_the_offline_payload(package: Path, tmp_path: Path) -> None:
    html = tmp_path / "v.html"
    report = verify_package(package, trust=TrustStore.load(package.parent / "home"))
    write_verification_report(report, html, lang="zh")
    svg = re.search(r"<svg[^>]*>", html.read_text(encoding="utf-8"))
    assert svg is not None and "viewBox" in svg.group(0) and "width=" not in svg.group(0)
    found = _html_qr(html, tmp_path)
    assert len(found) == 1
    fields = parse_payload(found[0])
    assert fields["id"] == manifest_of(package)["deposit_id"] and fields["manifest-sm3"] == _manifest_sm3(package)


def test_bad_verify_url_is_one_line_and_exit_4(package: Path, tmp_path: Path, cli: Callable[..., Any]) -> None:
    from test_report_support import ensure_report_command

    ensure_report_command()
    (package.parent / "home" / "config.toml").write_text('[report]\nverify_url = "https://h/{case}"\n')
    res = cli("report", package, "-o", tmp_path / "c.pdf")
    assert res.code == 4 and len(res.err.strip().splitlines()) == 1 and "verify_url" in res.err
    assert not (tmp_path / "c.pdf").exists()


def test_hash_only_package_reports_with_its_originals(tmp_path: Path, cli: Callable[..., Any]) -> None:
    from test_report_support import ensure_report_command

    ensure_report_command()
    (tmp_path / "ev").mkdir()
    (tmp_path / "ev" / "a.txt").write_text("借款合同\n", encoding="utf-8")
    package = deposit([tmp_path / "ev"], tmp_path / "h.evp", "--hash-only")
    without = cli("report", package, "-o", tmp_path / "x.pdf")
    assert without.code == 3 and not (tmp_path / "x.pdf").exists()
    res = cli("report", package, "-o", tmp_path / "h.pdf", "--data", tmp_path / "ev" / "a.txt")
    assert res.code == 0, res.err
    assert "（仅存哈希，原件由存证人另行提交）" in _first_page(tmp_path / "h.pdf")


def test_gps_in_degrees_ctime_labelled_and_mhtml_called_a_web_archive(tmp_path: Path) -> None:
    (tmp_path / "ev").mkdir()
    photo = Path(__file__).parent / "assets" / "images" / "photo_exif_gps_xmp.jpg"
    (tmp_path / "ev" / photo.name).write_bytes(photo.read_bytes())
    (tmp_path / "ev" / "page.mhtml").write_bytes(
        b"From: <Saved by Blink>\r\nSubject: Example\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/related; type="text/html"; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/html\r\nContent-Location: https://example.com/\r\n\r\n<html>hi</html>\r\n--b--\r\n"
    )
    package = deposit([tmp_path / "ev"], tmp_path / "m.evp")
    out = tmp_path / "m.pdf"
    write_deposit_certificate(package, out, lang="en")
    text = " ".join(pdftotext(out).split())
    # 39/1 54/1 273/10 and 116/1 23/1 59/2 as recorded by the camera (see test_collect_image.py).
    assert "GPS: 39.907583° N (39° 54′ 27.30″), 116.391528° E (116° 23′ 29.50″)" in text
    assert "39/1" not in text
    assert "ctime (file-system change time of this copy, not a creation time)" in text
    assert "web archive (MHTML), not an email" in text


def test_self_signed_depositor_is_named_so_and_the_intact_signature_explained(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("P", "correct horse battery staple")
    assert cli("keys", "generate", "--name", "张律师", "--passphrase-env", "P").code == 0
    (tmp_path / "ev").mkdir()
    (tmp_path / "ev" / "合同.txt").write_text("借款合同 第一条\n", encoding="utf-8")
    package = deposit([tmp_path / "ev"], tmp_path / "s.evp", "--sign", "--passphrase-env", "P")
    # A court that has not added the lawyer's key: the signature is intact but nobody vouches for the key.
    # (`keys generate` trusted it on the lawyer's machine; that trust is taken back here.)
    listed = json.loads(cli("trust", "list", "--json").out)["anchors"]
    for anchor in (a for a in listed if a["role"] == "signer"):
        assert cli("trust", "remove", anchor["fingerprint"]).code == 0
    report = verify_package(package, trust=TrustStore.load(Path(__import__("os").environ["EVIDENCECTL_HOME"])))
    assert report.verdict.value == "INDETERMINATE"
    out = tmp_path / "v.pdf"
    write_verification_report(report, out, lang="zh", settings={})
    first = _first_page(out)
    assert "张律师：以自签名证书签名" in first and "未经第三方核验身份" in first
    assert "存证人签名正确但签名者未受信任" in first
    text = re.sub(r"\s+", "", pdftotext(out))
    explained = "签名本身正确，数据未被改动；但签名证书不受验证者信任"
    explained += "（证书来自存证包certs/depositor.pem，为自签名证书）"
    assert explained in text
