"""Mails and screenshots through the whole pipeline: parts become items, one attachment verifies alone."""

from __future__ import annotations

import email
import json
from pathlib import Path

from conftest import ASSETS


def _attachment(eml: Path, suffix: str) -> bytes:
    msg = email.message_from_bytes(eml.read_bytes())
    for part in msg.walk():
        name = part.get_filename()
        if name and name.endswith(suffix):
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload
    raise AssertionError(f"no {suffix} attachment in {eml}")


def test_mail_with_attachments_and_screenshot(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    eml = ASSETS / "email" / "multipart_attachments.eml"
    gmail = ASSETS / "email" / "dkimpy_gmail_dkim_2013.eml"
    shot = ASSETS / "images" / "pillow_exif_gps.jpg"
    out = tmp_path / "mails.evp"
    res = cli(
        "deposit",
        eml,
        gmail,
        shot,
        "-o",
        out,
        "--offline",
        "--dkim-keys",
        ASSETS / "email" / "dkim_keys.zone",
        "--json",
    )
    assert res.code == 0, res.err
    manifest = json.loads(cli("inspect", out, "--json").out)
    items = {i["name"]: i for i in manifest["items"]}
    parent = items["multipart_attachments.eml"]
    assert parent["kind"] == "email"
    children = [i for i in manifest["items"] if i["parent"] == parent["id"]]
    assert any(c["kind"] == "attachment" and c["name"].endswith("合同.pdf") for c in children)
    assert items["dkimpy_gmail_dkim_2013.eml"]["metadata"]["email"]["dkim"][0]["result"] == "pass"
    assert items["pillow_exif_gps.jpg"]["kind"] == "image"
    text = cli("inspect", out).out
    assert "email.subject: DKIM test mail #1" in text

    pdf = tmp_path / "attachment.pdf"
    pdf.write_bytes(_attachment(eml, ".pdf"))
    res = cli("verify", out, "--data", pdf, "--json")
    assert res.code == 0, res.out
    data_check = next(c for c in json.loads(res.out)["checks"] if c["check"].startswith("data:"))
    assert data_check["status"] == "PASSED" and "合同.pdf" in data_check["detail"]

    # Altered, it is no item (a part is never matched by name): it says nothing about the deposit, which is
    # not FAILED for it (tests/test_attack_data_stray.py); it is not PASSED either.
    pdf.write_bytes(pdf.read_bytes() + b"%")
    res = cli("verify", out, "--data", pdf, "--json")
    data_check = next(c for c in json.loads(res.out)["checks"] if c["check"].startswith("data:"))
    assert res.code == 3 and data_check["status"] == "INDETERMINATE" and data_check["reason"] == "NOT_COVERED"

    one = tmp_path / "one.evp"
    name = next(c["name"] for c in children if c["name"].endswith("合同.pdf"))
    assert cli("extract", out, "--item", name, "-o", one).code == 0
    assert cli("verify", one).code == 0
    disclosed = json.loads(cli("inspect", one, "--json").out)
    assert [i["name"] for i in disclosed["items"]] == [name]


def test_strict_refuses_a_truncated_mail_and_writes_nothing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = ASSETS / "email" / "bad_truncated_mime.eml"
    out = tmp_path / "s.evp"
    res = cli("deposit", bad, "-o", out, "--strict", "--offline")
    assert res.code == 4 and "bad_truncated_mime.eml" in res.err
    assert not out.exists() and not list(tmp_path.glob(".s.evp*"))
    res = cli("deposit", bad, "-o", out, "--offline")
    assert res.code == 0 and "warning" in res.err
