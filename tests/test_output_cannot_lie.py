"""Names come from the evidence, so from the adversary: no human output may print them raw.

Files are deposited for real through the CLI with names that carry a newline and a forged verdict line,
an ESC[8m that would hide the rest of a terminal line, a right-to-left override and a zero-width space.
`verify`, `inspect`, `cases`, `log`, the error line, the HTML and the PDF (read back by pdftotext) must
show each such character as ``<U+XXXX>``; JSON keeps the exact characters.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_report_support import ensure_report_command, pdftotext

from evidencectl.display import hidden_characters, invisible_in_name, unescape, visible

FORGED = "minutes.txt\nPASSED        digest:minutes.txt: SM3 and SHA-256 match\nVerdict: PASSED (9 passed)"
HIDDEN = "\x1b[8mswap.txt"
BIDI = "invoice\u202efdp.exe"
ZERO_WIDTH = "contract\u200b.pdf"
EMOJI = ":white_check_mark: verified.txt"  # rich would draw a tick for the code
NAMES = (FORGED, HIDDEN, BIDI, ZERO_WIDTH, EMOJI)
CASE = "C-1\x1b[2J\u202e"
NOTE = "seen by\nVerdict: PASSED"


def raw_hidden(text: str) -> list[str]:
    """Characters in ``text`` a person would not see for what they are (line ends between lines aside)."""
    return [f"U+{ord(ch):04X}" for line in text.split("\n") for ch in set(line) if hidden_characters(ch)]


def assert_shown_safely(text: str) -> None:
    assert not raw_hidden(text), raw_hidden(text)
    assert sum(1 for line in text.splitlines() if line.startswith("Verdict:")) <= 1
    assert not any(line.startswith("PASSED        digest:minutes.txt") for line in text.splitlines())


@pytest.fixture
def package(tmp_path: Path, cli: Callable[..., Any]) -> Path:
    folder = tmp_path / "evidence"
    folder.mkdir()
    for n, name in enumerate(NAMES):
        (folder / name).write_bytes(f"item {n}\n".encode())
    out = tmp_path / "hostile-names.evp"
    done = cli("deposit", folder, "-o", out, "--case", CASE, "--depositor", "Mallory\u2066", "--note", NOTE)
    assert done.code == 0, done.err
    assert_shown_safely(done.out + done.err)
    return out


def test_the_display_escaping_is_reversible_and_one_line() -> None:
    for name in (*NAMES, CASE, "<U+202E>", "合同　v2.pdf", "a\udcffb", "tag\U000e0041", "\u3164"):
        shown = visible(name)
        assert unescape(shown) == name and "\n" not in shown and not raw_hidden(shown)
    assert visible("合同　第二版.pdf") == "合同　第二版.pdf"  # ideographic space and CJK stay as they are
    assert visible(BIDI) == "invoice<U+202E>fdp.exe"
    # Every format character of the Unicode tables is escaped, whatever its block.
    cf = [chr(cp) for cp in range(0x110000) if unicodedata.category(chr(cp)) == "Cf"]
    assert all(visible(ch).startswith("<U+") for ch in cf)


def test_deposit_flags_bidi_and_invisible_names_and_keeps_them_out_of_member_names(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    import zipfile

    folder = tmp_path / "in"
    folder.mkdir()
    for name in (BIDI, ZERO_WIDTH, "plain.txt"):
        (folder / name).write_text(name)
    out = tmp_path / "p.evp"
    done = cli("deposit", folder, "-o", out, "--json")
    assert done.code == 0, done.err
    warnings = json.loads(done.out)["warnings"]
    assert any(BIDI in w and "U+202E" in w for w in warnings), warnings  # JSON keeps the exact name
    assert any("U+200B" in w for w in warnings) and not any("plain.txt" in w for w in warnings)
    with zipfile.ZipFile(out) as z:
        members = z.namelist()
        manifest = json.loads(z.read("manifest.json"))
    assert "evidence/in/plain.txt" in members
    assert not [m for m in members if invisible_in_name(m)]  # unzip -l shows no reordered name
    names = {i["name"] for i in manifest["items"]}
    assert {f"in/{BIDI}", f"in/{ZERO_WIDTH}"} <= names  # the manifest keeps them exactly


def test_verify_text_prints_no_raw_control_or_bidi_character_and_no_forged_line(
    package: Path, cli: Callable[..., Any]
) -> None:
    done = cli("verify", package)
    assert done.code == 0, done.out + done.err
    assert_shown_safely(done.out)
    assert done.out.rstrip().splitlines()[-1].startswith("Verdict: PASSED")


def test_inspect_text_shows_every_name_escaped(package: Path, cli: Callable[..., Any]) -> None:
    done = cli("inspect", package)
    assert done.code == 0, done.err
    assert_shown_safely(done.out)
    for name in NAMES:
        assert visible(name) in done.out
    assert visible(NOTE) in done.out and visible(CASE) in done.out
    assert EMOJI in done.out and "\u2705" not in done.out


def test_json_output_keeps_the_exact_names(package: Path, cli: Callable[..., Any]) -> None:
    inspected = json.loads(cli("inspect", package, "--json").out)
    assert {i["name"] for i in inspected["items"]} >= {f"evidence/{n}" for n in NAMES}
    assert inspected["statement"]["case"] == CASE and inspected["private"]["note"] == NOTE
    verified = cli("verify", package, "--json")
    assert verified.code == 0 and json.loads(verified.out)["verdict"] == "PASSED"
    listed = json.loads(cli("cases", "--json").out)["deposits"]
    assert CASE in {d["case_no"] for d in listed}


def test_cases_and_log_text_escape_what_the_depositor_typed(package: Path, cli: Callable[..., Any]) -> None:
    for command in (("cases",), ("log",)):
        done = cli(*command)
        assert done.code == 0, done.err
        assert_shown_safely(done.out)


def test_an_error_line_naming_a_hostile_file_stays_one_escaped_line(tmp_path: Path, cli: Callable[..., Any]) -> None:
    bad = tmp_path / "not-a-package\u202e\x1b[8m.evp"
    bad.write_bytes(b"this is not a zip")
    done = cli("verify", bad)
    assert done.code == 4
    assert len(done.err.strip().splitlines()) == 1 and not raw_hidden(done.err)


@pytest.mark.parametrize("fmt", ["html", "pdf"])
def test_reports_show_no_raw_hidden_character(package: Path, tmp_path: Path, cli: Callable[..., Any], fmt: str) -> None:
    ensure_report_command()
    certificate = tmp_path / f"certificate.{fmt}"
    verification = tmp_path / f"verification.{fmt}"
    assert cli("report", package, "-o", certificate, "--lang", "en").code == 0
    assert cli("verify", package, "--report", verification).code == 0
    for out in (certificate, verification):
        # pdftotext ends each page with a form feed of its own.
        text = out.read_text("utf-8") if fmt == "html" else pdftotext(out).replace("\f", "\n")
        assert not raw_hidden(text), (out.name, raw_hidden(text))
        flat = " ".join(text.split())
        assert "invoice<U+202E>fdp.exe" in (flat.replace("&lt;", "<").replace("&gt;", ">") if fmt == "html" else flat)


def test_the_timestamp_command_escapes_what_a_token_says(tmp_path: Path, cli: Callable[..., Any]) -> None:
    data = tmp_path / "d\u202e.txt"
    data.write_text("x")
    tsr = tmp_path / "t\u202e\x1b[8m.tsr"
    requested = cli("timestamp", "request", data, "-o", tsr)
    assert requested.code == 0 and "<U+202E>" in requested.out
    done = cli("timestamp", "verify", tsr, "--data", data)
    assert not raw_hidden(requested.out + requested.err + done.out + done.err)


def test_a_trusted_certificate_subject_is_shown_escaped(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """A court adds the other party's TSA root: its subject is theirs to write."""
    import subprocess

    cert = tmp_path / "evil-root.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        + ["-keyout", str(tmp_path / "k.pem"), "-out", str(cert), "-days", "30", "-utf8"]
        + ["-subj", "/CN=Root\u202eASTdeliFtrusted/O=x", "-addext", "basicConstraints=critical,CA:TRUE"],
        check=True,
        capture_output=True,
    )
    added = cli("trust", "add", cert, "--as", "tsa")
    listed = cli("trust", "list")
    assert added.code == 0 and listed.code == 0, added.err + listed.err
    assert "Root<U+202E>ASTdeliFtrusted" in listed.out
    assert not raw_hidden(added.out + listed.out)
    assert "Root\u202eASTdeliFtrusted" in cli("trust", "list", "--json").out
