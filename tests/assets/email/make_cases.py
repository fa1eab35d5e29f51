"""Generate the derived and synthetic mail test cases in this folder.

Run from the repository root: ``python tests/assets/email/make_cases.py``. Needs dkimpy (for the ARC
case) and msgforge (an independent writer of Outlook .msg files, MIT licence) at generation time only;
the tests read the committed outputs. The real messages (dkimpy_*, mailparser_*) are copied, not made.
"""

from __future__ import annotations

import base64
import datetime as dt

from pathlib import Path

HERE = Path(__file__).resolve().parent


def zone_file() -> None:
    """dkim_keys.zone: the records of dkim_keys.txt as zone-file lines (long values split in 255-char strings)."""
    lines = ["; derived from dkim_keys.txt (same records, zone-file syntax)"]
    name = None
    for line in (HERE / "dkim_keys.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if "._domainkey." in line and " " in line and not line.startswith(("k=", "v=")):
            name = line.split()[0]
            continue
        assert name is not None
        chunks = [line[i : i + 255] for i in range(0, len(line), 255)]
        lines.append(f"{name} IN TXT " + " ".join(f'"{c}"' for c in chunks))
        name = None
    arc_key = (HERE / "arc_key.txt").read_text().strip() if (HERE / "arc_key.txt").exists() else None
    if arc_key:
        lines.append(f'arc2024._domainkey.relay.example.cn. 3600 IN TXT "{arc_key}"')
    (HERE / "dkim_keys.zone").write_text("\n".join(lines) + "\n")


def tampered() -> None:
    """One byte of a signed header (Subject) changed in the real Gmail message."""
    data = (HERE / "dkimpy_gmail_dkim_2013.eml").read_bytes()
    assert data.count(b"DKIM test mail #1") == 1
    (HERE / "gmail_dkim_tampered_subject.eml").write_bytes(data.replace(b"DKIM test mail #1", b"DKIM test mail #2"))


def b64(data: bytes) -> bytes:
    """Base64 in 76-character lines, as MIME writes it."""
    text = base64.b64encode(data)
    return b"\r\n".join(text[i : i + 76] for i in range(0, len(text), 76))


def ew(text: str, charset: str) -> str:
    """An RFC 2047 B encoded-word."""
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def chinese_cases() -> None:
    """GB2312, GBK-declared-as-GB2312 (GB18030 bytes), Big5 and raw 8-bit headers."""
    body = "关于合同纠纷的证据材料，请查收。\r\n"
    (HERE / "zh_gb2312.eml").write_bytes(
        (
            f"From: {ew('张三', 'gb2312')} <zhangsan@example.cn>\r\n"
            f"To: {ew('李四', 'gb2312')} <lisi@example.cn>\r\n"
            f"Cc: wangwu@example.cn\r\n"
            f"Subject: {ew('证据材料 第一批', 'gb2312')}\r\n"
            "Date: Tue, 05 Mar 2024 09:15:00 +0800\r\n"
            "Message-ID: <gb2312-1@example.cn>\r\n"
            "In-Reply-To: <earlier-0@example.cn>\r\n"
            "Received: from mx.example.cn (mx.example.cn [192.0.2.10]) by mail.example.cn with ESMTPS id 4Q1;"
            " Tue, 05 Mar 2024 09:15:02 +0800\r\n"
            "Received: from [198.51.100.7] by mx.example.cn with ESMTP; Tue, 05 Mar 2024 09:15:01 +0800\r\n"
            "MIME-Version: 1.0\r\n"
            'Content-Type: text/plain; charset="gb2312"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
        ).encode("ascii")
        + b64(body.encode("gb2312"))
        + b"\r\n"
    )
    # 镕 is in GBK but not GB2312; 𠮷 exists only in GB18030 (four-byte sequence).
    wrong = "朱镕基 𠮷野家 证据"
    (HERE / "zh_declared_gb2312_is_gb18030.eml").write_bytes(
        (
            "From: sender@example.cn\r\nTo: court@example.cn\r\n"
            f"Subject: =?gb2312?B?{base64.b64encode(wrong.encode('gb18030')).decode()}?=\r\n"
            "Date: Wed, 06 Mar 2024 10:00:00 +0800\r\nMessage-ID: <gb18030@example.cn>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        ).encode("ascii")
        + wrong.encode("gb18030")
        + b"\r\n"
    )
    big5_subject = "檢察院 證據清單"
    qp = "".join(f"={b:02X}" for b in big5_subject.encode("big5")).replace("=20", "_")
    (HERE / "zh_big5.eml").write_bytes(
        (
            f"From: {ew('陳大文', 'big5')} <chan@example.hk>\r\nTo: court@example.tw\r\n"
            f"Subject: =?big5?Q?{qp}?=\r\n"
            "Date: Thu, 07 Mar 2024 11:00:00 +0800\r\nMessage-ID: <big5@example.tw>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=big5\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        ).encode("ascii")
        + b64("請查閱附件中的證據。\r\n".encode("big5"))
        + b"\r\n"
    )
    # Raw 8-bit header bytes, no encoded-words, no charset anywhere: as some webmail still sends.
    (HERE / "zh_raw_8bit_headers.eml").write_bytes(
        b"From: "
        + "王五".encode("gbk")
        + b" <wangwu@example.cn>\r\nTo: court@example.cn\r\nSubject: "
        + "原始字节主题".encode()
        + b"\r\nDate: Fri, 08 Mar 2024 12:00:00 +0800\r\nMessage-ID: <raw8bit@example.cn>\r\n\r\n"
        + "正文内容".encode()
        + b"\r\n"
    )


def attachments_case() -> None:
    """multipart/mixed: text and HTML bodies, an RFC 2231 Chinese-named PDF, a hostile name, an attached mail."""
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    inner = (HERE / "dkimpy_rfc8463_ed25519_rsa_signed.eml").read_bytes()
    parts = [
        b'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n--alt\r\n'
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + b64("见附件合同。".encode())
        + b"\r\n--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>"
        + "见附件合同。".encode()
        + b"</p>\r\n--alt--\r\n",
        b"Content-Type: application/pdf\r\nContent-Disposition: attachment;"
        b" filename*=UTF-8''%E5%90%88%E5%90%8C.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64(pdf) + b"\r\n",
        b'Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="../../etc/passwd"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(b"root:x:0:0\n") + b"\r\n",
        b"Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n" + inner,
    ]
    head = (
        b"From: lawyer@example.cn\r\nTo: notary@example.cn\r\nSubject: attachments\r\n"
        b"Date: Sat, 09 Mar 2024 08:00:00 +0000\r\nMessage-ID: <att@example.cn>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="mix"\r\n\r\npreamble\r\n'
    )
    body = b"".join(b"--mix\r\n" + p for p in parts) + b"--mix--\r\n"
    (HERE / "multipart_attachments.eml").write_bytes(head + body)


def bad_cases() -> None:
    """Truncated MIME, no headers, a .msg that is not OLE, mbox with a broken From_ line."""
    (HERE / "bad_truncated_mime.eml").write_bytes(
        b"From: a@example.cn\r\nTo: b@example.cn\r\nSubject: cut\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="cut"\r\n\r\n--cut\r\nContent-Type: text/plain\r\n\r\nhello\r\n'
        b'--cut\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="a.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJ"
    )
    (HERE / "bad_no_headers.eml").write_bytes("只是一段正文，没有任何邮件头。\njust a body\n".encode())
    (HERE / "bad_not_ole.msg").write_bytes(b"This is not an Outlook message, just text saved as .msg\n")


def mbox_cases() -> None:
    """A three-message mbox (one DKIM-signed, one with an attachment) and one with a broken From_ line."""
    signed = (HERE / "dkimpy_gmail_dkim_2013.eml").read_bytes()
    second = (HERE / "zh_gb2312.eml").read_bytes().replace(b"\r\n", b"\n")
    third = (HERE / "multipart_attachments.eml").read_bytes().replace(b"\r\n", b"\n")
    mbox = (
        b"From kaner.mail@gmail.com Sun Jun  9 09:37:02 2013\n"
        + signed
        + b"\nFrom zhangsan@example.cn Tue Mar  5 01:15:00 2024\n"
        + second
        + b"\nFrom lawyer@example.cn Sat Mar  9 08:00:00 2024\n"
        + third
    )
    assert b"\n\nFrom " not in signed + second + third
    (HERE / "mbox_three_messages.mbox").write_bytes(mbox)
    broken = (
        b"From a@example.cn Mon Mar 11 10:00:00 2024\nFrom: a@example.cn\nSubject: one\n\nfirst\n\n"
        b"From \nFrom: b@example.cn\nSubject: two\n\nsecond\n\n"
        b"From c@example.cn yesterday-ish\nFrom: c@example.cn\nSubject: three\n\nthird\n"
    )
    (HERE / "bad_mbox_broken_from_line.mbox").write_bytes(broken)


def outlook_case() -> None:
    """An Outlook .msg written by msgforge (not by evidencectl) and read back by extract-msg."""
    import msgforge

    msg = msgforge.Message(
        subject="合同草稿 Contract draft",
        text_body="您好，附件是合同草稿。\nRegards",
        to=[("lisi@example.cn", "李四")],
        cc=["wangwu@example.cn"],
        sender=("zhangsan@example.cn", "张三"),
        sent=dt.datetime(2024, 3, 1, 8, 30, tzinfo=dt.UTC),
    )
    msg.attach_bytes("合同.pdf", b"%PDF-1.4\n% contract\n%%EOF\n", "application/pdf")
    msg.save(HERE / "outlook_zh_attachment.msg")


def outlook_draft_case() -> None:
    """An Outlook draft that was never sent: no submit or delivery time, only the creation and
    last-modification times Outlook stamps on every item. msgforge writes a sent message; its two time
    properties are then renamed in place (same 16-byte entries) to PR_CREATION_TIME and
    PR_LAST_MODIFICATION_TIME, and its flags set to unsent, as Outlook saves a draft."""
    import struct

    import msgforge
    import olefile

    path = HERE / "outlook_draft_no_send_date.msg"
    msgforge.Message(
        subject="草稿 未发送 Draft never sent",
        text_body="这封邮件从未发送。\nNever sent.",
        to=[("lisi@example.cn", "李四")],
        sender=("zhangsan@example.cn", "张三"),
        sent=dt.datetime(2024, 3, 1, 8, 30, tzinfo=dt.UTC),
    ).save(path)
    created = dt.datetime(2024, 2, 28, 9, 15, 7, tzinfo=dt.UTC)
    with olefile.OleFileIO(str(path), write_mode=True) as ole:
        props = bytearray(ole.openstream("__properties_version1.0").read())
        for at in range(32, len(props), 16):  # a top-level message's header is 32 bytes, then 16 per property
            tag = struct.unpack_from("<I", props, at)[0]
            if tag == 0x00390040:  # PR_CLIENT_SUBMIT_TIME -> PR_CREATION_TIME, a day earlier
                struct.pack_into("<I", props, at, 0x30070040)
                ft = int((created - dt.datetime(1601, 1, 1, tzinfo=dt.UTC)).total_seconds() * 10_000_000)
                struct.pack_into("<Q", props, at + 8, ft)
            elif tag == 0x0E060040:  # PR_MESSAGE_DELIVERY_TIME -> PR_LAST_MODIFICATION_TIME
                struct.pack_into("<I", props, at, 0x30080040)
            elif tag == 0x0E070003:  # PR_MESSAGE_FLAGS: unsent
                struct.pack_into("<I", props, at + 8, 0x08)
        ole.write_stream("__properties_version1.0", bytes(props))


def arc_case() -> None:
    """An ARC set (i=1) added by a relay whose key is generated here and listed in dkim_keys.zone."""
    import dkim
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    pub = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    (HERE / "arc_key.txt").write_text("v=DKIM1; k=rsa; p=" + base64.b64encode(pub).decode() + "\n")
    msg = (
        b"Authentication-Results: relay.example.cn; dkim=none; spf=pass smtp.mailfrom=a@example.cn\r\n"
        b"From: a@example.cn\r\nTo: list@relay.example.cn\r\nSubject: ARC test\r\n"
        b"Date: Mon, 11 Mar 2024 10:00:00 +0000\r\nMessage-ID: <arc@example.cn>\r\n\r\nforwarded by a list\r\n"
    )
    sig = dkim.arc_sign(msg, b"arc2024", b"relay.example.cn", pem, b"relay.example.cn")
    (HERE / "arc_signed_relay.eml").write_bytes(b"".join(sig) + msg)


if __name__ == "__main__":
    tampered()
    chinese_cases()
    attachments_case()
    bad_cases()
    mbox_cases()
    outlook_case()
    outlook_draft_case()
    arc_case()
    zone_file()
    print("\n".join(sorted(p.name for p in HERE.iterdir())))
