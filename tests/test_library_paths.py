"""The public library takes a path as ``str`` or any ``os.PathLike`` wherever it asks for one (docs/library.md):
``verify(data=["a.txt"])`` raised AttributeError ('str' object has no attribute 'is_dir'), and a deposit
whose ``out`` was a ``str`` raised AttributeError ('str' object has no attribute 'exists')."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evidencectl import Context, DepositOptions, Status, TrustStore, deposit, resume, verify


class Where(os.PathLike[str]):
    """A path type that is not a pathlib.Path (as a caller's own class may be)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __fspath__(self) -> str:
        return str(self.path)


@pytest.fixture
def exhibit(tmp_path: Path) -> Path:
    (tmp_path / "case").mkdir()
    path = tmp_path / "case" / "exhibit.txt"
    path.write_text("合同 第一条\n", encoding="utf-8")
    return path


def test_deposit_takes_str_out_and_inputs(exhibit: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "str.evp")
    result = deposit(DepositOptions(inputs=[str(exhibit)], out=out))  # type: ignore[arg-type]
    assert result.status == "complete" and Path(out).is_file()
    assert verify(out).verdict is Status.PASSED


def test_deposit_takes_pathlike_inputs_and_out(exhibit: Path, tmp_path: Path) -> None:
    result = deposit(DepositOptions(inputs=[Where(exhibit)], out=Where(tmp_path / "like.evp")))  # type: ignore[list-item,arg-type]
    assert result.status == "complete" and result.items == 1
    assert verify(Where(tmp_path / "like.evp")).verdict is Status.PASSED
    one = deposit(DepositOptions(inputs=exhibit, out=tmp_path / "one.evp"))  # type: ignore[arg-type]
    assert one.items == 1  # one path given alone is one input, not one per character


def test_deposit_takes_str_from_list_and_dkim_keys(exhibit: Path, tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text(f"{exhibit}\n", encoding="utf-8")
    keys = tmp_path / "keys.zone"
    keys.write_text("; no keys\n", encoding="utf-8")
    opts = DepositOptions(inputs=[], from_list=str(listing), dkim_keys=str(keys), out=str(tmp_path / "l.evp"))  # type: ignore[arg-type]
    assert deposit(opts).items == 1


def test_verify_takes_str_data_files_and_folders(exhibit: Path, tmp_path: Path) -> None:
    package = tmp_path / "h.evp"
    deposit(DepositOptions(inputs=[str(exhibit.parent)], out=package, hash_only=True))
    assert verify(str(package)).verdict is Status.INDETERMINATE  # the originals are not in the package
    assert verify(str(package), data=[str(exhibit.parent)]).verdict is Status.PASSED
    assert verify(package, data=str(exhibit.parent)).verdict is Status.PASSED  # one folder given alone
    assert verify(package, data=[Where(exhibit.parent)]).verdict is Status.PASSED
    single = tmp_path / "single.evp"
    deposit(DepositOptions(inputs=[str(exhibit)], out=single, hash_only=True))
    report = verify(str(single), data=[str(exhibit)])
    assert report.verdict is Status.PASSED
    (given,) = [c for c in report.checks if c.check.startswith("digest:")]
    assert str(exhibit) in given.facts["source"]


def test_verify_resume_and_trust_take_a_str_data_directory(exhibit: Path, tmp_path: Path) -> None:
    home = str(tmp_path / "court-home")
    os.mkdir(home)  # a data directory given by path is not created (Context.default() makes its own)
    package = tmp_path / "p.evp"
    deposit(DepositOptions(inputs=[exhibit], out=str(package)), home)  # type: ignore[list-item,arg-type]
    assert verify(str(package), context=home).verdict is Status.PASSED
    assert resume(home) == []
    trust = TrustStore.load(home)  # type: ignore[arg-type]
    assert verify(str(package), trust=trust).verdict is Status.PASSED
    assert Context.of(home).base == Path(home) == Context(home).base  # type: ignore[arg-type]
    assert verify(package, context=Context(Where(Path(home)))).verdict is Status.PASSED  # type: ignore[arg-type]


def test_a_path_of_the_wrong_type_is_named(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="a path was expected .* not int"):
        verify(tmp_path / "x.evp", data=[42])  # type: ignore[list-item]


def test_a_deposit_into_a_data_directory_not_made_yet_makes_it(exhibit: Path, tmp_path: Path) -> None:
    """``deposit(opts, "/srv/evidence/new")`` failed with "registry database is unusable: unable to open
    database file": the command line's data directory is made by Context.default(), a library caller's was
    not. Its first writer, the registry, makes it; one that cannot be made is named."""
    home = tmp_path / "not" / "yet"
    result = deposit(DepositOptions(inputs=[exhibit], out=tmp_path / "new.evp"), str(home))
    assert result.status == "complete" and (home / "registry.sqlite").is_file()
    blocked = tmp_path / "file"
    blocked.write_text("a file where the data directory's parent should be")
    from evidencectl.errors import BadInputError

    with pytest.raises(BadInputError, match="cannot create the data directory") as caught:
        deposit(DepositOptions(inputs=[exhibit], out=tmp_path / "blocked.evp"), blocked / "home")
    assert str(blocked / "home") in str(caught.value.diagnostics())
