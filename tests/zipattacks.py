"""Generator of the ZIP-level attack corpus (issue 14 §1): packages that ZIP tools read apart.

Each attack starts from a genuine package (made by ``evidencectl deposit``), takes its members with
Python's :mod:`zipfile` (not evidencectl's reader), and writes them back with the small ZIP writer below,
which by default reproduces the package writer's bytes exactly (``rebuild(...) == genuine``, checked by the
tests) and then deviates in exactly one way. Every variant is one that some ZIP tool reads differently from
another, or from a verifier that reads the central directory only:

    python -m tests.zipattacks GENUINE.evp OUT_DIR     # writes OUT_DIR/<attack>.evp for every attack

``ATTACKS`` maps each attack's name to (builder, words of the one-line refusal ``verify`` must print).
"""

from __future__ import annotations

import json
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

U32 = 0xFFFFFFFF
FORGED = b"forged exhibit: these are not the deposited bytes\n"


@dataclass
class Entry:
    """One member as the attack writes it; every field may lie."""

    name: str
    data: bytes
    method: int = 0
    flags: int | None = None
    """None: 0x800 for a non-ASCII name, else 0."""
    local_extra: bytes = b""
    central_extra: bytes = b""
    comment: bytes = b""
    local_name: str | None = None
    """Another name in the local header than in the central directory."""
    external: int = 0o100644 << 16
    descriptor: bool = False
    """Sizes and CRC zero in the local header, a data descriptor after the data (flag bit 3)."""
    uncompressed: bytes | None = None
    """The extracted bytes (when ``data`` is compressed)."""
    listed: bool = True
    """False: a local entry no central record points at."""
    offset_shift: int = 0
    """Added to the 32-bit offset in the central record."""


@dataclass
class Layout:
    """Everything around the members."""

    prefix: bytes = b""
    """Bytes before the first member; offsets are counted from the file's start (as ``zip -A`` adjusts them)."""
    comment: bytes = b""
    trailing: bytes = b""
    disk: int = 0
    entries: list[Entry] = field(default_factory=list)


def _flags(e: Entry, name: bytes) -> int:
    base = (0x800 if len(name) != len(e.name) else 0) if e.flags is None else e.flags
    return base | (0x8 if e.descriptor else 0)


def build(layout: Layout) -> bytes:
    """The ZIP bytes of ``layout``, headers as evidencectl's writer packs them unless an entry lies."""
    out = bytearray(layout.prefix)
    central = bytearray()
    count = 0
    for e in layout.entries:
        offset = len(out)
        name = e.name.encode()
        local_name = (e.local_name or e.name).encode()
        flags = _flags(e, name)
        plain = e.data if e.uncompressed is None else e.uncompressed
        crc, csize, usize = zlib.crc32(plain), len(e.data), len(plain)
        lcrc, lc, lu = (0, 0, 0) if e.descriptor else (crc, csize, usize)
        version = 45 if e.local_extra or e.central_extra else 20
        out += struct.pack(
            "<4sHHHHHIIIHH",
            b"PK\x03\x04",
            version,
            flags,
            e.method,
            0,
            33,
            lcrc,
            lc,
            lu,
            len(local_name),
            len(e.local_extra),
        )
        out += local_name + e.local_extra + e.data
        if e.descriptor:
            out += struct.pack("<4sIII", b"PK\x07\x08", crc, csize, usize)
        if not e.listed:
            continue
        count += 1
        central += struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            3 << 8 | version,
            version,
            flags,
            e.method,
            0,
            33,
            crc,
            csize,
            usize,
            len(name),
            len(e.central_extra),
            len(e.comment),
            0,
            0,
            e.external,
            offset + e.offset_shift,
        )
        central += name + e.central_extra + e.comment
    cd_offset = len(out)
    out += central
    out += struct.pack(
        "<4sHHHHIIH",
        b"PK\x05\x06",
        layout.disk,
        layout.disk,
        count,
        count,
        len(central),
        cd_offset,
        len(layout.comment),
    )
    return bytes(out + layout.comment + layout.trailing)


def entries_of(package: Path) -> list[Entry]:
    """The members of a genuine package, read with Python's zipfile."""
    with zipfile.ZipFile(package) as z:
        return [Entry(i.filename, z.read(i)) for i in z.infolist()]


def rebuild(package: Path) -> bytes:
    """The genuine package written again by this generator (equal to the original bytes)."""
    return build(Layout(entries=entries_of(package)))


def _evidence(entries: list[Entry]) -> int:
    return next(i for i, e in enumerate(entries) if e.name.startswith("evidence/"))


def _unicode_path(real_name: str, shown: str) -> bytes:
    """An Info-ZIP Unicode Path extra field (0x7075): tools that honour it show ``shown``."""
    body = b"\x01" + struct.pack("<I", zlib.crc32(real_name.encode())) + shown.encode()
    return struct.pack("<HH", 0x7075, len(body)) + body


def unicode_path_rename(package: Path) -> bytes:
    """The genuine original is renamed by a 0x7075 field to a certificate's name, and a decoy certificate
    member is renamed to the original's name: unzip and 7z extract the decoy's forged bytes as the evidence."""
    entries = entries_of(package)
    i = _evidence(entries)
    genuine = entries[i]
    decoy = Entry("certs/decoy.pem", FORGED, central_extra=_unicode_path("certs/decoy.pem", genuine.name))
    decoy.local_extra = decoy.central_extra
    genuine.central_extra = genuine.local_extra = _unicode_path(genuine.name, "certs/decoy.pem")
    entries.insert(i + 1, decoy)
    return build(Layout(entries=entries))


def zip64_offset_disagrees(package: Path) -> bytes:
    """The original's central record keeps its true 32-bit offset, and a ZIP64 field carrying another one
    that points at an orphan local entry of the same name with forged bytes, placed after the members."""
    entries = entries_of(package)
    i = _evidence(entries)
    target = entries[i]
    orphan = Entry(target.name, FORGED, listed=False)
    # The orphan's offset is only known once the bytes are laid out: lay them out, then patch the field.
    draft = build(Layout(entries=[*entries, orphan]))
    orphan_at = draft.rindex(b"PK\x03\x04")
    target.central_extra = struct.pack("<HHQ", 1, 8, orphan_at)
    return build(Layout(entries=[*entries, orphan]))


def prepended_package(package: Path) -> bytes:
    """A whole forged package before the genuine one, as ``cat forged.evp genuine.evp`` makes it (7z and
    streaming bsdtar read the first; unzip, adjusting offsets, the second)."""
    entries = entries_of(package)
    forged = [replace(e, data=FORGED) if e.name.startswith("evidence/") else e for e in entries]
    return build(Layout(entries=forged)) + package.read_bytes()


def prepended_package_adjusted(package: Path) -> bytes:
    """The same with the genuine offsets adjusted (as ``zip -A`` does): readers then agree on nothing."""
    entries = entries_of(package)
    forged = [replace(e, data=FORGED) if e.name.startswith("evidence/") else e for e in entries]
    return build(Layout(prefix=build(Layout(entries=forged)), entries=entries))


def hidden_local_entry(package: Path) -> bytes:
    """An unreferenced local entry named like the original, with forged bytes, right before it (streaming
    readers take it; the central directory skips it)."""
    entries = entries_of(package)
    i = _evidence(entries)
    entries.insert(i, Entry(entries[i].name, FORGED, listed=False))
    return build(Layout(entries=entries))


def appended_data(package: Path) -> bytes:
    """Bytes after the end of central directory record."""
    return package.read_bytes() + "\n已核验：验证通过 / verified: PASSED\n".encode()


def appended_package(package: Path) -> bytes:
    """A forged package after the genuine one (readers that look for the last end record take it)."""
    entries = entries_of(package)
    forged = [replace(e, data=FORGED) if e.name.startswith("evidence/") else e for e in entries]
    return package.read_bytes() + build(Layout(entries=forged))


def archive_comment(package: Path) -> bytes:
    """An archive comment, which ``unzip -l`` prints above the listing."""
    return build(Layout(entries=entries_of(package), comment="已核验：验证通过".encode()))


def member_comment(package: Path) -> bytes:
    """A comment on the original's central record (``unzip -v``, 7z show it)."""
    entries = entries_of(package)
    entries[_evidence(entries)].comment = "已核验：验证通过".encode()
    return build(Layout(entries=entries))


def data_descriptor(package: Path) -> bytes:
    """The original with flag bit 3: sizes only in a data descriptor after the data."""
    entries = entries_of(package)
    entries[_evidence(entries)].descriptor = True
    return build(Layout(entries=entries))


def deflated_member(package: Path) -> bytes:
    """The original deflated (a deflate stream can absorb changes that leave the output alike)."""
    entries = entries_of(package)
    e = entries[_evidence(entries)]
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    e.uncompressed, e.data, e.method = e.data, c.compress(e.data) + c.flush(), 8
    return build(Layout(entries=entries))


def directory_entry(package: Path) -> bytes:
    """A folder entry ``evidence/`` (with the folder bit)."""
    entries = entries_of(package)
    entries.insert(_evidence(entries), Entry("evidence/", b"", external=0o40755 << 16 | 0x10))
    return build(Layout(entries=entries))


def encrypted_flag(package: Path) -> bytes:
    """The original flagged as encrypted (traditional PKWARE encryption bit)."""
    entries = entries_of(package)
    entries[_evidence(entries)].flags = 0x1
    return build(Layout(entries=entries))


def multi_disk(package: Path) -> bytes:
    """Disk-number fields of a spanned archive in the end record."""
    return build(Layout(entries=entries_of(package), disk=1))


def local_name_differs(package: Path) -> bytes:
    """The original's local header names another file than its central record (streaming readers and
    central-directory readers then extract it under two names)."""
    entries = entries_of(package)
    e = entries[_evidence(entries)]
    e.local_name = e.name[:-1] + ("X" if e.name[-1] != "X" else "Y")
    return build(Layout(entries=entries))


def timestamp_extra(package: Path) -> bytes:
    """An extended-timestamp extra field (0x5455): harmless-looking, but the profile has no extra field."""
    entries = entries_of(package)
    e = entries[_evidence(entries)]
    e.local_extra = e.central_extra = struct.pack("<HHBI", 0x5455, 5, 1, 0)
    return build(Layout(entries=entries))


def zip64_not_needed(package: Path) -> bytes:
    """A consistent ZIP64 field on a small member, where nothing needs one."""
    entries = entries_of(package)
    e = entries[_evidence(entries)]
    n = len(e.data)
    e.local_extra = struct.pack("<HHQQ", 1, 16, n, n)
    return build(Layout(entries=entries))


def case_twins(package: Path) -> bytes:
    """The original also stored under its name in upper case (one file on Windows and macOS)."""
    entries = entries_of(package)
    e = entries[_evidence(entries)]
    entries.insert(_evidence(entries) + 1, Entry(e.name.upper().replace("EVIDENCE/", "evidence/"), FORGED))
    return build(Layout(entries=entries))


def nfd_twin(package: Path) -> bytes:
    """``café.txt`` in NFC and in NFD (one file on macOS)."""
    entries = entries_of(package)
    i = _evidence(entries)
    entries[i + 1 : i + 1] = [Entry("evidence/caf\u00e9.txt", b"one\n"), Entry("evidence/cafe\u0301.txt", FORGED)]
    return build(Layout(entries=entries))


def _manifest_edit(package: Path, edit: Callable[[dict[str, object]], bytes]) -> bytes:
    entries = entries_of(package)
    m = next(e for e in entries if e.name == "manifest.json")
    m.data = edit(json.loads(m.data))
    return build(Layout(entries=entries))


def manifest_not_canonical(package: Path) -> bytes:
    """manifest.json re-serialised with indentation: the same JSON, another byte string, another SM3."""
    return _manifest_edit(package, lambda m: json.dumps(m, indent=1, ensure_ascii=False).encode())


def path_listed_twice(package: Path) -> bytes:
    """Two items naming one member (needs a package of two items or more)."""
    from evidencectl.package.canonical import canonical_json

    def edit(m: dict[str, object]) -> bytes:
        items = m["items"]
        assert isinstance(items, list)
        items[1]["path"] = items[0]["path"]
        return canonical_json(m)

    return _manifest_edit(package, edit)


ATTACKS: dict[str, tuple[Callable[[Path], bytes], str]] = {
    "unicode_path_rename": (unicode_path_rename, "Info-ZIP Unicode Path extra field (0x7075)"),
    "zip64_offset_disagrees": (zip64_offset_disagrees, "the ZIP64 field disagrees with the 32-bit fields"),
    "prepended_package": (prepended_package, "precede the archive"),
    "prepended_package_adjusted": (prepended_package_adjusted, "bytes lie before member 'mimetype'"),
    "hidden_local_entry": (hidden_local_entry, "that no central record lists"),
    "appended_data": (appended_data, "bytes follow the end of central directory record"),
    "appended_package": (appended_package, "precede the archive"),
    "archive_comment": (archive_comment, "the archive carries a comment"),
    "member_comment": (member_comment, "carries a comment"),
    "data_descriptor": (data_descriptor, "uses a data descriptor"),
    "deflated_member": (deflated_member, "is compressed (method 8)"),
    "directory_entry": (directory_entry, "directory entry 'evidence/'"),
    "encrypted_flag": (encrypted_flag, "is encrypted"),
    "multi_disk": (multi_disk, "spans several disks"),
    "local_name_differs": (local_name_differs, "local header disagrees with the central directory (name)"),
    "timestamp_extra": (timestamp_extra, "extra field (0x5455)"),
    "zip64_not_needed": (zip64_not_needed, "local header disagrees with the central directory (extra field)"),
    "case_twins": (case_twins, "are one file on case-insensitive or normalising systems"),
    "nfd_twin": (nfd_twin, "are one name in two Unicode normalisations"),
    "manifest_not_canonical": (manifest_not_canonical, "not in canonical form (RFC 8785)"),
    "path_listed_twice": (path_listed_twice, "both name member"),
}


def main(argv: list[str]) -> int:
    """Write every attack built from ``argv[0]`` into the folder ``argv[1]``."""
    genuine, out = Path(argv[0]), Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name, (make, _) in ATTACKS.items():
        (out / f"{name}.evp").write_bytes(make(genuine))
        sys.stdout.write(f"{out / name}.evp\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
