"""Deposit certificates and verification reports: facts in full, fonts embedded, QR readable, errors clean."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from test_report_support import (
    deposit,
    ensure_report_command,
    manifest_of,
    pdf_pages,
    pdffonts,
    pdftotext,
    render_png,
)

from evidencectl.errors import BadInputError, IndeterminateError, UsageError, VerificationError
from evidencectl.report import write_deposit_certificate, write_verification_report
from evidencectl.report.qr import parse_payload
from evidencectl.timestamp.token import parse_timestamp

EXAMPLES = Path(__file__).parent.parent / "examples" / "evidence"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One deposit of examples/evidence: (its EVIDENCECTL_HOME, the package)."""
    base = tmp_path_factory.mktemp("report")
    mp = pytest.MonkeyPatch()
    mp.setenv("EVIDENCECTL_HOME", str(base / "home"))
    try:
        package = deposit([EXAMPLES], base / "case.evp")
    finally:
        mp.undo()
    return base / "home", package


@pytest.fixture
def package(made: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The deposit, with EVIDENCECTL_HOME pointing at the data directory that made it (its TSA is trusted)."""
    monkeypatch.setenv("EVIDENCECTL_HOME", str(made[0]))
    return made[1]


def _expected_facts(package: Path) -> dict[str, Any]:
    """Digests, roots, TSA serials and block hashes read straight from the package with zipfile."""
    manifest = manifest_of(package)
    with zipfile.ZipFile(package) as z:
        raw = z.read("manifest.json")
        serials = [str(parse_timestamp(z.read(n)).serial) for n in z.namelist() if n.startswith("proofs/timestamps/")]
        receipts = [json.loads(z.read(n)) for n in z.namelist() if n.startswith("proofs/anchors/")]
    digests = [d for i in manifest["items"] for d in (i["digests"]["sm3"], i["digests"]["sha256"])]  # type: ignore[index]
    return {
        "manifest": manifest,
        "manifest_sm3": hashlib.new("sm3", raw).hexdigest(),
        "digests": digests,
        "roots": list(manifest["roots"].values()),  # type: ignore[attr-defined]
        "serials": serials,
        "block_hashes": [r["block"]["hash"] for r in receipts],
        "receipts": receipts,
    }


@pytest.mark.parametrize("lang,page_word", [("zh", "第 1 页 / 共 {n} 页"), ("en", "Page 1 of {n}")])
def test_certificate_pdf_states_every_fact_in_full(package: Path, tmp_path: Path, lang: str, page_word: str) -> None:
    out = tmp_path / f"cert-{lang}.pdf"
    write_deposit_certificate(package, out, lang=lang)
    text = pdftotext(out)
    facts = _expected_facts(package)
    for value in [*facts["digests"], *facts["roots"], *facts["block_hashes"], facts["manifest_sm3"]]:
        assert value in text, value
    for serial in facts["serials"]:
        assert re.search(rf"\b{serial}\b", text)
    pages = pdf_pages(out)
    flat = re.sub(r"\s+", "", text)
    # pdftotext drops the spaces between CJK characters; compare without white space.
    for page in range(1, pages + 1):
        assert re.sub(r"\s+", "", page_word.replace("1", "{p}", 1).format(p=page, n=pages)) in flat
    # The deposit number and the manifest SM3 appear on every page (the footer).
    assert text.count(facts["manifest"]["deposit_id"]) >= pages + 1
    assert text.count(facts["manifest_sm3"]) >= pages
    assert "（2026）渝0103民初1234号" in text and "张律师" in text
    assert "openssl dgst -sm3" in text and "openssl ts -verify" in text and "verify_by_hand.py" in text


def test_pdf_fonts_are_all_embedded_subsets(package: Path, tmp_path: Path) -> None:
    out = tmp_path / "cert.pdf"
    write_deposit_certificate(package, out, lang="zh")
    rows = pdffonts(out)
    assert rows, "no fonts listed"
    assert all(r["emb"] == "yes" and r["sub"] == "yes" for r in rows), rows
    # reportlab cuts a font into subsets of 256 glyphs: page one's Chinese may need two of one face.
    names = sorted({r["name"].split("+", 1)[-1] for r in rows})
    assert sorted({n.rsplit("-", 1)[0] if n.startswith("Noto") else n for n in names}) == [
        "IBMPlexMono-Regular",
        "NotoSansSC-Bold",
        "NotoSansSC-Regular",
    ]


def test_qr_code_decodes_to_the_documented_payload(package: Path, tmp_path: Path) -> None:
    out = tmp_path / "cert.pdf"
    write_deposit_certificate(package, out, lang="en")
    png = render_png(out, tmp_path / "page1", dpi=150)
    found = zxingcpp.read_barcodes(Image.open(png))
    assert len(found) == 1
    fields = parse_payload(found[0].text)
    facts = _expected_facts(package)
    receipt = facts["receipts"][0]
    header = receipt["block"]["header"]
    assert found[0].text.startswith("EVIDENCECTL-DEPOSIT/1\n")
    assert fields == {
        "id": facts["manifest"]["deposit_id"],
        "manifest-sm3": facts["manifest_sm3"],
        "sm3": facts["manifest"]["roots"]["sm3"],
        "sha256": facts["manifest"]["roots"]["sha256"],
        "anchor": f"ledger;{receipt['ledger_id']};{header['height']};{receipt['block']['hash']}",
    }


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_rendered_page_is_not_blank(package: Path, tmp_path: Path, lang: str) -> None:
    out = tmp_path / "cert.pdf"
    write_deposit_certificate(package, out, lang=lang)
    image = Image.open(render_png(out, tmp_path / "p", dpi=60)).convert("L")
    dark = sum(image.histogram()[:128])
    assert dark > 0.01 * image.width * image.height


def test_html_certificate_is_self_contained(package: Path, tmp_path: Path) -> None:
    out = tmp_path / "cert.html"
    write_deposit_certificate(package, out, lang="zh", fmt="html")
    html = out.read_text(encoding="utf-8")
    facts = _expected_facts(package)
    for value in [*facts["digests"], *facts["roots"], *facts["block_hashes"], facts["manifest_sm3"]]:
        assert value in html
    assert "<svg" in html and "<style>" in html
    assert not re.search(r"<(link|script|img)\b", html)
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", html)
    assert "EVIDENCECTL-DEPOSIT/1" in html


def _tamper(package: Path, dst: Path) -> Path:
    """A copy of ``package`` whose first evidence member has one byte changed."""
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(dst, "w") as out:
        done = False
        for info in src.infolist():
            data = src.read(info)
            if not done and info.filename.startswith("evidence/") and data:
                data = bytes([data[0] ^ 1]) + data[1:]
                done = True
            out.writestr(info, data)
    return dst


def test_failing_package_is_refused_without_force(package: Path, tmp_path: Path) -> None:
    bad = _tamper(package, tmp_path / "bad.evp")
    out = tmp_path / "cert.pdf"
    with pytest.raises(VerificationError, match="verification FAILED"):
        write_deposit_certificate(bad, out)
    assert not out.exists()
    assert list(tmp_path.glob(".cert.pdf*")) == []


def test_forced_certificate_says_verification_failed_on_page_one(package: Path, tmp_path: Path) -> None:
    bad = _tamper(package, tmp_path / "bad.evp")
    out = tmp_path / "cert.pdf"
    write_deposit_certificate(bad, out, lang="zh", force=True)
    first = re.sub(r"\s+", "", pdftotext(out, "-f", "1", "-l", "1"))
    assert "未通过：存证包与存证时的记录不一致" in first
    assert "在存证后被修改；其余3项与存证一致；时间戳与锚定有效。" in first
    # The appendix opens with every check that did not pass, by name.
    appendix = pdftotext(out, "-f", "2", "-l", "2")
    assert "验证未通过" in appendix and "digest:evidence/" in appendix
    out_en = tmp_path / "cert-en.pdf"
    write_deposit_certificate(bad, out_en, lang="en", force=True)
    first_en = " ".join(pdftotext(out_en, "-f", "1", "-l", "1").split())
    assert "FAILED: the package does not match what was deposited" in first_en
    assert "was modified after the deposit; the other 3 items match the deposit" in first_en
    assert "did NOT pass verification (verdict: FAILED)" in pdftotext(out_en, "-f", "2", "-l", "2")


def test_untrusted_tsa_is_indeterminate_and_refused(
    package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVIDENCECTL_HOME", str(tmp_path / "elsewhere"))
    with pytest.raises(IndeterminateError, match="verification INDETERMINATE"):
        write_deposit_certificate(package, tmp_path / "c.pdf")


def test_missing_font_is_one_clear_error_and_no_file(
    package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "cert.pdf"
    out.write_bytes(b"previous certificate")
    monkeypatch.setenv("EVIDENCECTL_REPORT_FONT", str(tmp_path / "no-such-font.ttf"))
    with pytest.raises(BadInputError) as err:
        write_deposit_certificate(package, out)
    assert "no-such-font.ttf" in err.value.diagnostics() and "\n" not in err.value.diagnostics()
    assert out.read_bytes() == b"previous certificate"


def test_unwritable_output_and_bad_options(package: Path, tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="folder does not exist"):
        write_deposit_certificate(package, tmp_path / "missing" / "cert.pdf")
    with pytest.raises(BadInputError, match="is a directory"):
        write_deposit_certificate(package, tmp_path)
    with pytest.raises(UsageError):
        write_deposit_certificate(package, tmp_path / "c.pdf", lang="fr")
    with pytest.raises(UsageError):
        write_deposit_certificate(package, tmp_path / "c.pdf", fmt="docx")


def test_report_command_exit_codes(package: Path, tmp_path: Path, cli: Callable[..., Any]) -> None:
    ensure_report_command()
    ok = cli("report", package, "-o", tmp_path / "c.html", "--lang", "en")
    assert ok.code == 0, ok.err
    assert (tmp_path / "c.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    bad = _tamper(package, tmp_path / "bad.evp")
    refused = cli("report", bad, "-o", tmp_path / "bad.pdf")
    # A package that was read and failed is a verdict (exit 1), not unreadable input (exit 4).
    assert refused.code == 1 and not (tmp_path / "bad.pdf").exists()
    assert len(refused.err.strip().splitlines()) == 1 and "--force" in refused.err
    forced = cli("report", bad, "-o", tmp_path / "bad.pdf", "--force")
    assert forced.code == 0 and (tmp_path / "bad.pdf").read_bytes().startswith(b"%PDF-")
    nowhere = cli("report", package, "-o", tmp_path / "no" / "dir" / "c.pdf")
    assert nowhere.code == 4 and len(nowhere.err.strip().splitlines()) == 1
    assert cli("report", package, "--lang", "fr").code == 2
    assert cli("report", package, "--format", "docx").code == 2
    default = cli("report", package)
    assert default.code == 0 and package.with_suffix(".pdf").is_file()


@pytest.mark.parametrize("name", ["verification.pdf", "verification.html"])
def test_verify_report_lists_verdict_checks_and_anchors(
    package: Path, tmp_path: Path, cli: Callable[..., Any], name: str
) -> None:
    out = tmp_path / name
    res = cli("verify", package, "--json", "--report", out, "--lang", "en")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    text = out.read_text(encoding="utf-8") if name.endswith(".html") else pdftotext(out)
    flat = re.sub(r"\s+", "", text)
    assert text.index("PASSED: the deposited data has not changed") < text.index("digest:")
    for check in doc["checks"]:
        assert re.sub(r"\s+", "", check["check"]) in flat
    for anchor in doc["trust_anchors"]:
        assert anchor["fingerprint"] in flat
    # The verifier's own trust-store files are named by kind, never by their local path.
    local = [a["source"] for a in doc["trust_anchors"] if a["source"].startswith("/")]
    assert local and not any(re.sub(r"\s+", "", p) in flat for p in local)
    assert doc["tool"] in text and doc["verified_at"] in text
    for check in doc["checks"]:
        if check["check"].startswith("digest:"):
            assert check["facts"]["sm3"] in text and check["facts"]["sha256"] in text


def test_verification_report_of_a_failed_package_leads_with_the_failure(package: Path, tmp_path: Path) -> None:
    from evidencectl.crypto.trust import TrustStore
    from evidencectl.verify.verifier import verify_package

    bad = _tamper(package, tmp_path / "bad.evp")
    report = verify_package(bad, trust=TrustStore.load(Path(__import__("os").environ["EVIDENCECTL_HOME"])))
    out = tmp_path / "v.pdf"
    write_verification_report(report, out, lang="zh")
    first = re.sub(r"\s+", "", pdftotext(out, "-f", "1", "-l", "1"))
    failing = next(c for c in report.checks if c.status.value == "FAILED")
    name = failing.facts["item"].rsplit("/", 1)[-1]
    assert first.startswith("电子数据存证验证报告出具方：")
    assert f"未通过：存证包与存证时的记录不一致「{name}」在存证后被修改；其余3项与存证一致；时间戳与锚定有效。" in first
    assert failing.check in re.sub(r"\s+", "", pdftotext(out))


def test_package_copy_in_a_read_only_folder_still_reports(package: Path, tmp_path: Path) -> None:
    # The certificate only reads the package; a court's copy may sit on read-only media.
    ro = tmp_path / "ro"
    ro.mkdir()
    copy = ro / "case.evp"
    shutil.copy(package, copy)
    ro.chmod(0o555)
    try:
        write_deposit_certificate(copy, tmp_path / "c.pdf")
    finally:
        ro.chmod(0o755)
    assert (tmp_path / "c.pdf").stat().st_size > 1000


def test_email_metadata_shows_headers_and_every_dkim_result() -> None:
    from evidencectl.report.metadata import MAX_LINES, metadata_lines

    meta = {
        "size": 10,
        "email": {
            "from": {"text": "张三 <zhang@example.cn>"},
            "subject": "合同 contract",
            "date": {"raw": "Mon, 1 Jan 2026 10:00:00 +0800", "utc": "2026-01-01T02:00:00Z"},
            "dkim": [
                {"domain": "example.cn", "selector": "s1", "algorithm": "rsa-sha256", "result": "pass", "reason": ""},
                {
                    "domain": "relay.cn",
                    "selector": "s2",
                    "algorithm": "ed25519-sha256",
                    "result": "fail",
                    "reason": "body hash mismatch",
                },
            ],
            "arc": {"result": "pass", "reason": ""},
            "received": [{"from": "a"}, {"from": "b"}],
        },
    }
    lines = metadata_lines(meta)
    assert "from: 张三 <zhang@example.cn>" in lines and "subject: 合同 contract" in lines
    assert "date: 2026-01-01T02:00:00Z (Mon, 1 Jan 2026 10:00:00 +0800)" in lines and "received: 2 header(s)" in lines
    assert "DKIM d=example.cn s=s1 a=rsa-sha256: pass" in lines
    assert "DKIM d=relay.cn s=s2 a=ed25519-sha256: fail (body hash mismatch)" in lines
    assert "ARC: pass" in lines
    many = metadata_lines({"image": {f"k{n:02d}": n for n in range(60)}})
    assert len(many) == MAX_LINES and many[-1].endswith("more in manifest.json")
