"""The one atomic-write helper: never half a file, never an existing file replaced unless asked, exact mode."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from evidencectl.atomic import write_new_file
from evidencectl.errors import BadInputError, OutputExistsError


def test_an_existing_file_is_never_replaced_unless_asked(tmp_path: Path) -> None:
    target = tmp_path / "key.pem"
    target.write_bytes(b"old")
    with pytest.raises(OutputExistsError):
        write_new_file(target, b"new")
    assert target.read_bytes() == b"old"
    write_new_file(target, b"new", replace=True)
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key.pem"]  # no temporary left


def test_the_mode_is_exact_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        write_new_file(tmp_path / "public.pem", b"x", mode=0o644)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "public.pem").stat().st_mode) == 0o644


def test_a_target_that_cannot_be_written_is_one_bad_input_line_and_leaves_nothing(tmp_path: Path) -> None:
    """A directory in the way (the rename fails after the data was written): BadInputError, no temporary."""
    (tmp_path / "r.pdf").mkdir()
    with pytest.raises(BadInputError, match="cannot write the report"):
        write_new_file(tmp_path / "r.pdf", b"%PDF", replace=True, what="the report")
    assert [p.name for p in tmp_path.iterdir()] == ["r.pdf"]
    with pytest.raises(BadInputError, match="cannot write file"):
        write_new_file(tmp_path / "missing" / "k.pem", b"x")
