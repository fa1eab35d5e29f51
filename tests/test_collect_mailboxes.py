"""mbox files split into messages, and Outlook .msg files read through extract-msg."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest

from evidencectl.collect.analyze import analyze
from evidencectl.collect.mailauth import load_dkim_keys
from evidencectl.errors import BadInputError

ASSETS = Path(__file__).parent / "assets" / "email"


def test_mbox_splits_into_messages_with_their_own_parts() -> None:
    keys = load_dkim_keys(ASSETS / "dkim_keys.zone")
    a = analyze(ASSETS / "mbox_three_messages.mbox", dkim_keys=keys, offline=True)
    assert (a.kind, a.media_type, a.warnings) == ("mbox", "application/mbox", ())
    assert a.metadata["mbox"] == {"messages": 3}
    assert [c.name for c in a.children] == ["message-0001.eml", "message-0002.eml", "message-0003.eml"]
    assert all(c.kind == "message" and c.media_type == "message/rfc822" for c in a.children)
    first, second, third = a.children
    assert [c.metadata["index"] for c in a.children] == [1, 2, 3]
    # The first message's bytes are exactly the original signed file, so its DKIM signature still passes.
    assert first.data == (ASSETS / "dkimpy_gmail_dkim_2013.eml").read_bytes()
    assert first.metadata["email"]["dkim"][0]["result"] == "pass"
    assert first.metadata["from_line"] == "From kaner.mail@gmail.com Sun Jun  9 09:37:02 2013"
    assert second.metadata["email"]["subject"] == "证据材料 第一批"
    assert [c.name for c in third.children][2] == "attachments/合同.pdf"
    assert third.children[2].data.startswith(b"%PDF")


def test_mbox_split_agrees_with_the_stdlib_reader() -> None:
    # Python's mailbox module is an independent mbox reader: same count, same subjects.
    ours = analyze(ASSETS / "mbox_three_messages.mbox", offline=True).children
    theirs = list(mailbox.mbox(str(ASSETS / "mbox_three_messages.mbox")))
    assert len(ours) == len(theirs)
    assert [m["Message-ID"] for m in theirs] == [c.metadata["email"]["message-id"] for c in ours]


def test_mbox_with_broken_from_line_warns_and_keeps_every_message() -> None:
    a = analyze(ASSETS / "bad_mbox_broken_from_line.mbox", offline=True)
    assert a.kind == "mbox" and len(a.children) == 3
    assert [c.metadata["email"]["subject"] for c in a.children] == ["one", "two", "three"]
    assert len(a.warnings) == 2 and all("malformed From_ line" in w for w in a.warnings)
    assert "offset 83" in a.warnings[0]
    with pytest.raises(BadInputError) as err:
        analyze(ASSETS / "bad_mbox_broken_from_line.mbox", strict=True)
    assert "From_" in str(err.value)


def test_outlook_msg_written_by_another_tool_is_read() -> None:
    a = analyze(ASSETS / "outlook_zh_attachment.msg", offline=True)
    assert (a.kind, a.media_type) == ("msg", "application/vnd.ms-outlook")
    m = a.metadata["email"]
    assert m["subject"] == "合同草稿 Contract draft"
    assert "zhangsan@example.cn" in m["from"] and "张三" in m["from"]
    assert "lisi@example.cn" in m["to"] and "wangwu@example.cn" in m["cc"]
    assert m["date"]["utc"] == "2024-03-01T08:30:00Z"
    assert m["dkim"] == [] and "MIME" in m["dkim_note"]
    names = [c.name for c in a.children]
    assert "body-1.txt" in names and "attachments/合同.pdf" in names
    pdf = a.children[names.index("attachments/合同.pdf")]
    assert pdf.data == b"%PDF-1.4\n% contract\n%%EOF\n" and pdf.kind == "attachment"
    body = a.children[names.index("body-1.txt")]
    assert body.metadata["text_excerpt"].startswith("您好，附件是合同草稿。")


def test_msg_that_is_not_ole_warns_and_strict_raises() -> None:
    a = analyze(ASSETS / "bad_not_ole.msg")
    assert a.kind == "file" and a.media_type == "text/plain"
    assert any("not an OLE compound file" in w for w in a.warnings)
    with pytest.raises(BadInputError) as err:
        analyze(ASSETS / "bad_not_ole.msg", strict=True)
    assert "OLE" in str(err.value)


def test_ole_file_that_is_not_a_message_is_a_plain_file(tmp_path: Path) -> None:
    import olefile

    # A truncated OLE header is OLE by its magic but not a message: described as a file, no exception.
    path = tmp_path / "old.doc"
    path.write_bytes(olefile.MAGIC + b"\x00" * 100)
    a = analyze(path)
    assert (a.kind, a.media_type) == ("file", "application/x-ole-storage")
