"""Build the format-version-2 packages kept here, with the code of the last commit that wrote version 2.

Usage::

    python tests/assets/v2/make_v2.py [--commit 35c07d6]

The version-2 code is taken from git (``git archive COMMIT evidencectl``) into a temporary folder and run
as a subprocess with a fresh data directory, so these packages are what version 2 wrote, not an imitation:
``v2_files.evp`` (two plain files, deposited with a case number and a ``--note``, which version 2 sealed
inside the statement itself: a disclosure of such a package cannot leave the note out, which is why
version 3 gave it a salted leaf of its own) and ``v2_mail.evp`` (a mail with attachments, its parts under
``NAME.parts/``). The data directory (its TSA and ledger keys) is thrown away: the packages are intact but
their services are trusted nowhere (verify says INDETERMINATE, every other check PASSED).
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
MAIL = REPO / "tests" / "assets" / "email" / "multipart_attachments.eml"
V2_COMMIT = "35c07d6"
"""The last commit whose deposits write format version 2."""
NOTE = "internal remark: settle below 50,000"
"""The note both packages seal into their statement."""


def build(commit: str) -> list[Path]:
    """Write ``v2_mail.evp`` and ``v2_files.evp`` next to this script with the code of ``commit``."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tar = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", commit, "evidencectl"],
            check=True,
            capture_output=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
            archive.extractall(work / "code", filter="data")
        files = work / "files"
        files.mkdir()
        (files / "contract.txt").write_text("合同第一条\n", encoding="utf-8")
        (files / "photo.bin").write_bytes(bytes(range(256)) * 4)
        env = {**os.environ, "PYTHONPATH": str(work / "code"), "EVIDENCECTL_HOME": str(work / "home")}
        made = []
        for out, inputs in (("v2_mail.evp", [str(MAIL)]), ("v2_files.evp", [str(files)])):
            target = HERE / out
            target.unlink(missing_ok=True)
            cmd = [sys.executable, "-m", "evidencectl", "deposit", *inputs, "-o", str(target), "--case", "V2"]
            cmd += ["--note", NOTE]
            subprocess.run(cmd, check=True, env=env, cwd=work, capture_output=True)
            made.append(target)
        return made


def main() -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commit", default=V2_COMMIT)
    args = parser.parse_args()
    for path in build(args.commit):
        sys.stdout.write(f"{path} {path.stat().st_size}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
