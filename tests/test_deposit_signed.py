"""deposit --sign: manifest.sig verifies with OpenSSL and with verify; trust decides PASSED or INDETERMINATE."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import rewrite_member


@pytest.mark.parametrize(
    ("algorithm", "dgst"), [("sm2", ["-sm3", "-sigopt", "distid:1234567812345678"]), ("ecdsa-p256", ["-sha256"])]
)
def test_signed_deposit_interoperates_with_openssl(
    cli,
    sample_dir: Path,
    tmp_path: Path,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
    algorithm: str,
    dgst: list[str],
) -> None:
    monkeypatch.setenv("EVK_PASS", "correct horse battery staple")
    res = cli("keys", "generate", "--algorithm", algorithm, "--name", "张律师", "--passphrase-env", "EVK_PASS")
    assert res.code == 0, res.err
    out = tmp_path / "signed.evp"
    res = cli("deposit", sample_dir, "-o", out, "--sign", "--passphrase-env", "EVK_PASS", "--depositor", "张律师")
    assert res.code == 0, res.err
    with zipfile.ZipFile(out) as z:
        for name in ("manifest.json", "manifest.sig", "certs/depositor.pem"):
            (tmp_path / name.replace("/", "_")).write_bytes(z.read(name))
    pub = subprocess.run(
        ["openssl", "x509", "-in", str(tmp_path / "certs_depositor.pem"), "-pubkey", "-noout"],
        capture_output=True,
        check=True,
    ).stdout
    (tmp_path / "pub.pem").write_bytes(pub)
    ok = subprocess.run(
        [
            "openssl",
            "dgst",
            *dgst,
            "-verify",
            str(tmp_path / "pub.pem"),
            "-signature",
            str(tmp_path / "manifest.sig"),
            str(tmp_path / "manifest.json"),
        ],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0 and "Verified OK" in ok.stdout

    # `keys generate` trusted the new key on this machine as a signer: its own deposit verifies.
    res = cli("verify", out, "--json")
    sig = next(c for c in json.loads(res.out)["checks"] if c["check"] == "signature:manifest")
    assert sig["status"] == "PASSED" and res.code == 0, res.out
    # Without that trust the signature is good but INDETERMINATE.
    own = [a for a in json.loads(cli("trust", "list", "--json").out)["anchors"] if a["role"] == "signer"]
    assert len(own) == 1 and cli("trust", "remove", own[0]["fingerprint"]).code == 0
    res = cli("verify", out, "--json")
    sig = next(c for c in json.loads(res.out)["checks"] if c["check"] == "signature:manifest")
    assert sig["status"] == "INDETERMINATE" and res.code == 3
    exported = tmp_path / "zhang.pem"
    exported.write_text(cli("keys", "export", "--public").out)
    assert cli("trust", "add", exported, "--as", "signer").code == 0
    res = cli("verify", out, "--json")
    assert res.code == 0, res.out
    sig = next(c for c in json.loads(res.out)["checks"] if c["check"] == "signature:manifest")
    assert sig["status"] == "PASSED" and sig["facts"]["algorithm"] == algorithm

    # A signature over other bytes is FAILED.
    forged = rewrite_member(out, tmp_path / "forged.evp", "manifest.sig", lambda d: d[:-1] + bytes([d[-1] ^ 1]))
    res = cli("verify", forged, "--json")
    assert res.code in (1, 4)


def test_wrong_passphrase_is_one_line_and_writes_nothing(
    cli,
    sample_dir: Path,
    tmp_path: Path,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EVK_PASS", "the right passphrase")
    assert cli("keys", "generate", "--name", "a", "--passphrase-env", "EVK_PASS").code == 0
    monkeypatch.setenv("EVK_PASS", "the wrong passphrase")
    out = tmp_path / "x.evp"
    res = cli("deposit", sample_dir, "-o", out, "--sign", "--passphrase-env", "EVK_PASS")
    assert res.code == 4 and res.err.count("\n") == 1 and "Traceback" not in res.err
    assert not out.exists()
