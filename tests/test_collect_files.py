"""Walking inputs: stable order, relative names, symbolic links only when asked, special files skipped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evidencectl.collect.files import collect_inputs
from evidencectl.errors import BadInputError


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "case"
    (root / "b").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "b" / "c.txt").write_text("c")
    (root / "b" / "a.txt").write_text("ba")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("s")
    os.symlink(outside / "secret.txt", root / "link-file")
    os.symlink(outside, root / "link-dir")
    os.symlink(tmp_path / "missing", root / "dangling")
    os.mkfifo(root / "pipe")
    return root


def test_order_names_and_links_not_followed(tree: Path) -> None:
    got = collect_inputs([str(tree)])
    assert [f.name for f in got.files] == ["case/a.txt", "case/b/a.txt", "case/b/c.txt"]
    warnings = "\n".join(got.warnings)
    assert "link-file: symbolic link not followed" in warnings and "link-dir: symbolic link not followed" in warnings
    assert "pipe: not a regular file" in warnings


def test_links_followed_when_asked(tree: Path) -> None:
    got = collect_inputs([str(tree)], follow_symlinks=True)
    assert [f.name for f in got.files] == [
        "case/a.txt",
        "case/b/a.txt",
        "case/b/c.txt",
        "case/link-dir/secret.txt",
        "case/link-file",
    ]
    assert any("dangling: broken symbolic link skipped" in w for w in got.warnings)


def test_empty_folder_and_missing_path_are_bad_input(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInputError, match="holds no files"):
        collect_inputs([str(tmp_path / "empty")])
    with pytest.raises(BadInputError, match="no such file"):
        collect_inputs([str(tmp_path / "nope.pdf")])
