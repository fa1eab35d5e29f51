"""Real inputs read right: an mbox as mail tools read it, nested Received comments, EXIF BYTE values as
numbers, and an Outlook draft that has no send date."""

from __future__ import annotations

import io
import json
import mailbox
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from evidencectl.collect.analyze import analyze
from evidencectl.collect.email import parse_received
from tests.conftest import ASSETS, CliResult

MAIL = ASSETS / "email"
TESTBOX = MAIL / "mboxparser_testbox_1998_2001.mbox"


def test_real_1998_2001_mbox_opening_with_a_blank_line_is_a_mailbox_of_nine() -> None:
    got = analyze(TESTBOX, offline=True)
    assert (got.kind, got.media_type) == ("mbox", "application/mbox")
    assert got.warnings == ()
    theirs = list(mailbox.mbox(str(TESTBOX)))  # Python's own mbox reader, an independent one
    assert len(got.children) == len(theirs) == 9
    assert [c.metadata["email"].get("message-id") for c in got.children] == [m["Message-ID"] for m in theirs]
    assert got.children[0].metadata["from_line"] == "From friedrich@pythonpros.com  Thu Feb 26 17:23:40 1998"
    assert got.children[0].metadata["offset"] == 1  # the blank line before it is not a message


def test_real_mbox_deposit_has_one_item_per_message(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    out = tmp_path / "box.evp"
    got = cli("deposit", TESTBOX, "-o", out, "--offline", "--json")
    assert got.code == 0, got.err
    assert json.loads(got.out)["warnings"] == []
    with zipfile.ZipFile(out) as z:
        items = json.loads(z.read("manifest.json"))["items"]
    assert items[0]["kind"] == "mbox"
    assert sum(1 for i in items if i["kind"] == "message") == 9


@pytest.mark.parametrize(
    "head",
    [
        b"From - Mon Jul 11 12:08:34 2011\nFrom: a@example.org\nSubject: thunderbird\n\nbody\n",
        b"\r\n\r\nFrom a@example.org Mon Jul 11 12:08:34 2011\r\nSubject: crlf and blank lines\r\n\r\nbody\r\n",
        b"From MAILER-DAEMON Fri Jul  8 12:08:34 2011\nDate: Fri, 8 Jul 2011 12:08:34 +0000\nSubject: x\n\n.\n",
    ],
)
def test_mbox_detection_accepts_what_mail_readers_accept(head: bytes, tmp_path: Path) -> None:
    path = tmp_path / "box"
    path.write_bytes(head)
    assert len(mailbox.mbox(str(path))) == 1
    got = analyze(path, offline=True)
    assert got.kind == "mbox" and len(got.children) == 1, got.warnings


def test_text_starting_with_the_word_from_is_not_a_mailbox(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_bytes(b"From the minutes of the meeting:\nthe parties agreed.\n")
    assert analyze(path).media_type == "text/plain"


# As Postfix writes it (kernel.org relays, 2019-2025): a TLS comment that nests a comment of its own.
POSTFIX_TLS = (
    "from smtp.example.org (relay.example.org [192.0.2.140])\n"
    "\t(using TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits))\n"
    "\t(No client certificate requested)\n"
    "\tby mx.example.net (Postfix) with ESMTPS id 79A9D1F21127\n"
    "\tfor <list@example.net>; Mon, 11 Mar 2024 23:27:57 +0000 (UTC)"
)


def test_received_with_nested_comments_is_parsed_right() -> None:
    hop = parse_received(POSTFIX_TLS)
    assert hop["with"] == "ESMTPS"  # not "cipher", from inside the TLS comment
    assert hop["from"] == "smtp.example.org (relay.example.org [192.0.2.140])"
    assert hop["by"] == "mx.example.net (Postfix)"
    assert (hop["id"], hop["for"]) == ("79A9D1F21127", "<list@example.net>")
    assert hop["time_utc"] == "2024-03-11T23:27:57Z"


def test_received_semicolon_inside_a_comment_is_not_the_date() -> None:
    hop = parse_received("from a (b; c) by d with SMTP; Tue, 2 Jan 2024 10:00:00 +0800")
    assert hop["from"] == "a (b; c)" and hop["with"] == "SMTP"
    assert hop["time_utc"] == "2024-01-02T02:00:00Z"


def test_exif_byte_values_are_numbers_not_control_characters(tmp_path: Path) -> None:
    from PIL import Image

    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[0] = b"\x02\x02\x00\x00"  # GPSVersionID 2.2.0.0, type BYTE
    gps[5] = b"\x00"  # GPSAltitudeRef: above sea level
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "JPEG", exif=exif)
    (tmp_path / "gps.jpg").write_bytes(buf.getvalue())
    got = analyze(tmp_path / "gps.jpg").metadata["image"]["exif"]["GPS"]
    assert got["GPSVersionID"] == [2, 2, 0, 0]
    assert got["GPSAltitudeRef"] == 0


def test_real_pillow_gps_jpeg_byte_tags_are_numbers() -> None:
    got = analyze(ASSETS / "images" / "pillow_exif_gps.jpg").metadata["image"]["exif"]["GPS"]
    assert got["GPSVersionID"] == [0, 0, 0, 1] and got["GPSAltitudeRef"] == 1


def test_outlook_draft_without_send_date_records_its_item_times() -> None:
    got = analyze(MAIL / "outlook_draft_no_send_date.msg", offline=True)
    mail = got.metadata["email"]
    assert mail["date"] == {"raw": None, "utc": None}
    times = mail["item_times"]
    assert (times["created"], times["modified"]) == ("2024-02-28T09:15:07Z", "2024-03-01T08:30:00Z")
    assert "not the time the message was sent" in times["note"] and "no send date" in times["note"]


def test_unreadable_image_warning_is_the_same_every_run(tmp_path: Path) -> None:
    """Warnings are sealed in the manifest: they must not carry a buffer's memory address."""
    (tmp_path / "bad.tif").write_bytes(b"II*\x00\x08\x00\x00\x00\xff\xff" + b"\x00" * 100)
    first = analyze(tmp_path / "bad.tif").warnings
    assert first == analyze(tmp_path / "bad.tif").warnings
    assert not any("0x" in w for w in first), first
