"""Attacks on the deposit stages by a depositor who wants one name to mean two things, or an input that is
not what it claims: derived part names reused by other inputs, hostile file names, special files.

Each deposit is checked with oracles the project did not write (``unzip``, ``sha256sum``) besides verify.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from evidencectl import workers as workers_module
from evidencectl.deposit.items import ItemSpool
from tests.conftest import ASSETS, CliResult

MAIL = ASSETS / "email" / "arc_signed_relay.eml"
FORGED = b"forged body: the buyer waived every claim\n"


def _manifest(package: Path) -> dict:
    with zipfile.ZipFile(package) as z:
        return json.loads(z.read("manifest.json"))


def _mail_and_lookalike_folder(tmp_path: Path, extra_files: int = 0) -> tuple[Path, Path]:
    """``a/x.eml`` (a real mail, whose body part is ``x.eml/body-1.txt``) and a folder ``b/x.eml/`` holding
    a file literally named ``body-1.txt``: deposited together, both are called ``x.eml/body-1.txt``."""
    (tmp_path / "a").mkdir()
    shutil.copy(MAIL, tmp_path / "a" / "x.eml")
    folder = tmp_path / "b" / "x.eml"
    folder.mkdir(parents=True)
    (folder / "body-1.txt").write_bytes(FORGED)
    for n in range(extra_files):
        (folder / f"n{n:04d}.txt").write_text(f"filler {n}\n")
    return tmp_path / "a" / "x.eml", folder


@pytest.mark.parametrize("mail_first", [True, False], ids=["mail-first", "folder-first"])
@pytest.mark.parametrize("hash_only", [False, True], ids=["stored", "hash-only"])
def test_file_named_like_a_mails_part_does_not_share_the_parts_name(
    cli: Callable[..., CliResult], tmp_path: Path, mail_first: bool, hash_only: bool
) -> None:
    """Two items were both called ``x.eml/body-1.txt`` (the mail's body and the forged file), so
    ``extract --item x.eml/body-1.txt`` disclosed the forged file as "the body". Now the later one is renamed
    ``x.eml/body-1 (2).txt`` and flagged; every name picks one item."""
    mail, folder = _mail_and_lookalike_folder(tmp_path)
    inputs = [mail, folder] if mail_first else [folder, mail]
    out = tmp_path / "p.evp"
    res = cli("deposit", *inputs, "-o", out, "--tsa", "local", *(["--hash-only"] if hash_only else []))
    assert res.code == 0, res.err
    items = _manifest(out)["items"]
    names = [i["name"] for i in items]
    assert len(names) == len(set(names)), names
    renamed = next(i for i in items if i["name"] == "x.eml/body-1 (2).txt")
    assert "another item of this deposit has that name" in " ".join(renamed["metadata"]["warnings"])
    assert "x.eml/body-1 (2).txt" in res.err
    first = next(i for i in items if i["name"] == "x.eml/body-1.txt")
    assert first["kind"] == ("body" if mail_first else "file")
    data = ["--data", mail, "--data", folder] if hash_only else []
    assert cli("verify", out, *data).code == 0
    if not hash_only:
        # unzip (Info-ZIP) extracts the forged file under the renamed item's member, the body under its own.
        body = subprocess.run(["unzip", "-p", out, first["path"]], capture_output=True, check=True).stdout
        assert (body == FORGED) is (not mail_first)
        one = tmp_path / "one.evp"
        assert cli("extract", out, "--item", "x.eml/body-1.txt", "-o", one).code == 0
        assert [i["kind"] for i in _manifest(one)["items"]] == [first["kind"]]


def test_worker_prepared_file_named_like_a_mails_part_is_renamed_too(
    cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same attack through the worker processes (600 files): a file a worker recorded under a name the
    mail's part already took is redone and renamed in the deposit process, not appended as it is."""
    monkeypatch.setattr(workers_module, "worker_count", lambda: 2)
    mail, folder = _mail_and_lookalike_folder(tmp_path, extra_files=600)
    out = tmp_path / "p.evp"
    assert cli("deposit", mail, folder, "-o", out, "--tsa", "local").code == 0
    items = _manifest(out)["items"]
    names = [i["name"] for i in items]
    assert len(names) == len(set(names)) == 603
    assert next(i for i in items if i["name"] == "x.eml/body-1.txt")["kind"] == "body"
    assert cli("verify", out).code == 0


def test_extract_refuses_a_name_two_items_of_an_older_package_share(
    cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A package made before names were kept distinct (the old behaviour, restored here by making
    unique_name give every name back as it is) holds two items of one name: extract refused nothing and
    took the last. Now it says the name does not pick one (exit 2)."""
    mail, folder = _mail_and_lookalike_folder(tmp_path)
    out = tmp_path / "old.evp"
    with monkeypatch.context() as m:
        m.setattr(ItemSpool, "unique_name", lambda self, name: name)
        assert cli("deposit", mail, folder, "-o", out, "--tsa", "local").code == 0
    assert [i["name"] for i in _manifest(out)["items"]].count("x.eml/body-1.txt") == 2
    assert cli("verify", out).code == 0  # a genuine package of an older version still verifies
    res = cli("extract", out, "--item", "x.eml/body-1.txt", "-o", tmp_path / "one.evp")
    assert res.code == 2 and "does not pick one" in res.err
    assert not (tmp_path / "one.evp").exists()


WINDOWS_HOSTILE = [
    "CON", "aux.txt", "com1", "nul.tar.gz", "LPT9.log", "a\\..\\..\\evil.txt", "x.txt.", "x.txt ", "x.txt",
]  # fmt: skip


def _windows_view(member: str) -> str:
    """A member's path as Windows creates it: trailing dots and spaces dropped from each segment, case
    folded (what makes two members one file there)."""
    return "/".join(p.rstrip(". ") for p in member.split("/")).lower()


def test_names_windows_cannot_create_are_not_member_names(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    """``CON``, ``aux.txt`` (devices on Windows, whatever the extension) and ``x.txt.``/``x.txt `` (which
    Windows makes ``x.txt``, overwriting the genuine ``x.txt``) were stored under their own names: the
    package did not extract on Windows, or extracted one original over another. They are now stored under
    ``evidence/_nonportable/<id>`` with the exact name in the manifest; 7z extracts every member byte for
    byte, and no two members are one file as Windows sees them."""
    folder = tmp_path / "in"
    folder.mkdir()
    for n, name in enumerate(WINDOWS_HOSTILE):
        (folder / name).write_text(f"exhibit {n}: {name!r}\n")
    out = tmp_path / "p.evp"
    assert cli("deposit", folder, "-o", out, "--tsa", "local").code == 0
    items = {i["name"]: i for i in _manifest(out)["items"]}
    assert sorted(items) == sorted(f"in/{n}" for n in WINDOWS_HOSTILE)
    members = [i["path"] for i in items.values()]
    assert items["in/x.txt"]["path"] == "evidence/in/x.txt"
    for name in WINDOWS_HOSTILE[:-1]:
        assert items[f"in/{name}"]["path"].startswith("evidence/_nonportable/"), name
    views = [_windows_view(m) for m in members]
    assert len(set(views)) == len(views)
    assert cli("verify", out).code == 0
    dest = tmp_path / "x"
    subprocess.run(["7z", "x", "-y", f"-o{dest}", str(out)], capture_output=True, check=True)
    for name, item in items.items():
        assert (dest / item["path"]).read_bytes() == (tmp_path / name).read_bytes()


@pytest.mark.parametrize("special", ["fifo", "device"])
def test_input_replaced_by_a_fifo_or_device_after_it_was_listed_is_refused_not_read(
    tmp_path: Path, special: str
) -> None:
    """``deposit - exhibit`` with ``exhibit`` a link to a regular file when the inputs are listed; while
    the deposit reads standard input, the link is pointed at a FIFO nobody writes to (the deposit then
    waited for ever) or at ``/dev/zero`` (read until the disk is full). Now: exit 4, one line naming the
    input, nothing at the output."""
    real = tmp_path / "real.txt"
    real.write_text("exhibit\n")
    link = tmp_path / "exhibit"
    link.symlink_to(real)
    if special == "fifo":
        os.mkfifo(tmp_path / "fifo")
        target = tmp_path / "fifo"
    else:
        target = Path("/dev/zero")
    out = tmp_path / "p.evp"
    env = {**os.environ, "EVIDENCECTL_HOME": str(tmp_path / "home")}
    cmd = [sys.executable, "-m", "evidencectl", "deposit", "-", str(link), "--follow-symlinks", "-o", str(out)]
    err = tmp_path / "stderr.txt"
    with err.open("wb") as err_file:
        proc = subprocess.Popen(
            [*cmd, "--tsa", "local"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err_file, env=env
        )
        assert proc.stdin is not None
        proc.stdin.write(b"typed on standard input\n")
        proc.stdin.flush()
        time.sleep(2.5)  # the inputs are listed (the link is a regular file); stdin is being read
        link.unlink()
        link.symlink_to(target)
        proc.stdin.close()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("the deposit is still reading the special file")
    stderr = err.read_bytes()
    assert proc.returncode == 4, stderr
    text = stderr.decode()
    assert "not a regular file" in text and "exhibit" in text and "Traceback" not in text
    assert not out.exists()


def test_file_literally_named_like_a_mails_parts_folder_is_renamed_not_merged(
    cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    """``case/x.eml`` beside a folder ``case/x.eml.parts/`` holding ``body-1.txt``: the file's member would be
    the mail body's member. The later one is stored under ``evidence/_renamed/``; unzip extracts each
    original to its own file, byte for byte."""
    case = tmp_path / "case"
    (case / "x.eml.parts").mkdir(parents=True)
    shutil.copy(MAIL, case / "x.eml")
    (case / "x.eml.parts" / "body-1.txt").write_bytes(FORGED)
    out = tmp_path / "p.evp"
    res = cli("deposit", case, "-o", out, "--tsa", "local")
    assert res.code == 0, res.err
    items = {i["name"]: i for i in _manifest(out)["items"]}
    body, lookalike = items["case/x.eml/body-1.txt"], items["case/x.eml.parts/body-1.txt"]
    assert body["path"] == "evidence/case/x.eml.parts/body-1.txt" and body["kind"] == "body"
    assert lookalike["path"].startswith("evidence/_renamed/") and "stored as" in res.err
    dest = tmp_path / "x"
    subprocess.run(["unzip", "-q", "-o", str(out), "-d", str(dest)], check=True)
    assert (dest / lookalike["path"]).read_bytes() == FORGED
    assert (dest / body["path"]).read_bytes() != FORGED
    assert cli("verify", out).code == 0


def _mail_with_colliding_attachments() -> bytes:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.cn", "b@example.cn", "parts that collide"
    msg.set_content("the body\n")
    for n, name in enumerate(["a.pdf", "A.PDF", "../../a.pdf", "C:\\evil\\a.pdf", "cafe\u0301.txt", "café.txt"]):
        msg.add_attachment(f"attachment {n}\n".encode(), maintype="application", subtype="octet-stream", filename=name)
    return msg.as_bytes()


def test_mail_whose_attachment_names_collide_keeps_each_part_apart(
    cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    """Attachments named ``a.pdf``, ``A.PDF``, ``../../a.pdf``, ``C:\\evil\\a.pdf`` and ``café.txt`` in NFD
    and NFC: each becomes its own part with its own member, none escapes, and 7z extracts each one's
    bytes (regression guard: the part namer held)."""
    mail = tmp_path / "m.eml"
    mail.write_bytes(_mail_with_colliding_attachments())
    out = tmp_path / "p.evp"
    assert cli("deposit", mail, "-o", out, "--tsa", "local").code == 0
    parts = [i for i in _manifest(out)["items"] if i["kind"] == "attachment"]
    assert len(parts) == 6
    members = [p["path"] for p in parts]
    assert len({m.lower() for m in members}) == 6
    assert all(m.startswith("evidence/m.eml.parts/attachments/") and ".." not in m for m in members)
    dest = tmp_path / "x"
    subprocess.run(["7z", "x", "-y", f"-o{dest}", str(out)], capture_output=True, check=True)
    got = sorted((dest / m).read_bytes() for m in members)
    assert got == sorted(f"attachment {n}\n".encode() for n in range(6))
    assert cli("verify", out).code == 0


@pytest.mark.parametrize("link", ["symbolic", "hard"])
def test_link_to_the_package_being_replaced_is_not_deposited(
    cli: Callable[..., CliResult], tmp_path: Path, link: str
) -> None:
    """``deposit case -o case/out.evp --force --follow-symlinks`` with ``case/copy -> out.evp`` (or a hard
    link): the package being replaced was deposited inside its successor under another name. It is now
    passed over like the output itself, with a warning."""
    case = tmp_path / "case"
    case.mkdir()
    (case / "a.txt").write_text("exhibit\n")
    out = case / "out.evp"
    assert cli("deposit", case, "-o", out, "--tsa", "local").code == 0
    if link == "symbolic":
        (case / "copy").symlink_to("out.evp")
    else:
        os.link(out, case / "copy")
    res = cli("deposit", case, "-o", out, "--force", "--follow-symlinks", "--tsa", "local")
    assert res.code == 0, res.err
    assert [i["name"] for i in _manifest(out)["items"]] == ["case/a.txt"]
    assert "case/copy: passed over" in res.err
    listing = subprocess.run(["unzip", "-Z1", str(out)], capture_output=True, text=True, check=True).stdout
    assert [n for n in listing.split() if n.startswith("evidence/")] == ["evidence/case/a.txt"]
