"""The note is the depositor's own remark: a disclosure (``extract``) proves its items and the deposit's
public facts without it, and a complete package cannot have it edited or removed (format version 3,
docs/format.md §3.1). Three data directories: the depositor deposits and extracts, the other party and the
court verify with the depositor's services added to their trust stores."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import rfc8785

from evidencectl.package.canonical import canonical_json
from tests.conftest import ASSETS
from tests.zipattacks import Layout, build, entries_of

NOTE = "内部备注：对方底线 48,000 元 NOTE-7f3a"
"""Unique enough to grep for, in UTF-8 and in any JSON escaping."""


def _deposit(cli, tmp_path: Path, note: str = NOTE) -> Path:  # type: ignore[no-untyped-def]
    folder = tmp_path / "files"
    folder.mkdir(exist_ok=True)
    (folder / "contract.txt").write_text("合同第一条\n", encoding="utf-8")
    (folder / "invoice.txt").write_text("invoice 42\n", encoding="utf-8")
    out = tmp_path / f"full-{len(list(tmp_path.glob('full-*.evp')))}.evp"
    case = "（2026）渝0103民初1234号"
    res = cli("deposit", folder, "-o", out, "--case", case, "--depositor", "张律师", "--note", note)
    assert res.code == 0, res.err
    return out


def _manifest(package: Path) -> dict:  # type: ignore[type-arg]
    entries = entries_of(package)
    return json.loads(next(e.data for e in entries if e.name == "manifest.json"))


def _with_manifest(package: Path, manifest: dict, out: Path) -> Path:  # type: ignore[type-arg]
    """The package with manifest.json replaced by the canonical bytes of ``manifest`` (a careful forger
    keeps the canonical form, which the reader otherwise refuses)."""
    entries = entries_of(package)
    for e in entries:
        if e.name == "manifest.json":
            e.data = canonical_json(manifest)
    out.write_bytes(build(Layout(entries=entries)))
    return out


def _spellings(text: str) -> list[bytes]:
    """Every way the note could sit in the package's bytes: UTF-8, JSON-escaped, UTF-16 (LE, BE)."""
    return [
        text.encode(),
        json.dumps(text).encode()[1:-1],
        text.encode("utf-16-le"),
        text.encode("utf-16-be"),
        b"NOTE-7f3a",
    ]


def test_extracted_package_does_not_hold_the_note_in_any_byte_and_still_passes(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    full = _deposit(cli, tmp_path)
    assert NOTE.encode() in full.read_bytes()  # the complete package keeps it
    one = tmp_path / "one.evp"
    assert cli("extract", full, "--item", "files/contract.txt", "-o", one).code == 0
    raw = one.read_bytes()
    salt = _manifest(full)["private"]["salt"].encode()
    for spelling in [*_spellings(NOTE), salt]:
        assert spelling not in raw
    # Each member as unzip extracts it, not as our reader reads it.
    folder = tmp_path / "unzipped"
    subprocess.run(["unzip", "-q", str(one), "-d", str(folder)], check=True)
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert {str(p.relative_to(folder)) for p in files} >= {"manifest.json", "evidence/files/contract.txt"}
    for path in files:
        data = path.read_bytes()
        assert not any(s in data for s in [*_spellings(NOTE), salt]), path
    manifest = _manifest(one)
    assert "private" not in manifest
    assert manifest["statement"]["private_leaf"] == _manifest(full)["statement"]["private_leaf"]
    res = cli("verify", "--json", one)
    assert res.code == 0, res.out
    checks = {c["check"]: c for c in json.loads(res.out)["checks"]}
    assert checks["statement:note"]["status"] == "PASSED"
    assert checks["statement:note"]["reason"] == "WITHHELD"
    assert checks["statement:note"]["facts"]["withheld"] is True
    assert checks["inclusion:statement"]["status"] == "PASSED"
    assert "withheld by this disclosure" in cli("inspect", one).out
    html = tmp_path / "cert.html"
    assert cli("report", one, "-o", html, "--format", "html", "--lang", "en").code == 0
    text = html.read_text(encoding="utf-8")
    assert "withheld by this disclosure" in text and "NOTE-7f3a" not in text


def test_complete_package_shows_and_checks_its_note(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    full = _deposit(cli, tmp_path)
    res = cli("verify", "--json", full)
    assert res.code == 0, res.out
    check = next(c for c in json.loads(res.out)["checks"] if c["check"] == "statement:note")
    assert check["status"] == "PASSED" and check["facts"]["withheld"] is False
    assert NOTE in cli("inspect", full).out


def test_note_edited_in_a_complete_package_fails_with_digest_mismatch(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    manifest = _manifest(_deposit(cli, tmp_path))
    manifest["private"]["note"] = "no remark"
    forged = _with_manifest(tmp_path / "full-0.evp", manifest, tmp_path / "edited.evp")
    res = cli("verify", "--json", forged)
    assert res.code == 1, res.out
    check = next(c for c in json.loads(res.out)["checks"] if c["check"] == "statement:note")
    assert (check["status"], check["reason"]) == ("FAILED", "DIGEST_MISMATCH")
    # The tree still holds (the statement is untouched): the note's own leaf is what catches the edit.
    assert next(c for c in json.loads(res.out)["checks"] if c["check"] == "inclusion:tree")["status"] == "PASSED"


def test_note_removed_from_a_complete_package_fails(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    full = _deposit(cli, tmp_path)
    manifest = _manifest(full)
    del manifest["private"]
    res = cli("verify", "--json", _with_manifest(full, manifest, tmp_path / "removed.evp"))
    assert res.code == 1, res.out
    check = next(c for c in json.loads(res.out)["checks"] if c["check"] == "statement:note")
    assert (check["status"], check["reason"]) == ("FAILED", "MISSING_NOTE")


def test_note_moved_back_into_a_version_3_statement_is_refused(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    full = _deposit(cli, tmp_path)
    manifest = _manifest(full)
    manifest["statement"]["note"] = "forged public remark"
    res = cli("verify", _with_manifest(full, manifest, tmp_path / "moved.evp"))
    assert res.code == 4
    assert "must not hold the note" in res.err


@pytest.mark.parametrize("salt", ["ab" * 8, "ab" * 31, "", None], ids=["64-bit", "248-bit", "empty", "missing"])
def test_private_record_with_a_short_or_missing_salt_is_refused(cli, tmp_path: Path, salt: str | None) -> None:  # type: ignore[no-untyped-def]
    full = _deposit(cli, tmp_path)
    manifest = _manifest(full)
    if salt is None:
        del manifest["private"]["salt"]
    else:
        manifest["private"]["salt"] = salt
    forged = _with_manifest(full, manifest, tmp_path / "salt.evp")
    for command in ("verify", "inspect"):
        res = cli(command, forged)
        assert res.code == 4, res.err
        assert "private" in res.err and "salt" in res.err


def test_note_cannot_be_guessed_from_its_sealed_leaf(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The other side holds private_leaf and may guess the note ("no remark", a number…): without the
    256-bit salt, which only the complete package holds, no guess can be confirmed."""
    first, second = _deposit(cli, tmp_path), _deposit(cli, tmp_path)
    a, b = _manifest(first), _manifest(second)
    # One note, two deposits: two unrelated leaf hashes (a fresh salt each time).
    assert a["statement"]["private_leaf"] != b["statement"]["private_leaf"]
    for m in (a, b):
        salt = m["private"]["salt"]
        assert len(bytes.fromhex(salt)) == 32
        record = {"kind": "private", "note": NOTE, "salt": salt}
        sealed = m["statement"]["private_leaf"]["sha256"]
        assert hashlib.sha256(b"\x00" + rfc8785.dumps(record)).hexdigest() == sealed  # format.md, recomputed
        # The right note with any salt but the sealed one (none, zeros, the other deposit's) is no match.
        for guess in ({"kind": "private", "note": NOTE}, {**record, "salt": "00" * 32}):
            assert hashlib.sha256(b"\x00" + rfc8785.dumps(guess)).hexdigest() != sealed
    assert len({a["private"]["salt"], b["private"]["salt"]}) == 2


def test_version_2_package_still_verifies_and_its_disclosure_says_the_note_goes_along(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    v2 = tmp_path / "v2.evp"
    shutil.copy(ASSETS / "v2" / "v2_files.evp", v2)
    res = cli("verify", "--json", v2)
    doc = json.loads(res.out)
    # Its services are trusted nowhere (the data directory that made it is gone): INDETERMINATE, no FAILED.
    assert res.code == 3, res.out
    assert not [c for c in doc["checks"] if c["status"] == "FAILED"]
    passed = {c["check"] for c in doc["checks"] if c["status"] == "PASSED"}
    assert {"inclusion:tree", "digest:files/contract.txt"} <= passed
    assert "statement:note" not in {c["check"] for c in doc["checks"]}
    assert "internal remark: settle below 50,000" in cli("inspect", v2).out
    one = tmp_path / "v2-one.evp"
    res = cli("extract", v2, "--item", "files/contract.txt", "-o", one)
    assert res.code == 0
    assert "seals the note in its statement: the disclosure carries it" in res.err
    assert cli("verify", one).code == 3
