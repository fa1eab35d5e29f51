"""The ZIP attack corpus (tests/zipattacks.py): every package that ZIP tools could read apart is refused.

Each attack is built from a genuine package made by ``deposit`` and gets exit 4 from ``evidencectl verify``
with one line naming the package and what is wrong. Before the strict reader, fifteen of these variants
PASSED (the reader trusted :mod:`zipfile`, which ignores what unzip, 7z and bsdtar read).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import zipattacks
from tests.conftest import CliResult

Cli = Callable[..., CliResult]


@pytest.fixture(scope="module")
def genuine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A genuine package of two items, deposited with the embedded TSA and ledger."""
    from evidencectl.deposit import DepositOptions, deposit

    work = tmp_path_factory.mktemp("genuine")
    files = []
    for name, text in (("a.txt", "exhibit a\n"), ("b.txt", "exhibit b\n")):
        (work / name).write_text(text, encoding="utf-8")
        files.append(str(work / name))
    out = work / "genuine.evp"
    (work / "home").mkdir()
    deposit(DepositOptions(inputs=files, out=out, case="ZIP-ATTACKS"), work / "home")
    return out


def _refused(genuine: Path, cli: Callable[..., CliResult], tmp_path: Path, attack: str) -> None:
    make, words = zipattacks.ATTACKS[attack]
    package = tmp_path / f"{attack}.evp"
    package.write_bytes(make(genuine))
    for command in (["verify", package], ["verify", "--json", package]):
        res = cli(*command)
        assert res.code == 4, (attack, res.code, res.out, res.err)
        lines = res.err.strip().splitlines()
        assert len(lines) == 1, res.err
        assert package.name in lines[0] and words in lines[0], lines[0]
        assert "Traceback" not in res.err + res.out


def test_attack_generator_rebuilds_the_genuine_package_byte_for_byte(genuine: Path) -> None:
    """Each attack is then exactly one deviation from what the package writer wrote."""
    assert zipattacks.rebuild(genuine) == genuine.read_bytes()


def test_genuine_package_passes(genuine: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVIDENCECTL_HOME", str(genuine.parent / "home"))
    res = cli("verify", genuine)
    assert res.code == 0, res.out + res.err


def test_zip_tools_extract_forged_bytes_from_the_unicode_path_attack(genuine: Path, tmp_path: Path) -> None:
    """The corpus attacks the tools for real: unzip, 7z and bsdtar all extract the decoy as the evidence."""
    package = tmp_path / "unicode.evp"
    package.write_bytes(zipattacks.unicode_path_rename(genuine))
    for cmd in (
        ["unzip", "-p", str(package), "evidence/a.txt"],
        ["7z", "e", "-so", str(package), "evidence/a.txt"],
        ["bsdtar", "-xOf", str(package), "evidence/a.txt"],
    ):
        assert subprocess.run(cmd, capture_output=True).stdout == zipattacks.FORGED, cmd


def test_streaming_and_prepending_attacks_fool_some_tools(genuine: Path, tmp_path: Path) -> None:
    """A prepended package: 7z reads the forged one. A hidden local entry: streaming bsdtar takes it."""
    prepended = tmp_path / "prepended.evp"
    prepended.write_bytes(zipattacks.prepended_package(genuine))
    got = subprocess.run(["7z", "e", "-so", str(prepended), "evidence/a.txt"], capture_output=True).stdout
    assert got == zipattacks.FORGED
    hidden = tmp_path / "hidden.evp"
    hidden.write_bytes(zipattacks.hidden_local_entry(genuine))
    # Through a pipe, so that bsdtar cannot seek to the central directory and streams the local entries.
    got = subprocess.run(["bsdtar", "-xOf", "-", "evidence/a.txt"], input=hidden.read_bytes(), capture_output=True)
    assert got.stdout.startswith(zipattacks.FORGED)


def test_every_attack_has_its_test() -> None:
    tests = {name for name in globals() if name.startswith("test_")}
    assert set(_ATTACK_TESTS) == set(zipattacks.ATTACKS)
    assert set(_ATTACK_TESTS.values()) <= tests


def test_unicode_path_extra_cannot_rename_a_member(
    genuine: Path, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    """A 0x7075 field renames the original to a certificate name and a decoy to the original's name;
    unzip, 7z and bsdtar all extract the decoy's bytes as the evidence."""
    _refused(genuine, cli, tmp_path, "unicode_path_rename")


def test_zip64_offset_that_disagrees_cannot_point_at_an_orphan(
    genuine: Path, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    """A ZIP64 offset beside the true 32-bit one points at an orphan local entry with forged bytes."""
    _refused(genuine, cli, tmp_path, "zip64_offset_disagrees")


def test_prepended_forged_package_is_refused(genuine: Path, cli: Cli, tmp_path: Path) -> None:
    """A whole forged package before the genuine one (7z and streaming bsdtar read the first)."""
    _refused(genuine, cli, tmp_path, "prepended_package")


def test_prepended_forged_package_with_adjusted_offsets_is_refused(
    genuine: Path, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    """The same, offsets adjusted as zip -A does."""
    _refused(genuine, cli, tmp_path, "prepended_package_adjusted")


def test_unreferenced_local_entry_between_members_is_refused(
    genuine: Path, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    """Forged bytes in a local entry no central record lists, right before the original (streaming readers take it)."""
    _refused(genuine, cli, tmp_path, "hidden_local_entry")


def test_data_after_the_end_record_is_refused(genuine: Path, cli: Cli, tmp_path: Path) -> None:
    """A fake verdict appended after the end record."""
    _refused(genuine, cli, tmp_path, "appended_data")


def test_appended_forged_package_is_refused(genuine: Path, cli: Cli, tmp_path: Path) -> None:
    """A forged package after the genuine one."""
    _refused(genuine, cli, tmp_path, "appended_package")


def test_archive_comment_is_refused(genuine: Path, cli: Cli, tmp_path: Path) -> None:
    """An archive comment, printed by unzip -l above the listing."""
    _refused(genuine, cli, tmp_path, "archive_comment")


def test_member_comment_is_refused(genuine: Path, cli: Cli, tmp_path: Path) -> None:
    """A comment on the original's central record."""
    _refused(genuine, cli, tmp_path, "member_comment")


def test_data_descriptor_is_refused(genuine: Path, cli: Cli, tmp_path: Path) -> None:
    """Sizes and CRC only in a data descriptor after the data."""
    _refused(genuine, cli, tmp_path, "data_descriptor")


def test_deflated_member_is_refused(genuine: Path, cli: Cli, tmp_path: Path) -> None:
    """The original deflated rather than stored."""
    _refused(genuine, cli, tmp_path, "deflated_member")


def test_directory_entry_is_refused(genuine: Path, cli: Cli, tmp_path: Path) -> None:
    """A folder entry evidence/."""
    _refused(genuine, cli, tmp_path, "directory_entry")


def test_encrypted_flag_is_refused(genuine: Path, cli: Cli, tmp_path: Path) -> None:
    """The original flagged as encrypted."""
    _refused(genuine, cli, tmp_path, "encrypted_flag")


def test_multi_disk_fields_are_refused(genuine: Path, cli: Cli, tmp_path: Path) -> None:
    """Disk numbers of a spanned archive in the end record."""
    _refused(genuine, cli, tmp_path, "multi_disk")


def test_local_header_naming_another_file_is_refused(
    genuine: Path, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    """The local header names another file than the central record."""
    _refused(genuine, cli, tmp_path, "local_name_differs")


def test_any_other_extra_field_is_refused(genuine: Path, cli: Cli, tmp_path: Path) -> None:
    """An extended-timestamp extra field (0x5455)."""
    _refused(genuine, cli, tmp_path, "timestamp_extra")


def test_zip64_field_that_no_size_needs_is_refused(
    genuine: Path, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    """A consistent ZIP64 field on a small member."""
    _refused(genuine, cli, tmp_path, "zip64_not_needed")


def test_case_twin_members_are_refused(genuine: Path, cli: Cli, tmp_path: Path) -> None:
    """a.txt and A.TXT: one file on Windows and macOS."""
    _refused(genuine, cli, tmp_path, "case_twins")


def test_nfc_and_nfd_twin_members_are_refused(genuine: Path, cli: Cli, tmp_path: Path) -> None:
    """café.txt in NFC and in NFD: one file on macOS."""
    _refused(genuine, cli, tmp_path, "nfd_twin")


def test_manifest_not_in_canonical_form_is_refused(
    genuine: Path, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    """manifest.json re-serialised with indentation: another byte string, another SM3."""
    _refused(genuine, cli, tmp_path, "manifest_not_canonical")


def test_one_member_listed_by_two_items_is_refused(
    genuine: Path, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    """Two items naming one member."""
    _refused(genuine, cli, tmp_path, "path_listed_twice")


_ATTACK_TESTS = {
    "unicode_path_rename": "test_unicode_path_extra_cannot_rename_a_member",
    "zip64_offset_disagrees": "test_zip64_offset_that_disagrees_cannot_point_at_an_orphan",
    "prepended_package": "test_prepended_forged_package_is_refused",
    "prepended_package_adjusted": "test_prepended_forged_package_with_adjusted_offsets_is_refused",
    "hidden_local_entry": "test_unreferenced_local_entry_between_members_is_refused",
    "appended_data": "test_data_after_the_end_record_is_refused",
    "appended_package": "test_appended_forged_package_is_refused",
    "archive_comment": "test_archive_comment_is_refused",
    "member_comment": "test_member_comment_is_refused",
    "data_descriptor": "test_data_descriptor_is_refused",
    "deflated_member": "test_deflated_member_is_refused",
    "directory_entry": "test_directory_entry_is_refused",
    "encrypted_flag": "test_encrypted_flag_is_refused",
    "multi_disk": "test_multi_disk_fields_are_refused",
    "local_name_differs": "test_local_header_naming_another_file_is_refused",
    "timestamp_extra": "test_any_other_extra_field_is_refused",
    "zip64_not_needed": "test_zip64_field_that_no_size_needs_is_refused",
    "case_twins": "test_case_twin_members_are_refused",
    "nfd_twin": "test_nfc_and_nfd_twin_members_are_refused",
    "manifest_not_canonical": "test_manifest_not_in_canonical_form_is_refused",
    "path_listed_twice": "test_one_member_listed_by_two_items_is_refused",
}


@pytest.mark.parametrize("workers", [2, 0])
def test_manifest_with_one_record_not_in_canonical_form_is_refused(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """A large manifest is checked record by record in the verifier's workers: one record written with a
    space is enough for refusal, with workers and without."""
    from evidencectl import workers as workers_module

    files = tmp_path / "many"
    files.mkdir()
    for i in range(2100):
        (files / f"{i:04d}.txt").write_bytes(b"%d\n" % i)
    package = tmp_path / "many.evp"
    assert cli("deposit", files, "-o", package).code == 0
    entries = zipattacks.entries_of(package)
    manifest = next(e for e in entries if e.name == "manifest.json")
    at = manifest.data.index(b'"name":"many/1500.txt"')
    manifest.data = manifest.data[:at] + b'"name": "many/1500.txt"' + manifest.data[at + 22 :]
    forged = tmp_path / "spaced.evp"
    forged.write_bytes(zipattacks.build(zipattacks.Layout(entries=entries)))
    monkeypatch.setattr(workers_module, "worker_count", lambda: workers)
    res = cli("verify", forged)
    assert res.code == 4, res.out + res.err
    assert "not in canonical form (RFC 8785)" in res.err and len(res.err.strip().splitlines()) == 1
