"""Pagination of a large deposit: 500 items, very long names, Chinese and English mixed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_report_support import deposit, manifest_of, pdf_pages, pdffonts, pdftotext

from evidencectl.report import write_deposit_certificate

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


def test_500_items_paginate_with_every_digest_and_name_whole(
    big: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVIDENCECTL_HOME", str(big[0]))
    out = tmp_path / "big.pdf"
    write_deposit_certificate(big[1], out, lang="zh")
    manifest = manifest_of(big[1])
    items = manifest["items"]
    assert isinstance(items, list) and len(items) == 500
    lines = set(pdftotext(out).splitlines())
    for item in items:
        # Each digest stands whole on a line of its own: not cut, not overlapped by another cell.
        assert item["digests"]["sm3"] in lines, item["name"]
        assert item["digests"]["sha256"] in lines, item["name"]
    pages = pdf_pages(out)
    assert pages > 20
    # The item column alone (x 72..262 pt): each name, wrapped or not, reads back whole and in order.
    column = re.sub(r"\s+", "", pdftotext(out, "-x", "72", "-y", "0", "-W", "190", "-H", "842"))
    position = 0
    for item in items:
        want = re.sub(r"\s+", "", item["name"])
        found = column.find(want, position)
        assert found >= 0, item["name"]
        position = found + len(want)
    flat = re.sub(r"\s+", "", pdftotext(out))
    assert f"第{pages}页/共{pages}页" in flat
    assert all(r["emb"] == "yes" for r in pdffonts(out))
