"""Render page one of the certificate and of the verification report into docs/img/ (for docs/reports.md).

    PYTHONPATH=. python3 docs/img/make_page_one.py

Deposits examples/evidence in a temporary data directory with an example ``[report]`` configuration, then
writes the certificate (zh), the verification report (zh) and the verification report of a copy with one
byte of contract.txt flipped (en); pdftoppm renders each first page, Pillow reduces it to 16 grey levels.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
CONFIG = """[report]
issuer = "示例存证平台（evidencectl 演示安装）"
operator = "示例科技有限公司"
verify_url = "https://verify.example.cn/v/{deposit_id}?m={manifest_sm3}"
"""


def _flip(package: Path, dst: Path, member: str) -> None:
    shutil.copy(package, dst)
    with zipfile.ZipFile(package) as z:
        info = z.getinfo(member)
    data = bytearray(dst.read_bytes())
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
    data[info.header_offset + 30 + name_len + extra_len] ^= 1
    dst.write_bytes(bytes(data))


def _page_one(pdf: Path, name: str) -> None:
    from PIL import Image

    prefix = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-png", "-r", "72", "-f", "1", "-l", "1", "-singlefile", pdf, prefix], check=True)
    image = Image.open(prefix.with_suffix(".png")).convert("L").quantize(16)
    image.save(OUT / name, optimize=True)
    print(f"wrote docs/img/{name}")


def main() -> int:
    """Make the three images; exits non-zero when a command fails."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        home = work / "home"
        home.mkdir()
        (home / "config.toml").write_text(CONFIG, encoding="utf-8")
        env = {**os.environ, "EVIDENCECTL_HOME": str(home), "PYTHONPATH": str(ROOT)}

        def ev(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
            return subprocess.run([sys.executable, "-m", "evidencectl", *map(str, args)], env=env, capture_output=True)

        package = work / "case.evp"
        made = ev("deposit", ROOT / "examples" / "evidence", "-o", package, "--case", "（2026）渝0103民初1234号",
                  "--depositor", "张律师")  # fmt: skip
        if made.returncode != 0:
            sys.stderr.write(made.stderr.decode())
            return 1
        ev("report", package, "-o", work / "cert.pdf", "--lang", "zh")
        ev("verify", package, "--report", work / "verify.pdf", "--lang", "zh")
        _flip(package, work / "bad.evp", "evidence/evidence/contract.txt")
        ev("verify", work / "bad.evp", "--report", work / "bad.pdf", "--lang", "en")
        _page_one(work / "cert.pdf", "certificate-zh-page1.png")
        _page_one(work / "verify.pdf", "verification-zh-page1.png")
        _page_one(work / "bad.pdf", "verification-tampered-en-page1.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
