"""Media type by content, file metadata, and a fuzz of analyze() on arbitrary bytes."""

from __future__ import annotations

import io
import os
import subprocess
import zipfile
from pathlib import Path

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidencectl.collect.analyze import ChildPart, analyze
from evidencectl.collect.media import sniff
from evidencectl.collect.parts import PartNamer, safe_filename
from evidencectl.errors import BadInputError

EMAIL = Path(__file__).parent / "assets" / "email"


def _ooxml(member: str) -> bytes:
    buf = io.BytesIO()
    # A fixed date: the bytes name the parametrised test, and both xdist workers must collect the same names.
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in (("[Content_Types].xml", "<Types/>"), (member, "<x/>")):
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), text)
    return buf.getvalue()


def _pillow(fmt: str) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, fmt)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"%PDF-1.7\n", "application/pdf"),
        (_ooxml("word/document.xml"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (_ooxml("xl/workbook.xml"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (_ooxml("data.csv"), "application/zip"),
        (_pillow("PNG"), "image/png"),
        (_pillow("JPEG"), "image/jpeg"),
        (_pillow("GIF"), "image/gif"),
        (_pillow("WEBP"), "image/webp"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "video/mp4"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "application/x-ole-storage"),
        (b"From: a@example.cn\r\nSubject: x\r\n\r\nbody", "message/rfc822"),
        (b"From a@b Mon Mar 11 10:00:00 2024\nFrom: a@b\nSubject: x\n\nbody\n", "application/mbox"),
        ("证据说明：本文件为纯文本。\n".encode(), "text/plain"),
        (b"Name: value\nOther: thing\n\nnot a mail: no mail header names\n", "text/plain"),
        (b"<!DOCTYPE html><html></html>", "text/html"),
        (b'{"a": 1}', "application/json"),
        (bytes(range(256)), "application/octet-stream"),
        (b"", "application/octet-stream"),
    ],
)
def test_sniff_by_content(data: bytes, expected: str) -> None:
    assert sniff(data[:4096]) == expected


def test_sniff_agrees_with_file_command_on_common_types(tmp_path: Path) -> None:
    # file(1) (libmagic) is an independent detector.
    samples = {
        "a.pdf": b"%PDF-1.4\n%%EOF\n",
        "b.png": _pillow("PNG"),
        "c.jpg": _pillow("JPEG"),
        "d.gif": _pillow("GIF"),
    }
    for name, data in samples.items():
        (tmp_path / name).write_bytes(data)
        theirs = subprocess.run(["file", "-b", "--mime-type", str(tmp_path / name)], capture_output=True, text=True)
        assert theirs.returncode == 0
        assert analyze(tmp_path / name).media_type == theirs.stdout.strip()


def test_plain_file_metadata(tmp_path: Path) -> None:
    path = tmp_path / "contract.pdf"
    path.write_bytes(b"%PDF-1.4\n" + b"x" * 1000)
    os.utime(path, (1_700_000_000, 1_700_000_000))
    a = analyze(path)
    assert (a.kind, a.media_type, a.children, a.warnings) == ("file", "application/pdf", (), ())
    assert a.metadata["size"] == 1009
    assert a.metadata["mtime"] == "2023-11-14T22:13:20Z"
    assert a.metadata["ctime"].endswith("Z") and "not evidence" in a.metadata["ctime_note"]


def test_misnamed_pdf_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(_pillow("PNG"))
    a = analyze(path)
    assert a.media_type == "image/png" and "application/pdf" in a.warnings[0]


def test_unreadable_file_raises_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError) as err:
        analyze(tmp_path / "missing.eml")
    assert err.value.path and "missing.eml" in err.value.diagnostics()
    with pytest.raises(BadInputError):
        analyze(tmp_path)  # a directory is not a readable file


def test_safe_names() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\Users\\x\\合同.pdf") == "合同.pdf"
    assert safe_filename("..") is None and safe_filename("\x00\x01") is None
    assert len(safe_filename("长" * 300 + ".pdf") or "") <= 80
    namer = PartNamer()
    assert [namer.attachment("a.pdf", "application/pdf") for _ in range(3)] == [
        "attachments/a.pdf",
        "attachments/a-2.pdf",
        "attachments/a-3.pdf",
    ]


def _walk(parts: tuple[ChildPart, ...]) -> None:
    names = [p.name for p in parts]
    assert len(names) == len(set(names))
    for p in parts:
        assert not p.name.startswith("/") and ".." not in p.name.split("/")
        rfc8785.dumps(p.metadata)
        _walk(p.children)


_SEEDS = [
    b"",
    b"From: a@b\r\nSubject: =?gb2312?B?1qTk2A==?=\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n",
    b"From x Mon Jan  1 00:00:00 2024\nFrom: a\n\n",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    (EMAIL / "dkimpy_rfc8463_ed25519_rsa_signed.eml").read_bytes(),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from(_SEEDS), tail=st.binary(max_size=600), cut=st.integers(0, 2000))
def test_fuzz_analyze_never_raises_on_content(tmp_path: Path, seed: bytes, tail: bytes, cut: int) -> None:
    for suffix in (".eml", ".png"):
        path = tmp_path / f"fuzz{suffix}"
        path.write_bytes(seed[:cut] + tail)
        a = analyze(path, offline=True)
        rfc8785.dumps(a.metadata)
        _walk(a.children)


def _looks_like_mail_by_split(head: bytes) -> bool:
    # The plain statement of the rule: the first 200 complete lines form a header block naming a mail header.
    from evidencectl.collect.media import _HEADER_LINE, _MAIL_HEADERS

    lines = head.split(b"\n", 200)
    count, seen = 0, False
    for raw in lines[:-1] if len(lines) > 1 else lines:
        line = raw.rstrip(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t"):
            if count == 0:
                return False
            continue
        m = _HEADER_LINE.match(line)
        if m is None:
            return False
        count += 1
        seen = seen or m.group(1).lower() in _MAIL_HEADERS
    return count > 0 and seen


_HEADERISH = st.lists(
    st.sampled_from(
        [b"From: a@b", b"Subject: x", b"X-Y: z", b" folded", b"\tfolded", b"", b"not a header", b"To:"]
        # colons in odd places, blanks before the colon, bytes outside the name class, a long colon-free line
        + [b"a:b:c", b"::", b"Key \t: v", b"Sub ject: x", b"Na\x80me: v", b"x" * 5000, b"To" + b" " * 300 + b":"]
    ),
    max_size=210,
)


@settings(max_examples=400, deadline=None)
@given(lines=_HEADERISH, ends=st.sampled_from([b"\n", b"\r\n"]), tail=st.binary(max_size=8))
def test_mail_sniffing_reads_lines_as_the_rule_says(lines: list[bytes], ends: bytes, tail: bytes) -> None:
    from evidencectl.collect.media import looks_like_mail

    head = ends.join(lines) + tail
    assert looks_like_mail(head) == _looks_like_mail_by_split(head)
    assert looks_like_mail(head + ends) == _looks_like_mail_by_split(head + ends)
