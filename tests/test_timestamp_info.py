"""``evidencectl timestamp info`` reads a token the way ``openssl ts -reply -text`` does, for real TSAs' tokens
(tests/assets/tsr, see its README) and for the embedded TSA's. Issue 19 ("Everyday use")."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

ASSETS = Path(__file__).parent / "assets" / "tsr"
TOKENS = [
    ASSETS / "01_freetsa_2017" / "token.tst",
    ASSETS / "02_symantec_2017" / "token.tst",
    ASSETS / "03_digicert_2018" / "token.tst",
    ASSETS / "04_globalsign_2017" / "resp_nonce.tsr",
    ASSETS / "04_globalsign_2017" / "resp_no_cert.tsr",
    ASSETS / "06_sigstage_2025" / "response-sha384.tsr",
]


def _openssl_text(path: Path) -> dict[str, str]:
    """``openssl ts -reply -text`` of ``path`` as ``field: value`` pairs."""
    argv = ["openssl", "ts", "-reply", "-in", str(path), "-text"]
    if path.suffix == ".tst":
        argv.append("-token_in")
    text = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep and not line.startswith(" "):
            fields.setdefault(key, value.strip())
    return fields


def _openssl_time(value: str) -> datetime:
    """``Dec 18 17:34:16.800812 2017 GMT`` -> an aware datetime."""
    month, day, clock, year, _gmt = value.split()
    fmt = "%b %d %H:%M:%S.%f %Y" if "." in clock else "%b %d %H:%M:%S %Y"
    return datetime.strptime(f"{month} {day} {clock} {year}", fmt).replace(tzinfo=UTC)


def _openssl_dirname(value: str) -> list[str]:
    """``DirName:/C=SG/O=…/CN=…`` -> the attribute values, in order."""
    return [part.split("=", 1)[1] for part in re.split(r"/(?=[A-Za-z0-9.]+=)", value.removeprefix("DirName:"))[1:]]


@pytest.mark.parametrize("token", TOKENS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_timestamp_info_agrees_with_openssl_ts_reply_text(cli, token: Path) -> None:  # type: ignore[no-untyped-def]
    ours = json.loads(cli("timestamp", "info", token, "--json").out)
    theirs = _openssl_text(token)
    assert theirs["Status"].rstrip(".").lower() == ours["status"]
    assert theirs["Hash Algorithm"] == ours["hash_algorithm"]
    assert theirs["Serial number"] == "0x" + ours["serial_hex"]
    assert _openssl_time(theirs["Time stamp"]) == datetime.fromisoformat(ours["gen_time"])
    assert theirs["Ordering"] == ("yes" if ours["ordering"] else "no")
    assert theirs["Nonce"] == ("unspecified" if ours["nonce"] is None else "0x" + ours["nonce_hex"])
    policy = theirs["Policy OID"]
    if re.fullmatch(r"[0-9.]+", policy):  # openssl prints a name for the OIDs it knows (tsa_policy1)
        assert policy == ours["policy"]
    if theirs["TSA"] == "unspecified":
        assert ours["tsa_name"] is None
    else:
        assert [v.split("=", 1)[1] for v in ours["tsa_name"].split(", ")] == _openssl_dirname(theirs["TSA"])
    digest_hex = ours["imprint"]
    dump = subprocess.run(
        ["openssl", "ts", "-reply", "-in", str(token), "-text", *(["-token_in"] if token.suffix == ".tst" else [])],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    octets = "".join(re.findall(r"^\s+[0-9a-f]{4} - ((?:[0-9a-f]{2}[ -]){1,16})", dump, re.M)).replace("-", " ")
    assert octets.replace(" ", "") == digest_hex


def test_timestamp_info_lists_embedded_certificates(cli) -> None:  # type: ignore[no-untyped-def]
    token = ASSETS / "04_globalsign_2017" / "resp_nonce.tsr"
    doc = json.loads(cli("timestamp", "info", token, "--json").out)
    pem = subprocess.run(
        ["openssl", "ts", "-reply", "-in", str(token), "-token_out", "-out", "/dev/stdout"],
        capture_output=True,
        check=True,
    ).stdout
    certs = subprocess.run(
        ["openssl", "pkcs7", "-inform", "DER", "-print_certs", "-noout"], input=pem, capture_output=True, check=True
    ).stdout.decode()
    assert len(doc["certificates"]) == certs.count("subject=") == 2
    assert "GlobalSign TSA for Adobe CDS - G2" in doc["signer"]
    text = cli("timestamp", "info", token).out
    assert "genTime:         2017-04-19T06:29:53Z" in text and "Certificates:    2" in text


def test_timestamp_info_of_an_embedded_token_and_of_garbage(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "f.txt"
    data.write_text("evidence\n")
    assert cli("timestamp", "request", data, "-o", tmp_path / "f.tsr").code == 0
    doc = json.loads(cli("timestamp", "info", tmp_path / "f.tsr", "--json").out)
    assert doc["status"] == "granted" and doc["hash_algorithm"] == "sha256" and doc["certificates"]
    assert _openssl_text(tmp_path / "f.tsr")["Serial number"] == "0x" + doc["serial_hex"]
    junk = tmp_path / "junk.tsr"
    junk.write_bytes(b"\x30\x03\x02\x01")
    res = cli("timestamp", "info", junk)
    assert res.code == 4 and res.err.count("\n") == 1 and "junk.tsr" in res.err
