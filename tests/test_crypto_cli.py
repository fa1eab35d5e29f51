"""``evidencectl keys`` and ``evidencectl trust`` through typer's CliRunner, files checked with OpenSSL."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from evidencectl.cli import keys_cmd, trust_cmd
from evidencectl.context import Context
from evidencectl.crypto.keys import generate_key, load_private_key
from evidencectl.crypto.x509 import build_certificate, certificate_pem
from evidencectl.errors import BadInputError, KeyFileError, OutputExistsError, UsageError

app = typer.Typer()
app.add_typer(keys_cmd.app, name="keys")
app.add_typer(trust_cmd.app, name="trust")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty EVIDENCECTL_HOME and a passphrase in an environment variable."""
    path = tmp_path / "home"
    monkeypatch.setenv("EVIDENCECTL_HOME", str(path))
    monkeypatch.setenv("DEPOSITOR_PW", "correct horse")
    return path


def run(*args: str) -> tuple[int, str, BaseException | None]:
    """Invoke the CLI; library errors surface as the exception (the main CLI maps them)."""
    result = CliRunner().invoke(app, list(args))
    exc = result.exception if not isinstance(result.exception, SystemExit) else None
    return result.exit_code, result.output, exc


@pytest.mark.parametrize("algorithm", ["sm2", "ecdsa-p256"])
def test_generate_show_export(home: Path, algorithm: str) -> None:
    code, out, exc = run("keys", "generate", "--name", "alice", "--algorithm", algorithm,
                         "--passphrase-env", "DEPOSITOR_PW")  # fmt: skip
    assert code == 0 and exc is None, out
    key_path = home / "keys" / "alice.key.pem"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in key_path.read_bytes()
    key = load_private_key(key_path, b"correct horse")
    assert key.key_id in out

    cert_text = subprocess.run(
        ["openssl", "x509", "-in", str(home / "keys" / "alice.cert.pem"), "-text", "-noout"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "Subject: CN = alice" in cert_text
    assert ("SM2-with-SM3" if algorithm == "sm2" else "ecdsa-with-SHA256") in cert_text

    code, out, _ = run("keys", "show", "--json")
    doc = json.loads(out)
    assert doc["keys"][0]["fingerprint"] == key.key_id
    assert doc["keys"][0]["algorithm"] == algorithm and doc["keys"][0]["encrypted"] is True
    assert doc["keys"][0]["certificates"][0]["subject"] == "CN = alice"
    code, out, _ = run("keys", "show")
    assert "alice" in out and key.key_id in out and "warning" not in out

    code, out, _ = run("keys", "export", "--public")
    assert code == 0 and out.encode() == key.public_key_pem()
    _code, _out, exc = run("keys", "export")
    assert isinstance(exc, UsageError)

    # Never overwrite an existing key.
    before = key_path.read_bytes()
    _code, _out, exc = run("keys", "generate", "--name", "alice", "--passphrase-env", "DEPOSITOR_PW")
    assert isinstance(exc, OutputExistsError)
    assert key_path.read_bytes() == before


def test_passphrase_from_file_and_unencrypted_warning(home: Path, tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("file secret\n")
    code, _out, exc = run("keys", "generate", "--name", "bob", "--passphrase-file", str(tmp_path / "pw"))
    assert code == 0 and exc is None
    load_private_key(home / "keys" / "bob.key.pem", b"file secret")
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        load_private_key(home / "keys" / "bob.key.pem", b"file secret\n")

    code, out, exc = run("keys", "generate", "--name", "carol", "--unencrypted")
    assert code == 0 and "not encrypted" in out
    (home / "keys" / "carol.key.pem").chmod(0o644)
    _code, out, _ = run("keys", "show", "--name", "carol")
    assert "0644" in out and "NOT encrypted" in out
    # With two keys and no --name, export refuses to guess.
    _code, _out, exc = run("keys", "export", "--public")
    assert isinstance(exc, UsageError)


def test_no_terminal_no_passphrase_source_is_a_usage_error(home: Path) -> None:
    _code, _out, exc = run("keys", "generate", "--name", "dave")
    assert isinstance(exc, UsageError)
    assert not (home / "keys" / "dave.key.pem").exists()


def test_out_option_writes_elsewhere(home: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "elsewhere" / "erin.pem"
    out_file.parent.mkdir()
    code, _out, exc = run("keys", "generate", "--name", "erin", "--out", str(out_file),
                          "--passphrase-env", "DEPOSITOR_PW")  # fmt: skip
    assert code == 0 and exc is None
    assert load_private_key(out_file, b"correct horse").algorithm == "sm2"
    assert (tmp_path / "elsewhere" / "erin.cert.pem").exists()
    assert not (home / "keys" / "erin.key.pem").exists()


def test_import_cert(home: Path, tmp_path: Path) -> None:
    run("keys", "generate", "--name", "frank", "--passphrase-env", "DEPOSITOR_PW")
    key = load_private_key(home / "keys" / "frank.key.pem", b"correct horse")
    ca = generate_key("sm2")
    ca_cert = build_certificate(subject_cn="Notary CA", subject_public_key_der=ca.public_key_der(),
                                issuer_key=ca, issuer_cert_der=None, is_ca=True)  # fmt: skip
    leaf = build_certificate(subject_cn="Frank", subject_public_key_der=key.public_key_der(),
                             issuer_key=ca, issuer_cert_der=ca_cert)  # fmt: skip
    (tmp_path / "issued.pem").write_bytes(certificate_pem(leaf) + certificate_pem(ca_cert))
    code, out, exc = run("keys", "import-cert", str(tmp_path / "issued.pem"))
    assert code == 0 and exc is None and "Notary CA" in out
    doc = json.loads(run("keys", "show", "--json")[1])
    assert [c["subject"] for c in doc["keys"][0]["certificates"]] == ["CN = Frank", "CN = Notary CA"]

    # A certificate for someone else's key is refused and the current one kept.
    before = (home / "keys" / "frank.cert.pem").read_bytes()
    (tmp_path / "ca.pem").write_bytes(certificate_pem(ca_cert))
    _code, _out, exc = run("keys", "import-cert", str(tmp_path / "ca.pem"))
    assert isinstance(exc, BadInputError)
    assert (home / "keys" / "frank.cert.pem").read_bytes() == before


def test_trust_add_list_remove(home: Path, tmp_path: Path) -> None:
    node = generate_key("sm2")
    (tmp_path / "node.pem").write_bytes(node.public_key_pem())
    code, out, exc = run("trust", "add", str(tmp_path / "node.pem"), "--as", "ledger")
    assert code == 0 and exc is None and node.key_id in out
    assert (home / "trust" / "ledger").is_dir()
    doc = json.loads(run("trust", "list", "--json")[1])
    doc["anchors"] = [a for a in doc["anchors"] if not a["source"].startswith("catalogue ")]  # shipped TSA roots
    assert doc["anchors"][0]["fingerprint"] == node.key_id
    assert doc["anchors"][0]["role"] == "ledger" and doc["anchors"][0]["kind"] == "public_key"
    code, out, _ = run("trust", "list")
    assert node.key_id in out
    code, out, _ = run("trust", "add", str(tmp_path / "node.pem"), "--as", "nobody")
    assert code == 2  # typer rejects the role
    code, out, exc = run("trust", "remove", node.key_id[:10])
    assert code == 0 and exc is None
    doc = json.loads(run("trust", "list", "--json")[1])
    assert [a for a in doc["anchors"] if a["role"] != "tsa"] == [] and doc["chains"] == []
    _code, _out, exc = run("trust", "remove", node.key_id)
    assert isinstance(exc, UsageError)


def test_every_command_has_help() -> None:
    for group, names in (("keys", ["generate", "show", "export", "import-cert"]), ("trust", ["add", "list", "remove"])):
        for name in names:
            result = CliRunner().invoke(app, [group, name, "--help"])
            assert result.exit_code == 0 and "Usage" in result.output
    assert "--passphrase" not in CliRunner().invoke(app, ["keys", "generate", "--help"]).output.replace(
        "--passphrase-env", ""
    ).replace("--passphrase-file", "")


def test_signing_identity_for_deposit(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from evidencectl.crypto.depositor import load_signing_identity
    from evidencectl.crypto.x509 import certificate_summary

    run("keys", "generate", "--name", "gina", "--passphrase-env", "DEPOSITOR_PW")
    key, cert = load_signing_identity(Context(home), None, "DEPOSITOR_PW", None)
    assert cert is not None and certificate_summary(cert)["key_fingerprint"] == key.key_id
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(KeyFileError, match="passphrase-env"):
        load_signing_identity(Context(home), None, None, None)
    # A bare OpenSSL key gets a self-signed certificate naming its key.
    subprocess.run(["openssl", "genpkey", "-algorithm", "SM2", "-out", str(tmp_path / "o.pem")], check=True)
    (tmp_path / "o.pem").chmod(0o600)
    with pytest.warns(Warning, match="not encrypted"):
        key, cert = load_signing_identity(Context(home), tmp_path / "o.pem", None, None)
    assert cert is not None and certificate_summary(cert)["key_fingerprint"] == key.key_id
