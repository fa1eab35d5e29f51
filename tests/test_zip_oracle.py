"""Oracle: for every package shape the writer makes, what ``verify`` accepts is what unzip, 7z and bsdtar
extract, byte for byte (tools evidencectl did not write), and every package tests clean and unzips whole.

Shapes: plain files (one with a Chinese name), a folder, a mail with parts, an mbox, an image, a hash-only
deposit, a disclosure made by ``extract``, a signed deposit, a large original (streamed), case twins (renamed
at deposit) and the version-1 assets. Deposits embed no ``report.pdf``, so there is no such shape.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ASSETS

EMAIL = ASSETS / "email"


def _run(home: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EVIDENCECTL_HOME": str(home), "EVK_PASS": "oracle passphrase"}
    return subprocess.run(
        [sys.executable, "-m", "evidencectl", *map(str, args)], env=env, capture_output=True, text=True
    )


def _deposit(home: Path, out: Path, *args: str | Path) -> Path:
    res = _run(home, "deposit", *args, "-o", out)
    assert res.returncode == 0, res.stderr
    return out


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """shape -> (package, data directory that made it)."""
    work = tmp_path_factory.mktemp("oracle")
    home = work / "home"
    files = work / "files"
    (files / "sub" / "deeper").mkdir(parents=True)
    (files / "合同.txt").write_text("合同第一条\n", encoding="utf-8")
    (files / "plain.txt").write_text("plain\n", encoding="utf-8")
    (files / "sub" / "deeper" / "note.md").write_text("# note\n", encoding="utf-8")
    big = work / "large.bin"
    big.write_bytes(os.urandom(3 << 20))
    twins = [work / "t1" / "Report.txt", work / "t2" / "report.txt"]
    for n, p in enumerate(twins):
        p.parent.mkdir()
        p.write_text(f"twin {n}\n", encoding="utf-8")
    out: dict[str, Path] = {}
    out["plain"] = _deposit(home, work / "plain.evp", files / "合同.txt", files / "plain.txt")
    out["folder"] = _deposit(home, work / "folder.evp", files)
    out["mail"] = _deposit(home, work / "mail.evp", EMAIL / "multipart_attachments.eml")
    out["mbox"] = _deposit(home, work / "mbox.evp", EMAIL / "mbox_three_messages.mbox")
    out["image"] = _deposit(home, work / "image.evp", ASSETS / "images" / "photo_exif_gps_xmp.jpg")
    out["hash_only"] = _deposit(home, work / "hash.evp", files, "--hash-only")
    out["large"] = _deposit(home, work / "large.evp", big)
    out["case_twins"] = _deposit(home, work / "twins.evp", *twins)
    res = _run(home, "keys", "generate", "--name", "oracle", "--passphrase-env", "EVK_PASS")
    assert res.returncode == 0, res.stderr
    out["signed"] = _deposit(home, work / "signed.evp", files, "--sign", "--passphrase-env", "EVK_PASS")
    res = _run(home, "extract", out["mail"], "--item", "multipart_attachments.eml", "-o", work / "disclosed.evp")
    assert res.returncode == 0, res.stderr
    out["disclosure"] = work / "disclosed.evp"
    made = {k: (v, home) for k, v in out.items()}
    for name in ("v1_files", "v1_mail", "v2_files", "v2_mail"):
        made[name] = (ASSETS / name[:2] / f"{name}.evp", work / "untrusted-home")
    return made


def _hashed(package: Path) -> dict[str, bytes]:
    """Every member's bytes as evidencectl's reader gives them, each original checked against its digests."""
    from evidencectl.package.reader import PackageReader

    with PackageReader(package) as reader:
        members = {name: reader.read(name, limit=1 << 30) for name in reader.names()}
    manifest = json.loads(members["manifest.json"])
    for item in manifest["items"]:
        if item["path"]:
            assert hashlib.sha256(members[item["path"]]).hexdigest() == item["digests"]["sha256"]
    return members


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


SHAPES = [
    "plain", "folder", "mail", "mbox", "image", "hash_only", "large", "case_twins", "signed", "disclosure",
    "v1_files", "v1_mail", "v2_files", "v2_mail",
]  # fmt: skip


@pytest.mark.parametrize("shape", SHAPES)
def test_zip_tools_extract_exactly_what_verify_hashed(
    shapes: dict[str, tuple[Path, Path]], shape: str, tmp_path: Path
) -> None:
    package, home = shapes[shape]
    trust: list[str | Path] = []
    if shape == "signed":  # the depositor's own certificate, trusted for this check as a court would add it
        cert = tmp_path / "depositor.pem"
        cert.write_bytes(
            subprocess.run(["unzip", "-p", str(package), "certs/depositor.pem"], capture_output=True).stdout
        )
        trust = ["--trust", f"signer:{cert}"]
    res = _run(home, "verify", "--json", *trust, package)
    # 3: the version-1 assets' services are trusted nowhere; a hash-only deposit holds no originals.
    assert res.returncode == (3 if shape[:3] in ("v1_", "v2_") or shape == "hash_only" else 0), res.stdout + res.stderr
    report = json.loads(res.stdout)
    assert not [c for c in report["checks"] if c["status"] == "FAILED"]
    members = _hashed(package)
    for name, data in members.items():
        got = subprocess.run(["unzip", "-p", str(package), name], capture_output=True)
        assert got.returncode == 0 and got.stdout == data, (shape, name, "unzip -p")
        if shape == "v1_mail" and any(m.startswith(name + "/") for m in members):
            continue  # 7z takes a version-1 mail's name for its folder too and writes the parts after it
        got = subprocess.run(["7z", "e", "-so", str(package), name], capture_output=True)
        assert got.returncode == 0 and got.stdout == data, (shape, name, "7z e -so")
    assert subprocess.run(["unzip", "-tq", str(package)], capture_output=True).returncode == 0
    assert subprocess.run(["7z", "t", str(package)], capture_output=True).returncode == 0
    if shape == "v1_mail":
        return  # version 1 put a mail's parts under the mail's own name: it cannot be extracted whole
    extractions = {
        "unzip": ["unzip", "-q", str(package), "-d"],
        "7z": ["7z", "x", "-y", str(package), "-o{}"],
        "bsdtar": ["bsdtar", "-xf", str(package), "-C"],
    }
    for tool, cmd in extractions.items():
        dest = tmp_path / tool
        dest.mkdir()
        argv = [c.format(dest) for c in cmd] + ([] if cmd[-1].endswith("{}") else [str(dest)])
        assert subprocess.run(argv, capture_output=True).returncode == 0, (shape, tool)
        assert _tree(dest) == members, (shape, tool)
    # A streaming reader (bsdtar from a pipe: no central directory) reads the same members too.
    dest = tmp_path / "stream"
    dest.mkdir()
    got = subprocess.run(["bsdtar", "-xf", "-", "-C", str(dest)], input=package.read_bytes(), capture_output=True)
    assert got.returncode == 0 and _tree(dest) == members, shape
    shutil.rmtree(tmp_path)


def test_mail_parts_live_beside_the_mail(shapes: dict[str, tuple[Path, Path]]) -> None:
    """Format version 2 on: ``mail.eml`` is a file and its parts are under ``mail.eml.parts/``."""
    members = _hashed(shapes["mail"][0])
    assert json.loads(members["manifest.json"])["version"] >= 2
    assert "evidence/multipart_attachments.eml" in members
    assert "evidence/multipart_attachments.eml.parts/body-1.txt" in members
    assert not [m for m in members if m.startswith("evidence/multipart_attachments.eml/")]


def test_case_twins_are_renamed_and_flagged_at_deposit(shapes: dict[str, tuple[Path, Path]]) -> None:
    """Report.txt and report.txt are one file on Windows and macOS: the second is stored under
    ``evidence/_renamed/ID/`` and its record says so; both keep their names as items."""
    members = _hashed(shapes["case_twins"][0])
    items = json.loads(members["manifest.json"])["items"]
    assert [i["name"] for i in items] == ["Report.txt", "report.txt"]
    assert items[0]["path"] == "evidence/Report.txt"
    assert items[1]["path"] == "evidence/_renamed/2/report.txt"
    assert any("collides" in w or "one file" in w for w in items[1]["metadata"]["warnings"])
    assert members[items[1]["path"]] == b"twin 1\n"


def _as_version_2(src: Path, dst: Path) -> Path:
    """``src`` (version 1) with ``"version":1`` turned into 2 in place, the CRCs fixed and nothing else
    moved (the version is outside every leaf, so the roots still hold)."""
    import struct
    import zipfile
    import zlib

    raw = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as z:
        info = z.getinfo("manifest.json")
        manifest = z.read(info)
    changed = manifest.replace(b',"version":1}', b',"version":2}')
    assert changed != manifest and len(changed) == len(manifest)
    crc = struct.pack("<I", zlib.crc32(changed))
    start = raw.index(manifest, info.header_offset)
    raw[start : start + len(manifest)] = changed
    raw[info.header_offset + 14 : info.header_offset + 18] = crc
    central = raw.index(b"PK\x01\x02")
    name = b"manifest.json"
    while raw[central + 46 : central + 46 + len(name)] != name:
        central = raw.index(b"PK\x01\x02", central + 4)
    raw[central + 16 : central + 20] = crc
    dst.write_bytes(bytes(raw))
    return dst


def test_version_1_package_still_verifies(cli: Any) -> None:
    """A version-1 mail package (parts under the mail's name) keeps verifying: every digest, inclusion and
    member check PASSED; only its services are untrusted here."""
    res = cli("verify", "--json", ASSETS / "v1" / "v1_mail.evp")
    assert res.code == 3, res.out + res.err
    checks = {c["check"]: c["status"] for c in json.loads(res.out)["checks"]}
    assert checks["package:members"] == "PASSED" and checks["inclusion:tree"] == "PASSED"
    assert [k for k, v in checks.items() if k.startswith("digest:") and v == "PASSED"]
    assert "FAILED" not in checks.values()


def test_version_2_package_whose_file_is_also_a_folder_is_refused(cli: Any, tmp_path: Path) -> None:
    """What version 1 may hold, version 2 may not: a mail that is a file and the folder of its parts."""
    package = _as_version_2(ASSETS / "v1" / "v1_mail.evp", tmp_path / "clash.evp")
    res = cli("verify", package)
    assert res.code == 4, res.out + res.err
    assert "is a file and also the folder of" in res.err and len(res.err.strip().splitlines()) == 1


def test_version_2_package_with_an_unneeded_local_zip64_field_is_refused(cli: Any, tmp_path: Path) -> None:
    """Version 1's writer put a ZIP64 field in a streamed member's local header; version 2 has one form."""
    package = _as_version_2(ASSETS / "v1" / "v1_files.evp", tmp_path / "legacy.evp")
    res = cli("verify", package)
    assert res.code == 4, res.out + res.err
    assert "a ZIP64 field in its local header that its size does not need" in res.err
