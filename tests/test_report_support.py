"""Shared helpers of the report tests: deposits made through the real command line, poppler tools."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from evidencectl.cli.main import app, main

CASE = "（2026）渝0103民初1234号"


def ensure_report_command() -> None:
    """Add ``report`` to the CLI when the main module does not register it yet."""
    from evidencectl.cli.report_cmd import register

    names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    if "report" not in names:
        register(app)


@contextmanager
def home(path: Path) -> Iterator[Path]:
    """Run with ``EVIDENCECTL_HOME`` set to ``path``."""
    old = os.environ.get("EVIDENCECTL_HOME")
    os.environ["EVIDENCECTL_HOME"] = str(path)
    try:
        yield path
    finally:
        if old is None:
            os.environ.pop("EVIDENCECTL_HOME", None)
        else:
            os.environ["EVIDENCECTL_HOME"] = old


def deposit(inputs: list[Path], out: Path, *extra: str) -> Path:
    """Deposit ``inputs`` into ``out`` with the embedded TSA and ledger; fails the test on error."""
    args = ["deposit", *map(str, inputs), "-o", str(out), "--case", CASE, "--depositor", "张律师", *extra]
    code = main(args)
    assert code == 0, f"deposit exited {code}"
    return out


def manifest_of(package: Path) -> dict[str, object]:
    """The parsed manifest.json of a package (read with zipfile, not evidencectl)."""
    with zipfile.ZipFile(package) as z:
        data: dict[str, object] = json.loads(z.read("manifest.json"))
        return data


def pdftotext(pdf: Path, *args: str) -> str:
    """Text of a PDF as poppler extracts it."""
    return subprocess.run(["pdftotext", *args, str(pdf), "-"], check=True, capture_output=True, text=True).stdout


def pdf_pages(pdf: Path) -> int:
    """Page count reported by pdfinfo."""
    out = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


def pdffonts(pdf: Path) -> list[dict[str, str]]:
    """Rows of ``pdffonts``: name, type and the emb/sub/uni flags."""
    lines = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout.splitlines()
    rows = []
    for line in lines[2:]:
        parts = line.split()
        # The last five columns are emb, sub, uni, object number and generation.
        rows.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "uni": parts[-3]})
    return rows


def render_png(pdf: Path, out_prefix: Path, *, dpi: int = 60, page: int = 1) -> Path:
    """Render one page with pdftoppm and return the PNG."""
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            str(dpi),
            "-f",
            str(page),
            "-l",
            str(page),
            "-singlefile",
            str(pdf),
            str(out_prefix),
        ],
        check=True,
    )
    return out_prefix.with_suffix(".png")


def flip_member_byte(package: Path, dst: Path, member: str) -> Path:
    """A copy of ``package`` with the first byte of stored member ``member`` flipped in place: the ZIP
    structure stays as written (every reader still opens it), only the evidence differs."""
    import shutil
    import struct

    shutil.copy(package, dst)
    with zipfile.ZipFile(package) as z:
        info = z.getinfo(member)
    data = bytearray(dst.read_bytes())
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
    at = info.header_offset + 30 + name_len + extra_len
    data[at] ^= 1
    dst.write_bytes(bytes(data))
    return dst
