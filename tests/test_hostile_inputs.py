"""Hostile inputs end in one named line and the documented exit code, never "unexpected … rerun with --debug".

Each case builds its input for real (a package whose manifest was rewritten, a path list with a NUL, a
command-line value that is not UTF-8, a web capture whose HAR is not what a browser writes) and runs the
real command line. What is checked: the exit code of DESIGN §7, exactly one line on stderr naming the file
or option and what is wrong, and no traceback or "unexpected" wording.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult, rewrite_member

Case = Callable[[Path, Callable[..., CliResult]], CliResult]


def _package(tmp: Path, cli: Callable[..., CliResult]) -> Path:
    src = tmp / "in"
    src.mkdir(exist_ok=True)
    (src / "a.txt").write_text("hello")
    out = tmp / "base.evp"
    if not out.exists():
        assert cli("deposit", src / "a.txt", "-o", out).code == 0
    return out


def _manifest(old: bytes, new: bytes, command: str = "verify") -> Case:
    def case(tmp: Path, cli: Callable[..., CliResult]) -> CliResult:
        forged = rewrite_member(
            _package(tmp, cli), tmp / "forged.evp", "manifest.json", lambda b: re.sub(old, new, b, count=1)
        )
        return cli(command, forged)

    return case


def _deposit_option(option: str, value: str) -> Case:
    def case(tmp: Path, cli: Callable[..., CliResult]) -> CliResult:
        (tmp / "a.txt").write_text("a")
        return cli("deposit", tmp / "a.txt", "-o", tmp / "out.evp", option, value)

    return case


def _from_list_with_nul(tmp: Path, cli: Callable[..., CliResult]) -> CliResult:
    (tmp / "a.txt").write_text("a")
    (tmp / "list.txt").write_bytes(f"{tmp / 'a.txt'}\n{tmp}/\x00b.txt\n".encode())
    return cli("deposit", "--from-list", tmp / "list.txt", "-o", tmp / "out.evp")


def _max_size_garbage(tmp: Path, cli: Callable[..., CliResult]) -> CliResult:
    (tmp / "a.txt").write_text("a")
    return cli("deposit", tmp / "a.txt", "-o", tmp / "out.evp", "--max-size", "lots")


# case -> (how to make and run it, exit code, words the one line must hold)
CASES: dict[str, tuple[Case, int, str]] = {
    "manifest_size_of_30_digits_verify": (
        _manifest(rb'"size":5', b'"size":123456789012345678901234567890'),
        4,
        "integer 123456789012345678901234567890 is larger than canonical JSON holds",
    ),
    "manifest_size_of_30_digits_inspect": (
        _manifest(rb'"size":5', b'"size":123456789012345678901234567890', "inspect"),
        4,
        "larger than canonical JSON holds",
    ),
    "manifest_negative_30_digits": (
        _manifest(rb'"size":5', b'"size":-123456789012345678901234567890'),
        4,
        "larger than canonical JSON holds",
    ),
    "manifest_id_written_as_float": (
        _manifest(rb'"id":1,', b'"id":1.0,'),
        4,
        "floating-point number 1.0 is not allowed",
    ),
    "manifest_id_float_inspect": (
        _manifest(rb'"id":1,', b'"id":1.0,', "inspect"),
        4,
        "floating-point number 1.0",
    ),
    "manifest_name_with_lone_surrogate": (
        _manifest(rb'"name":"a.txt"', rb'"name":"a\\ud800.txt"'),
        4,
        "$.items[0].name: lone surrogate \\ud800",
    ),
    "manifest_note_with_lone_surrogate": (
        _manifest(rb'"note":null', rb'"note":"x\\udc00"'),
        4,
        "$.private.note: lone surrogate \\udc00",
    ),
    "manifest_note_with_lone_surrogate_inspect": (
        _manifest(rb'"note":null', rb'"note":"x\\udc00"', "inspect"),
        4,
        "lone surrogate",
    ),
    "deposit_note_not_utf8": (
        _deposit_option("--note", "x\udced\udca0\udc80"),
        2,
        "--note is not valid UTF-8 text (byte 0xed at position 1)",
    ),
    "deposit_case_not_utf8": (_deposit_option("--case", "x\udcff"), 2, "--case is not valid UTF-8 text"),
    "deposit_depositor_lone_surrogate": (
        _deposit_option("--depositor", "\ud800"),
        2,
        "--depositor is not valid UTF-8 text (lone surrogate U+D800",
    ),
    "from_list_line_with_nul": (_from_list_with_nul, 4, "list.txt: line 2 holds a NUL byte"),
    "max_size_not_a_size": (_max_size_garbage, 2, "--max-size 'lots' is not a size"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input_is_one_named_line(name: str, tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    make, code, words = CASES[name]
    got = make(tmp_path, cli)
    # Advice printed before the deposit starts (time attested only by own services) is a warning line.
    lines = [line for line in got.err.strip().splitlines() if not line.startswith("warning: ")]
    assert got.code == code, got.err
    assert len(lines) == 1, got.err
    assert lines[0].startswith("evidencectl: error: ") and words in lines[0], lines[0]
    assert "unexpected" not in got.err and "Traceback" not in got.err
    assert not (tmp_path / "out.evp").exists()


def test_receipts_and_records_keep_parsing(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    """The stricter parser still reads every member a deposit writes (receipts, manifest) and verifies."""
    package = _package(tmp_path, cli)
    got = cli("verify", package)
    assert got.code == 0, got.out + got.err


def test_har_whose_entries_are_not_objects_fails_its_check(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    """A capture's HAR is the browser's file, hence hostile: entries that are not objects make the
    WARC/HAR comparison FAILED by name, with every other check still reported."""
    import gzip

    cap = tmp_path / "capture"
    cap.mkdir()
    (cap / "environment.json").write_text('{"artefacts":{},"capture":{"url":"http://example.org/"}}')
    (cap / "page.warc.gz").write_bytes(gzip.compress(b""))
    (cap / "network.har").write_text('{"log":{"entries":[1,"x"]}}')
    assert cli("deposit", cap, "-o", tmp_path / "har.evp").code == 0
    got = cli("verify", tmp_path / "har.evp", "--json")
    assert got.code == 1 and "unexpected" not in got.err, got.err
    import json

    checks = {c["check"]: c for c in json.loads(got.out)["checks"]}
    assert checks["capture:warc-har"]["status"] == "FAILED"
    assert "HAR entry 1 is not an object" in checks["capture:warc-har"]["detail"]


def test_file_name_that_decodes_to_a_lone_surrogate_is_kept_raw(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    """A name whose bytes are an encoded surrogate (ED A0 80: not UTF-8) is deposited under a lossless raw name,
    and the package verifies; nothing reaches canonical JSON that it cannot hold."""
    import json
    import os

    folder = tmp_path / "in"
    folder.mkdir()
    raw = os.fsencode(folder) + b"/a\xed\xa0\x80.txt"
    with open(raw, "wb") as fh:
        fh.write(b"x")
    got = cli("deposit", folder, "-o", tmp_path / "raw.evp", "--json")
    assert got.code == 0, got.err
    assert cli("verify", tmp_path / "raw.evp").code == 0
    item = json.loads(cli("inspect", tmp_path / "raw.evp", "--json").out)["items"][0]
    assert item["metadata"]["name_not_utf8"] is True and item["name_raw"]
