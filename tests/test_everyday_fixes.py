"""Small everyday defects (issue 19 and the last round's notes): error codes, exact details, the id's date.

Each test runs the real command line or the real verifier on a real package.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from evidencectl.package.schema import load_schema


def _hash_only_package(cli, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text("original\n", encoding="utf-8")
    package = tmp_path / "h.evp"
    assert cli("deposit", src, "-o", package, "--hash-only").code == 0
    return package


def test_missing_data_folder_is_data_not_found_not_a_malformed_package(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    package = _hash_only_package(cli, tmp_path)
    missing = tmp_path / "nope"
    res = cli("verify", package, "--data", f"{missing}/", "--json")
    doc = json.loads(res.out)
    jsonschema.validate(doc, load_schema("error"))
    assert (doc["code"], doc["exit_code"], res.code) == ("DATA_NOT_FOUND", 4, 4)
    assert str(missing) in doc["error"]
    text = cli("verify", package, "--data", missing)
    assert text.code == 4 and text.err.count("\n") == 1 and str(missing) in text.err and "Traceback" not in text.err
    report = cli("report", package, "--data", missing, "-o", tmp_path / "r.html")
    assert report.code == 4 and str(missing) in report.err and not (tmp_path / "r.html").exists()


def test_data_not_found_is_a_documented_error_code() -> None:
    from evidencectl.errors import ERROR_CODES, DataNotFoundError

    assert DataNotFoundError.code in ERROR_CODES
    assert "DATA_NOT_FOUND" in load_schema("error")["properties"]["code"]["enum"]
    guide = (Path(__file__).parent.parent / "docs" / "user-guide.md").read_text(encoding="utf-8")
    assert "`DATA_NOT_FOUND`" in guide


def test_newline_in_an_item_name_stays_exact_in_json_and_escaped_in_text_html_pdf(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil
    import subprocess

    src = tmp_path / "in"
    src.mkdir()
    name = "line1\nPASSED forged.txt"
    original = src / name
    original.write_bytes(b"x")
    package = tmp_path / "p.evp"
    assert cli("deposit", src, "-o", package, "--hash-only").code == 0
    res = cli("verify", package, "--data", original, "--json")
    assert res.code == 0
    data_check = next(c for c in json.loads(res.out)["checks"] if c["check"].startswith("data:"))
    # The detail names the file as it is: folded to a space it would name a file that does not exist.
    assert f"{original} is item in/{name} of this deposit" in data_check["detail"]

    text = cli("verify", package, "--data", original, "--full")
    assert "line1<U+000A>PASSED forged.txt" in text.out
    assert not any(line.startswith("PASSED forged.txt") for line in text.out.splitlines())

    html, pdf = tmp_path / "v.html", tmp_path / "v.pdf"
    assert cli("verify", package, "--data", original, "--report", html).code == 0
    assert cli("verify", package, "--data", original, "--report", pdf).code == 0
    page = html.read_text(encoding="utf-8")
    assert "line1&lt;U+000A&gt;PASSED forged.txt" in page and "line1\nPASSED" not in page
    assert shutil.which("pdftotext"), "poppler-utils is a system dependency (scripts/install-system-deps.sh)"
    shown = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True, check=True).stdout
    assert "line1<U+000A>PASSED forged.txt" in shown


def test_deposit_number_date_is_never_shown_as_a_proven_time(cli, sample_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A court could read ``EVD-20261201-…`` as proof of the day: every place that shows the number says the
    date is the depositor's clock, and the proven time is given on its own line."""
    import re

    package = tmp_path / "p.evp"
    assert cli("deposit", sample_dir, "-o", package).code == 0
    note = "the date in the number is the depositor's clock, not a proven time"
    for command in (("inspect", package), ("verify", package)):
        out = cli(*command).out
        deposit_line = next(line for line in out.splitlines() if line.startswith("Deposit "))
        assert re.search(r"EVD-\d{8}-[0-9A-F]{8}", deposit_line) and note in deposit_line, command
        assert any(line.startswith("Time ") and "Z UTC" in line for line in out.splitlines()), command
    for lang, said, proven in (
        ("zh", "编号中的日期取自存证人电脑的时钟，不证明任何时间", "经证明的存在时间"),
        ("en", "the date in this number is the depositor&#x27;s clock and proves nothing", "Proven time of existence"),
    ):
        certificate = tmp_path / f"c-{lang}.html"
        assert cli("report", package, "--lang", lang, "-o", certificate).code == 0
        page = certificate.read_text(encoding="utf-8")
        assert said in page and proven in page, lang
    verification = tmp_path / "v.html"
    assert cli("verify", package, "--report", verification).code == 0
    assert "编号中的日期取自存证人电脑的时钟" in verification.read_text(encoding="utf-8")
    fmt = (Path(__file__).parent.parent / "docs" / "format.md").read_text(encoding="utf-8")
    assert "the date proves nothing" in fmt
