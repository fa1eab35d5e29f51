"""Generate the adversarial package corpus: every way a hostile ``.evp`` can try to hurt a verifier.

Usage::

    python tests/assets/hostile/make_hostile.py OUT_DIR [--large] [--home HOME]

Small cases (each well under 1 MB) are committed next to this script; ``--large`` also writes the cases that
are too big to commit (a member that inflates to 10 GiB, a 1 GiB member of zeros, 100,000 tiny members),
which the tests generate into a temporary folder. The valid packages the cases start from are deposited with
the embedded TSA and ledger of ``HOME`` (default: a ``home`` folder inside OUT_DIR; never commit it, it
holds the TSA's and ledger's private keys), so a verifier that
trusts that data directory sees exactly one problem per case.

ZIP files are written by a small writer here rather than by :mod:`zipfile`, because :mod:`zipfile` refuses
(or fixes) most of what these cases need: duplicate names, lying size fields, pre-compressed bombs.
"""

from __future__ import annotations

import argparse
import json
import stat
import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

MIMETYPE = b"application/vnd.evidencectl.package+zip"
DOS_DATE, DOS_TIME = 33, 0  # 1980-01-01 00:00, as the package writer uses
STORED, DEFLATED = 0, 8
_U32 = 0xFFFFFFFF


@dataclass
class Member:
    """One ZIP member as it will be written, possibly lying about itself."""

    name: str
    """Member name (any bytes the case wants, including ``../``)."""
    data: bytes
    """The bytes stored in the archive (already compressed when ``method`` is DEFLATED)."""
    size: int
    """The uncompressed size written into the headers."""
    crc: int
    """The CRC-32 written into the headers."""
    method: int = STORED
    """0 stored, 8 deflated."""
    mode: int = 0o100644
    """Unix mode stored in the external attributes (a symlink is ``S_IFLNK``)."""


def stored(name: str, data: bytes, mode: int = 0o100644) -> Member:
    """A stored member whose headers tell the truth."""
    return Member(name, data, len(data), zlib.crc32(data), STORED, mode)


def deflated(name: str, data: bytes) -> Member:
    """A deflated member whose headers tell the truth."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return Member(name, c.compress(data) + c.flush(), len(data), zlib.crc32(data), DEFLATED)


def zero_bomb(name: str, mib: int, declared: int | None = None) -> Member:
    """A deflated member of ``mib`` MiB of zeros, built without inflating anything.

    After the first MiB the compressor's window is all zeros, so every further MiB compresses (with a sync
    flush) to the same ~1 KiB; repeating that block gives a valid stream about 1/1000 of its output.
    ``declared`` makes the headers lie about the uncompressed size.
    """
    zeros = bytes(1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(zeros) + c.flush(zlib.Z_SYNC_FLUSH)
    middle = c.compress(zeros) + c.flush(zlib.Z_SYNC_FLUSH)
    again = c.compress(zeros) + c.flush(zlib.Z_SYNC_FLUSH)
    assert middle == again, "zlib did not settle into a repeating block"
    data = first + middle * (mib - 1) + b"\x03\x00"  # final empty fixed-Huffman block
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    size = mib << 20
    return Member(name, data, size if declared is None else declared, crc, DEFLATED)


def write_zip(path: Path, members: list[Member]) -> Path:
    """Write ``members`` in order as a ZIP (ZIP64 where sizes, offsets or counts need it)."""
    central: list[bytes] = []
    with path.open("wb") as f:
        for m in members:
            offset = f.tell()
            name = m.name.encode("utf-8")
            big = m.size >= _U32 or len(m.data) >= _U32
            local_extra = struct.pack("<HHQQ", 1, 16, m.size, len(m.data)) if big else b""
            version = 45 if big else 20
            sizes = (_U32, _U32) if big else (len(m.data), m.size)
            f.write(
                struct.pack(
                    "<IHHHHHIIIHH",
                    0x04034B50,
                    version,
                    0x800,
                    m.method,
                    DOS_TIME,
                    DOS_DATE,
                    m.crc,
                    *sizes,
                    len(name),
                    len(local_extra),
                )
            )
            f.write(name + local_extra)
            f.write(m.data)
            far = offset >= _U32
            cextra = b""
            if big or far:
                fields = (struct.pack("<QQ", m.size, len(m.data)) if big else b"") + (
                    struct.pack("<Q", offset) if far else b""
                )
                cextra = struct.pack("<HH", 1, len(fields)) + fields
            central.append(
                struct.pack(
                    "<IHHHHHHIIIHHHHHII",
                    0x02014B50,
                    (3 << 8) | 45,
                    version,
                    0x800,
                    m.method,
                    DOS_TIME,
                    DOS_DATE,
                    m.crc,
                    *sizes,
                    len(name),
                    len(cextra),
                    0,
                    0,
                    0,
                    m.mode << 16,
                    _U32 if far else offset,
                )
                + name
                + cextra
            )
        cd_offset = f.tell()
        for entry in central:
            f.write(entry)
        cd_size = f.tell() - cd_offset
        n = len(members)
        if n >= 0xFFFF or cd_offset >= _U32:
            z64 = f.tell()
            f.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, cd_size, cd_offset))
            f.write(struct.pack("<IIQI", 0x07064B50, 0, z64, 1))
            f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, _U32, _U32, 0))
        else:
            f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, cd_size, cd_offset, 0))
    return path


def members_of(package: Path) -> list[Member]:
    """The members of a valid package, stored, in order."""
    with zipfile.ZipFile(package) as z:
        return [stored(i.filename, z.read(i)) for i in z.infolist()]


def rewrite(
    src: Path, dst: Path, *, replace: dict[str, bytes] | None = None, extra: list[Member] | None = None
) -> Path:
    """Copy ``src`` to ``dst`` replacing some members' bytes and appending ``extra`` members."""
    out = [stored(m.name, (replace or {}).get(m.name, m.data)) for m in members_of(src)]
    return write_zip(dst, out + list(extra or []))


def canonical(value: object) -> bytes:
    """RFC 8785 bytes, as the package writer produces them."""
    from evidencectl.package.canonical import canonical_json

    return canonical_json(value)


def base_packages(out: Path, home: Path) -> tuple[Path, Path]:
    """Two valid packages (two items each) deposited with the embedded TSA and ledger of ``home``."""
    from evidencectl.deposit import DepositOptions, deposit

    home.mkdir(parents=True, exist_ok=True)
    src = home / "exhibits"
    src.mkdir(parents=True, exist_ok=True)
    made = []
    for tag in ("a", "b"):
        files = []
        for n in (1, 2):
            p = src / f"{tag}{n}.txt"
            p.write_text(f"exhibit {tag}{n}\n", encoding="utf-8")
            files.append(str(p))
        pkg = out / f"valid_{tag}.evp"
        pkg.unlink(missing_ok=True)
        deposit(DepositOptions(inputs=files, out=pkg, case=f"CASE-{tag.upper()}"), home)
        made.append(pkg)
    return made[0], made[1]


def make_small(out: Path, home: Path) -> dict[str, Path]:
    """Every case small enough to commit; returns name -> path."""
    valid, other = base_packages(out, home)
    base = members_of(valid)
    cases: dict[str, Path] = {"valid": valid}

    def case(name: str, members: list[Member]) -> None:
        cases[name] = write_zip(out / f"{name}.evp", members)

    extra = stored("evidence/evil.txt", b"planted\n")
    case("slip_dotdot", base + [stored("evidence/../../evil.txt", extra.data)])
    case("slip_absolute", base + [stored("/tmp/evil.txt", extra.data)])
    case("slip_drive", base + [stored("C:/Windows/evil.txt", extra.data)])
    case("slip_backslash", base + [stored("evidence\\..\\..\\evil.txt", extra.data)])
    case("symlink", base + [stored("evidence/link", b"/etc/passwd", mode=stat.S_IFLNK | 0o777)])
    manifest = json.loads(next(m.data for m in base if m.name == "manifest.json"))
    forged = dict(manifest, statement={**manifest["statement"], "case": "FORGED"})
    case("duplicate_manifest", base + [stored("manifest.json", canonical(forged))])
    first_item = next(m for m in base if m.name.startswith("evidence/"))
    case("duplicate_evidence", base + [stored(first_item.name, b"a different exhibit\n")])
    depth = 100_000
    cases["nested_json"] = rewrite(
        valid, out / "nested_json.evp", replace={"manifest.json": b"[" * depth + b"]" * depth}
    )
    no_items = {k: v for k, v in manifest.items() if k != "items"}
    cases["schema_fail"] = rewrite(valid, out / "schema_fail.evp", replace={"manifest.json": canonical(no_items)})
    # A complete package rebuilds its tree and stores no proofs; one that carries them anyway must have them
    # checked too. Attach the true proofs, then swap two items' proofs.
    from evidencectl.package.manifest import attach_proofs, leaf_records

    swapped = json.loads(json.dumps(manifest))
    attach_proofs(leaf_records(swapped), leaf_records(swapped))
    swapped["items"][0]["proof"], swapped["items"][1]["proof"] = (
        swapped["items"][1]["proof"],
        swapped["items"][0]["proof"],
    )
    reordered = json.loads(json.dumps(manifest))
    reordered["items"][0]["digests"], reordered["items"][1]["digests"] = (
        reordered["items"][1]["digests"],
        reordered["items"][0]["digests"],
    )
    cases["items_digests_swapped"] = rewrite(
        valid, out / "items_digests_swapped.evp", replace={"manifest.json": canonical(reordered)}
    )
    cases["items_proofs_disagree"] = rewrite(
        valid, out / "items_proofs_disagree.evp", replace={"manifest.json": canonical(swapped)}
    )
    others = {m.name: m.data for m in members_of(other)}
    cases["token_other_root"] = rewrite(
        valid,
        out / "token_other_root.evp",
        replace={"proofs/timestamps/local.sha256.tsr": others["proofs/timestamps/local.sha256.tsr"]},
    )
    cases["receipt_other_deposit"] = rewrite(
        valid,
        out / "receipt_other_deposit.evp",
        replace={"proofs/anchors/local.json": others["proofs/anchors/local.json"]},
    )
    cases["extra_member"] = rewrite(valid, out / "extra_member.evp", extra=[extra])
    (out / "not_zip.evp").write_bytes(b"%PDF-1.7\n% this is not an evidence package\n" * 20)
    cases["not_zip"] = out / "not_zip.evp"
    whole = valid.read_bytes()
    (out / "truncated.evp").write_bytes(whole[: len(whole) // 2])
    cases["truncated"] = out / "truncated.evp"
    case(
        "lying_header",
        [m if m.name != "manifest.json" else zero_bomb("manifest.json", 64, declared=4096) for m in base],
    )
    bad_pem = b"-----BEGIN CERTIFICATE-----\nMIIB=broken=base64\n-----END CERTIFICATE-----\n"
    cases["bad_pem_certificate"] = rewrite(
        valid, out / "bad_pem_certificate.evp", replace={"certs/tsa-local.pem": bad_pem}
    )
    raw = bytearray(whole)
    # The local header's copy of a name made invalid UTF-8 (the central directory's copy stays valid).
    at = raw.index(b"proofs/timestamps/local.sha256.tsr") + 23
    raw[at] = 0xD5
    (out / "local_name_not_utf8.evp").write_bytes(bytes(raw))
    cases["local_name_not_utf8"] = out / "local_name_not_utf8.evp"
    raw = bytearray(whole)
    # A central directory entry needing a ZIP version from the future (found by fuzzing: it crashed the reader).
    raw[raw.index(b"PK\x01\x02") + 6] = 255  # version needed to extract
    (out / "zip_version_unsupported.evp").write_bytes(bytes(raw))
    cases["zip_version_unsupported"] = out / "zip_version_unsupported.evp"
    return cases


def make_large(out: Path, valid: Path) -> dict[str, Path]:
    """The cases too large to commit (written in seconds, never inflated here)."""
    base = members_of(valid)
    cases = {
        "bomb_10gib": write_zip(out / "bomb_10gib.evp", base + [zero_bomb("evidence/bomb.bin", 10 << 10)]),
        "zeros_1gib": write_zip(out / "zeros_1gib.evp", base + [zero_bomb("evidence/zeros.bin", 1 << 10)]),
    }
    tiny = [stored(f"evidence/extra/{i:06d}.txt", b"x") for i in range(100_000)]
    cases["many_members"] = write_zip(out / "many_members.evp", base + tiny)
    return cases


def main(argv: list[str] | None = None) -> int:
    """Command line: write the corpus into OUT_DIR."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--large", action="store_true", help="also write the cases too big to commit")
    parser.add_argument("--home", type=Path, help="data directory whose TSA and ledger make the base packages")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    cases = make_small(args.out, args.home or args.out / "home")
    if args.large:
        cases.update(make_large(args.out, cases["valid"]))
    for name, path in cases.items():
        sys.stdout.write(f"{name:24} {path.stat().st_size:>12} {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
