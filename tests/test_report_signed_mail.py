"""Certificates of a signed deposit (signer, certificate and key fingerprints) and of real mail (headers, DKIM)."""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import re
import subprocess
import zipfile
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from test_report_support import CASE, ensure_report_command, pdftotext

MAIL = Path(__file__).parent / "assets" / "email"


def _openssl(args: list[str], data: bytes) -> bytes:
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


@pytest.fixture
def cli_report(cli: Callable[..., Any]) -> Callable[..., Any]:
    """The command-line runner with ``report`` registered."""
    ensure_report_command()
    return cli


def test_signed_deposit_certificate_names_signer_and_fingerprints(
    cli_report: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("P", "correct horse battery staple")
    made = cli_report("keys", "generate", "--name", "张律师", "--passphrase-env", "P")
    assert made.code == 0, made.err
    printed = re.search(r"fingerprint ([0-9a-f]{64})", made.out)
    assert printed is not None
    (tmp_path / "ev").mkdir()
    (tmp_path / "ev" / "合同.txt").write_text("借款合同 第一条\n", encoding="utf-8")
    package = tmp_path / "signed.evp"
    res = cli_report(
        "deposit", tmp_path / "ev", "-o", package, "--sign", "--passphrase-env", "P", "--depositor", "张律师"
    )
    assert res.code == 0, res.err
    # `keys generate` trusted the key on this machine; without that trust the verdict is INDETERMINATE.
    own = [a for a in json.loads(cli_report("trust", "list", "--json").out)["anchors"] if a["role"] == "signer"]
    assert cli_report("trust", "remove", own[0]["fingerprint"]).code == 0
    assert cli_report("report", package, "-o", tmp_path / "refused.pdf").code == 3
    public = tmp_path / "zhang.pem"
    public.write_text(cli_report("keys", "export", "--public").out)
    out = tmp_path / "signed.pdf"
    res = cli_report("report", package, "-o", out, "--trust", f"signer:{public}")
    assert res.code == 0, res.err

    with zipfile.ZipFile(package) as z:
        pem = z.read("certs/depositor.pem")
    # Fingerprints recomputed by OpenSSL from the certificate the package carries.
    cert_fp = hashlib.sha256(_openssl(["x509", "-outform", "DER"], pem)).hexdigest()
    spki = _openssl(["pkey", "-pubin", "-outform", "DER"], _openssl(["x509", "-noout", "-pubkey"], pem))
    key_fp = hashlib.sha256(spki).hexdigest()
    assert key_fp == printed.group(1)  # the fingerprint `keys generate` showed the lawyer
    subject = _openssl(["x509", "-noout", "-subject", "-nameopt", "utf8,sep_comma_plus"], pem).decode()
    assert "CN=张律师" in subject.replace(" ", "")

    # Page one says how the identity is established; the appendix carries the fingerprints.
    first = re.sub(r"\s+", "", pdftotext(out, "-f", "1", "-l", "1"))
    assert "张律师：由受信任的证书签名确认" in first and "未签名" not in first
    appendix = re.sub(r"\s+", "", pdftotext(out, "-f", "2"))
    assert "存证人签名证书CN=张律师" in appendix
    assert cert_fp in appendix and key_fp in appendix
    assert appendix.index(cert_fp) < appendix.index(key_fp)

    unsigned = tmp_path / "unsigned.evp"
    assert cli_report("deposit", tmp_path / "ev", "-o", unsigned).code == 0
    assert cli_report("report", unsigned, "-o", tmp_path / "u.pdf").code == 0
    assert "未签名，姓名仅为存证人自述" in re.sub(r"\s+", "", pdftotext(tmp_path / "u.pdf", "-f", "1", "-l", "1"))


def _headers(path: Path) -> tuple[str, str, str]:
    """From, Subject and Date (UTC) read with the standard library's mail parser."""
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    when = parsedate_to_datetime(str(msg["Date"])).astimezone(__import__("datetime").UTC)
    return str(msg["From"]), str(msg["Subject"]), when.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_mail_certificate_shows_headers_and_dkim_results(cli_report: Callable[..., Any], tmp_path: Path) -> None:
    good, bad = MAIL / "dkimpy_gmail_dkim_2013.eml", MAIL / "gmail_dkim_tampered_subject.eml"
    package = tmp_path / "mail.evp"
    keys = MAIL / "dkim_keys.zone"
    res = cli_report("deposit", good, bad, "-o", package, "--offline", "--dkim-keys", keys, "--case", CASE)
    assert res.code == 0, res.err
    out = tmp_path / "mail.pdf"
    assert cli_report("report", package, "-o", out, "--lang", "en").code == 0
    text = pdftotext(out)
    text = text[text.index("Appendix: technical details") :]  # page one names the first items too
    # One table row per item: cut the text at each item's name, up to the next item's name.
    starts = sorted((text.index(p.name), p.name) for p in (good, bad))
    ends = [s for s, _ in starts[1:]] + [len(text)]
    blocks = {name: text[start:end] for (start, name), end in zip(starts, ends, strict=True)}
    for path, result in ((good, "pass"), (bad, "fail")):
        block = blocks[path.name]
        sender, subject, date = _headers(path)
        assert f"from: {sender}" in block
        assert f"subject: {subject}" in block
        assert f"date: {date}" in block
        line = re.search(r"DKIM d=gmail\.com s=20120113 a=rsa-sha256: (\w+)", block)
        assert line is not None and line.group(1) == result, (path.name, line)
