"""Pagination of a large deposit: 500 items, very long names, Chinese and English mixed."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import subprocess
from pathlib import Path

import pytest
from test_report_support import deposit, manifest_of, pdf_pages, pdffonts, pdftotext

from evidencectl.report import write_deposit_certificate
from evidencectl.report.itemlist import SHOWN_BEYOND
from evidencectl.report.labels import labels

LONG = "a-very-long-file-name-without-any-spaces-" * 5


def _names() -> list[str]:
    names = []
    for i in range(500):
        if i % 50 == 0:
            names.append(f"{i:03d}-{LONG}{i}.txt")
        elif i % 3 == 0:
            names.append(f"{i:03d}-民事起诉状-第{i}页-complaint page {i}.txt")
        elif i % 3 == 1:
            names.append(f"{i:03d}-微信聊天记录截图说明文字很长很长很长很长很长很长很长很长很长很长很长很长-{i}.txt")
        else:
            names.append(f"{i:03d} contract exhibit {i}.txt")
    return names


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A deposit of 500 small files with awkward names: (EVIDENCECTL_HOME, package)."""
    base = tmp_path_factory.mktemp("big")
    folder = base / "evidence"
    folder.mkdir()
    for n, name in enumerate(_names()):
        (folder / name).write_text(f"item {n} 证据 {name}\n", encoding="utf-8")
    mp = pytest.MonkeyPatch()
    mp.setenv("EVIDENCECTL_HOME", str(base / "home"))
    try:
        package = deposit([folder], base / "big.evp")
    finally:
        mp.undo()
    return base / "home", package


def _pages_text(pdf: Path) -> list[str]:
    return pdftotext(pdf).split("\f")[:-1]


HEADINGS = ("summary", "roots", "timestamps", "anchors", "items", "how", "a17", "a17_1", "a17_2", "a17_3", "a17_4")
HEADINGS += ("appendix", "checks", "trust_anchors", "capture")


def _no_heading_ends_a_page(pdf: Path, lang: str) -> None:
    """The last line of every page above the footer is never a section heading."""
    words = labels(lang)
    headings = {words[k] for k in HEADINGS}
    footer = ("存证编号:", "Deposit:", "manifest.json SM3:", "第", "Page ")
    for n, page in enumerate(_pages_text(pdf), 1):
        lines = [x.strip() for x in page.splitlines() if x.strip() and not x.strip().startswith(footer)]
        assert lines and lines[-1] not in headings, (n, lines[-1])


def test_500_items_stay_short_and_the_attached_csv_lists_every_item(
    big: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVIDENCECTL_HOME", str(big[0]))
    out = tmp_path / "big.pdf"
    write_deposit_certificate(big[1], out, lang="zh")
    manifest = manifest_of(big[1])
    items = manifest["items"]
    assert isinstance(items, list) and len(items) == 500
    pages = pdf_pages(out)
    assert pages <= 12  # 500 items printed in full took more than 20 pages
    assert "共500项" in re.sub(r"\s+", "", pdftotext(out, "-f", "1", "-l", "1"))
    # The whole list rides in the PDF as an embedded file; poppler's pdfdetach reads it back.
    listed = subprocess.run(["pdfdetach", "-list", str(out)], check=True, capture_output=True, text=True).stdout
    assert "items.csv" in listed
    csv_path = tmp_path / "items.csv"
    subprocess.run(["pdfdetach", "-save", "1", "-o", str(csv_path), str(out)], check=True)
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))))
    assert [(r["name"], r["sm3"], r["sha256"], int(r["size"])) for r in rows] == [
        (i["name"], i["digests"]["sm3"], i["digests"]["sha256"], i["size"]) for i in items
    ]
    sha = hashlib.sha256(csv_path.read_bytes()).hexdigest()
    assert sha in re.sub(r"\s+", "", pdftotext(out))
    # The first rows shown: each digest whole on a line, each name whole and in order in its column.
    lines = set(pdftotext(out).splitlines())
    shown = items[:SHOWN_BEYOND]
    for item in shown:
        assert item["digests"]["sm3"] in lines and item["digests"]["sha256"] in lines, item["name"]
    column = re.sub(r"\s+", "", pdftotext(out, "-x", "78", "-y", "0", "-W", "184", "-H", "842"))
    position = 0
    for item in shown:
        want = re.sub(r"\s+", "", item["name"])
        found = column.find(want, position)
        assert found >= 0, item["name"]
        position = found + len(want)
    flat = re.sub(r"\s+", "", pdftotext(out))
    assert f"第{pages}页/共{pages}页" in flat
    assert all(r["emb"] == "yes" for r in pdffonts(out))
    _no_heading_ends_a_page(out, "zh")


def test_html_of_a_large_deposit_links_the_csv_written_beside_it(
    big: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVIDENCECTL_HOME", str(big[0]))
    out = tmp_path / "big.html"
    write_deposit_certificate(big[1], out, lang="en", fmt="html")
    beside = tmp_path / "big.items.csv"
    rows = list(csv.reader(io.StringIO(beside.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 501
    assert '<a href="big.items.csv">' in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_heading_is_left_alone_at_a_page_bottom(
    big: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    from evidencectl.crypto.trust import TrustStore
    from evidencectl.report import write_verification_report
    from evidencectl.verify.verifier import verify_package

    monkeypatch.setenv("EVIDENCECTL_HOME", str(big[0]))
    cert = tmp_path / "cert.pdf"
    write_deposit_certificate(big[1], cert, lang=lang)
    _no_heading_ends_a_page(cert, lang)
    report = verify_package(big[1], trust=TrustStore.load(big[0]))
    out = tmp_path / "verification.pdf"
    write_verification_report(report, out, lang=lang, settings={})
    _no_heading_ends_a_page(out, lang)
    assert "checks.csv" in subprocess.run(["pdfdetach", "-list", str(out)], capture_output=True, text=True).stdout
