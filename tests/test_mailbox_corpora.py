"""Real mail from public test suites, and mailboxes in the shapes real mail tools write, are deposited
message by message and part by part, as those tools read them.

Real files (tests/assets/email/README.md gives source and licence of each): CPython's
``test_email/data/mailbox_01.mbox`` (an unquoted "From time to time" body line) and five of its test
messages (attachments, koi8-r and iso-8859-x multiparts, CRLF, a real bounce opening with a From_ line).
Shapes seen in Perl Email-Folder's ``t/mboxes`` (mboxcl2 with true and lying Content-Length, LF, CRLF and
CR-only line ends, a Maildir) are written here with messages of our own. Oracles: Perl's Email::Folder
(Debian's libemail-folder-perl, installed by scripts/install-system-deps.sh) run on the same bytes, and
Python's mailbox and email packages where they read the shape right.
"""

from __future__ import annotations

import email
import email.policy
import json
import mailbox
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

ASSETS = Path(__file__).parent / "assets" / "email"
_PERL_COUNT = """
use strict; use Email::Folder;
my %opt = length($ARGV[1]) ? (eol => $ARGV[1]) : ();
print scalar(my @m = Email::Folder->new($ARGV[0], %opt)->messages), "\\n";
"""


def email_folder_count(path: Path, eol: str = "") -> int:
    """How many messages Perl's Email::Folder reads in ``path`` (an mbox file or a Maildir)."""
    if shutil.which("perl") is None:
        pytest.fail("perl is missing: run scripts/install-system-deps.sh")
    res = subprocess.run(["perl", "-e", _PERL_COUNT, str(path), eol], capture_output=True, text=True, check=False)
    if "Can't locate Email/Folder.pm" in res.stderr:
        pytest.fail("Email::Folder is missing: run scripts/install-system-deps.sh (libemail-folder-perl)")
    assert res.returncode == 0, res.stderr
    return int(res.stdout)


def deposited(cli: Any, source: Path, tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    """Deposit ``source`` with the real command line, verify the package, and return it and its items."""
    package = tmp_path / f"{source.name}.evp"
    res = cli("deposit", source, "-o", package, "--json")
    assert res.code == 0, res.err
    checked = cli("verify", package, "--json")
    assert checked.code == 0 and json.loads(checked.out)["verdict"] == "PASSED", checked.out[-2000:]
    with zipfile.ZipFile(package) as z:
        return package, json.loads(z.read("manifest.json"))["items"]


def messages_of(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    top = next(i for i in items if i["parent"] is None)
    assert (top["kind"], top["media_type"]) == ("mbox", "application/mbox"), top
    found = [i for i in items if i["kind"] == "message" and i["parent"] == top["id"]]
    assert len(found) == top["metadata"]["mbox"]["messages"]
    return found


def _message(n: int, body: str, *, length: bool = False, lie: int = 0) -> bytes:
    text = body.encode()
    headers = [
        f"From: 张律师 <lawyer{n}@example.cn>".encode(),
        b"To: clerk@court.example.cn",
        f"Subject: evidence batch {n}".encode(),
        f"Date: Wed, 18 Dec 2002 19:{n:02d}:00 +0800".encode(),
        f"Message-ID: <batch{n}@example.cn>".encode(),
    ]
    if length:  # as mutt and Dovecot write mboxcl2: Content-Length, then Lines, last
        headers.append(f"Content-Length: {len(text) + lie}".encode())
        headers.append(f"Lines: {len(text.splitlines()) + lie}".encode())
    return b"\n".join(headers) + b"\n\n" + text


def _mbox(messages: list[bytes], eol: bytes = b"\n") -> bytes:
    out = b""
    for n, m in enumerate(messages):
        out += f"From lawyer{n}@example.cn Wed Dec 18 19:{n:02d}:00 2002\n".encode() + m + b"\n"
    return out.replace(b"\n", eol)


# A body line that is a perfect From_ line: only Content-Length says it is text (mboxcl2 does not quote it).
_FROM_IN_BODY = "Forwarded below.\n\nFrom archive@example.org Tue Dec 17 10:00:00 2002\nthe old thread\n"
# A body line that starts "From " but is no From_ line and has no header after it (mboxo does not quote).
_FROM_WORD_IN_BODY = "Hello\n\nFrom the archive:\n\n== quoted ==\n"


def test_mboxcl2_content_length_keeps_an_unquoted_from_line_in_its_message(cli: Any, tmp_path: Path) -> None:
    box = tmp_path / "cl2.mbox"
    box.write_bytes(_mbox([_message(1, _FROM_IN_BODY, length=True), _message(2, "second\n", length=True)]))
    messages = messages_of(deposited(cli, box, tmp_path)[1])
    assert len(messages) == email_folder_count(box) == 2
    assert len(mailbox.mbox(str(box), create=False)) == 3  # Python's mailbox ignores Content-Length
    first = email.message_from_bytes(box.read_bytes()[messages[0]["metadata"]["offset"] :].split(b"\n", 1)[1])
    assert "From archive@example.org" in str(first.get_payload())


def test_lying_content_length_is_ignored_and_the_separators_decide(cli: Any, tmp_path: Path) -> None:
    box = tmp_path / "cl2-lies.mbox"
    box.write_bytes(
        _mbox([_message(1, _FROM_WORD_IN_BODY, length=True, lie=7), _message(2, "second\n", length=True, lie=-3)])
    )
    messages = messages_of(deposited(cli, box, tmp_path)[1])
    assert len(messages) == email_folder_count(box) == 2
    assert [m["metadata"]["email"]["subject"] for m in messages] == ["evidence batch 1", "evidence batch 2"]


def test_unquoted_from_word_in_an_mboxo_body_is_text(cli: Any, tmp_path: Path) -> None:
    real = ASSETS / "cpython_mailbox_01_unquoted_from.mbox"  # CPython's own test file, "From time to time"
    messages = messages_of(deposited(cli, real, tmp_path)[1])
    assert len(messages) == email_folder_count(real) == 1
    assert len(mailbox.mbox(str(real), create=False)) == 2  # Python's mailbox splits at the body line
    assert messages[0]["metadata"]["email"]["subject"] == "unquoted From in body; extra info on From line"
    assert messages[0]["metadata"].get("warnings") is None  # text after the From_ line's year is allowed
    box = tmp_path / "mboxo.mbox"
    box.write_bytes(_mbox([_message(1, _FROM_WORD_IN_BODY), _message(2, "second\n"), _message(3, "third\n")]))
    assert len(messages_of(deposited(cli, box, tmp_path)[1])) == email_folder_count(box) == 3


@pytest.mark.parametrize(("eol", "python_agrees"), [(b"\r\n", True), (b"\r", False)], ids=["crlf", "cr"])
def test_crlf_and_cr_only_mboxes_split_like_lf(cli: Any, tmp_path: Path, eol: bytes, python_agrees: bool) -> None:
    box = tmp_path / f"box-{len(eol)}.mbox"
    data = _mbox([_message(n, f"body {n}\nline two\n") for n in range(1, 5)], eol)
    box.write_bytes(data)
    messages = messages_of(deposited(cli, box, tmp_path)[1])
    assert len(messages) == email_folder_count(box, eol.decode()) == 4
    assert (len(mailbox.mbox(str(box), create=False)) == 4) is python_agrees  # Python knows no CR-only mbox
    assert [m["metadata"]["email"]["subject"] for m in messages] == [f"evidence batch {n}" for n in range(1, 5)]
    for m in messages:  # each message is the file's own bytes after its From_ line, line ends untouched
        start = m["metadata"]["offset"] + len(m["metadata"]["from_line"]) + len(eol)
        assert data.startswith(b"From: ".replace(b"\n", eol), start)


def test_maildir_is_deposited_one_email_per_delivered_message(cli: Any, tmp_path: Path) -> None:
    folder = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True)
    for n in range(1, 4):
        (folder / "cur" / f"1050314226.{n}_1.host:2,S").write_bytes(_message(n, f"read {n}\n"))
    (folder / "new" / "1050314226.9_1.host").write_bytes(_message(9, "unread\n"))
    (folder / "tmp" / "1050314226.8_1.host").write_bytes(b"From: half-delivered\n")
    _package, items = deposited(cli, folder, tmp_path)
    delivered = [i for i in items if i["parent"] is None and i["name"].split("/")[1] in ("cur", "new")]
    assert all(i["kind"] == "email" for i in delivered)
    assert len(delivered) == len(mailbox.Maildir(str(folder), create=False)) == email_folder_count(folder) == 4


@pytest.mark.parametrize(
    ("charset", "text"),
    [
        ("iso-2022-jp", "すみません。証拠です"),
        ("shift_jis", "このメールはテスト用のメールです。"),
        ("euc-kr", "증거 자료"),
    ],
)
def test_non_utf8_charset_mail_reads_as_python_email_reads_it(
    cli: Any, tmp_path: Path, charset: str, text: str
) -> None:
    from email.header import Header

    subject = Header(text[:5], charset).encode()
    raw = (
        (
            f"From: a@example.jp\r\nTo: b@example.kr\r\nSubject: {subject}\r\nDate: Tue, 07 Jan 2003 12:08:10 -0000\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset={charset}\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n"
        ).encode()
        + text.replace("\n", "\r\n").encode(charset)
        + b"\r\n"
    )
    path = tmp_path / f"{charset}.eml"
    path.write_bytes(raw)
    _package, items = deposited(cli, path, tmp_path)
    top = next(i for i in items if i["parent"] is None)
    oracle = email.message_from_bytes(raw, policy=email.policy.default)
    assert top["kind"] == "email" and top["metadata"]["email"]["subject"] == str(oracle["subject"]) == text[:5]
    body = next(i for i in items if i["kind"] == "body")
    assert text in body["metadata"]["text_excerpt"] and text in oracle.get_content()
    assert not top["metadata"].get("warnings"), top["metadata"].get("warnings")  # "-0000" is a zone, too


def test_minus_zero_zone_is_a_zone_not_a_missing_one() -> None:
    """RFC 5322 §3.3: "-0000" says the time is UTC and the sender's local zone is not told."""
    from evidencectl.collect.email import parse_date

    assert parse_date("Tue, 07 Jan 2003 12:08:10 -0000") == ("2003-01-07T12:08:10Z", None)
    assert parse_date("Tue, 07 Jan 2003 12:08:10 -0000 (GMT)") == ("2003-01-07T12:08:10Z", None)
    assert parse_date("Tue, 07 Jan 2003 12:08:10")[1] is not None


def _oracle_leaves(message: email.message.Message) -> list[tuple[str, str | None, bytes]]:
    """Python's reading of a message: each leaf part's type, file name and transfer-decoded bytes."""
    out = []
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            payload = inner[0].as_bytes() if isinstance(inner, list) else b""
        out.append((part.get_content_type(), part.get_filename(), payload if isinstance(payload, bytes) else b""))
    return out


@pytest.mark.parametrize(
    "name", ["cpython_msg_07", "cpython_msg_12", "cpython_msg_26", "cpython_msg_43", "cpython_msg_46"]
)
def test_cpython_test_mail_parts_are_read_as_python_reads_them(cli: Any, tmp_path: Path, name: str) -> None:
    """Python's own test messages (attachments, nested multiparts, koi8-r and iso-8859-x bodies, CRLF, a real
    bounce opening with a From_ line): every leaf part deposited, with the bytes Python's email decodes."""
    path = ASSETS / f"{name}.eml"
    package, items = deposited(cli, path, tmp_path)
    raw = path.read_bytes()
    top = next(i for i in items if i["parent"] is None)
    if raw.startswith(b"From "):  # a one-message mbox named .eml: read as mutt and formail read it
        message = next(i for i in items if i["kind"] == "message")
        assert top["kind"] == "mbox" and top["metadata"]["mbox"]["messages"] == 1
        parent = message["id"]
    else:
        assert top["kind"] == "email"
        parent = top["id"]
    oracle = _oracle_leaves(email.message_from_bytes(raw, policy=email.policy.compat32))
    parts = [i for i in items if i["parent"] == parent]
    assert len(parts) == len(oracle)
    with zipfile.ZipFile(package) as z:
        for part, (ctype, filename, data) in zip(parts, oracle, strict=True):
            assert part["metadata"]["content_type"] == ctype
            assert part["metadata"].get("filename") == filename or (part["kind"] == "body" and filename is None)
            assert z.read(part["path"]) == data, part["name"]
    for part in parts:  # bodies decoded with their declared charset (koi8-r, iso-8859-2, …), not guessed
        if part["kind"] == "body" and part["metadata"]["charset_declared"]:
            assert codecs_name(part["metadata"]["charset"]) == codecs_name(part["metadata"]["charset_declared"])


def codecs_name(charset: str) -> str:
    import codecs

    return codecs.lookup(charset).name
