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
