"""A judge's path, in a real browser: the QR code of a real certificate (rendered PDF, decoded with zxing-cpp)
opens the verification page in Playwright's system Chromium, where a genuine package, a tampered one, a file
of the deposit and a stranger's file are uploaded through the page's forms, in Chinese and in English."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import zxingcpp
from conftest import rewrite_member
from PIL import Image
from service_server import ROOT, Server, run_cli, start_server
from test_report_support import render_png

from evidencectl.capture.browser import FLAGS

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path, str]]:
    """A deposit, the service on its data directory, and the certificate's QR link (read off the PDF)."""
    folder = tmp_path_factory.mktemp("browser")
    home = folder / "home"
    shutil.copytree(ROOT / "examples" / "evidence", folder / "evidence")
    package = folder / "case.evp"
    done = run_cli(home, "deposit", folder / "evidence", "-o", package, "--case", "（2026）渝0103民初1234号")
    assert done.returncode == 0, done.stderr
    srv = start_server(home)
    try:
        # The operator configures the link the certificates carry: this server's page.
        config = f'[report]\nverify_url = "{srv.url}/v/{{deposit_id}}?m={{manifest_sm3}}"\n'
        (home / "config.toml").write_text(config, encoding="utf-8")
        done = run_cli(home, "report", package, "-o", folder / "certificate.pdf")
        assert done.returncode == 0, done.stderr
        found = zxingcpp.read_barcodes(Image.open(render_png(folder / "certificate.pdf", folder / "cert", dpi=150)))
        assert len(found) == 1
        yield srv, package, found[0].text
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """The system Chromium, driven by Playwright, as capture drives it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield chromium
        chromium.close()


def test_the_certificates_qr_code_carries_this_servers_page_link(judged: tuple[Server, Path, str]) -> None:
    srv, package, link = judged
    with zipfile.ZipFile(package) as z:
        raw = z.read("manifest.json")
    deposit_id = json.loads(raw)["deposit_id"]
    assert link == f"{srv.url}/v/{deposit_id}?m={hashlib.new('sm3', raw).hexdigest()}"


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("zh-CN", {"passed": "通过：", "failed": "未通过：", "mine": "该文件属于本存证",
                   "stranger": "该文件不属于本存证", "status": "存证完成", "time": "北京时间"}),
        ("en-US", {"passed": "PASSED:", "failed": "FAILED:", "mine": "This file belongs to this deposit",
                   "stranger": "This file is not in this deposit", "status": "complete", "time": "Beijing time"}),
    ],
)  # fmt: skip
def test_a_judge_scans_the_qr_code_and_checks_packages_and_files_in_the_browser(
    judged: tuple[Server, Path, str], browser: object, locale: str, words: dict[str, str], tmp_path: Path
) -> None:
    srv, package, link = judged
    forged = rewrite_member(package, tmp_path / "案件-篡改.evp", "evidence/evidence/contract.txt", lambda b: b + b"!")
    stranger = tmp_path / "unrelated.txt"
    stranger.write_text("not part of the deposit\n", encoding="utf-8")
    mine = tmp_path / "合同.txt"
    shutil.copy(ROOT / "examples" / "evidence" / "contract.txt", mine)
    context = browser.new_context(locale=locale, java_script_enabled=False)  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        page.goto(link)
        body = page.inner_text("body")
        assert words["status"] in body and words["time"] in body
        page.screenshot(path=str(tmp_path / "page.png"), full_page=True)

        def upload(field: str, path: Path) -> str:
            page.set_input_files(f'input[name="{field}"]', str(path))
            with page.expect_navigation():
                page.click(f'form:has(input[name="{field}"]) button[type="submit"]')
            assert page.url == link or page.url.startswith(link + "&lang=")  # the form posts back to the page
            return page.inner_text("body")

        assert words["passed"] in upload("package", package)
        shown = upload("package", forged)
        assert words["failed"] in shown and "evidence/contract.txt" in shown.split(words["failed"], 1)[1]
        assert words["mine"] in upload("file", mine)
        result = upload("file", stranger)
        assert words["stranger"] in result and "evidence/contract.txt" not in result
        page.screenshot(path=str(tmp_path / "stranger.png"), full_page=True)
    finally:
        context.close()
