"""Key files: loading what OpenSSL makes, clear one-line errors, files never clobbered, racing services."""

from __future__ import annotations

import hashlib
import multiprocessing
import stat
import subprocess
import warnings
from pathlib import Path

import pytest

from evidencectl.crypto.keys import (
    KeyFileWarning,
    generate_key,
    load_or_create_service_key,
    load_private_key,
    save_private_key,
    spki_fingerprint,
    verify_signature,
)
from evidencectl.crypto.passphrase import read_passphrase
from evidencectl.errors import BadInputError, ExitCode, KeyFileError, OutputExistsError, UsageError


def openssl(*args: str | Path) -> None:
    """Run openssl, failing the test if it fails."""
    subprocess.run(["openssl", *map(str, args)], capture_output=True, check=True)


def assert_one_line_error(exc: BadInputError, path: Path) -> None:
    """A key error names the file, fits on one line and maps to exit code 4."""
    line = exc.diagnostics()
    assert "\n" not in line and str(path) in line
    assert exc.exit_code == ExitCode.BAD_INPUT


@pytest.mark.parametrize("algorithm", ["sm2", "ecdsa-p256"])
def test_save_and_load_round_trip(tmp_path: Path, algorithm: str) -> None:
    key = generate_key(algorithm)  # type: ignore[arg-type]
    path = tmp_path / "k.pem"
    save_private_key(key, path, b"s3cret")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    loaded = load_private_key(path, b"s3cret")
    assert loaded.algorithm == algorithm
    assert loaded.key_id == key.key_id == hashlib.sha256(key.public_key_der()).hexdigest()
    assert loaded.key_id == spki_fingerprint(loaded.public_key_der())
    assert verify_signature(key.public_key_der(), loaded.sign(b"m"), b"m")


def test_save_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    save_private_key(generate_key("sm2"), path, None)
    before = path.read_bytes()
    with pytest.raises(OutputExistsError):
        save_private_key(generate_key("sm2"), path, None)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["k.pem"]  # no temporary file left behind


@pytest.mark.parametrize(
    ("genpkey", "encrypted"),
    [
        (["-algorithm", "SM2"], False),
        (["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], False),
        (["-algorithm", "SM2", "-aes-256-cbc", "-pass", "pass:pw"], True),
        (["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes-256-cbc", "-pass", "pass:pw"], True),
    ],
)
def test_openssl_keys_load(tmp_path: Path, genpkey: list[str], encrypted: bool) -> None:
    path = tmp_path / "k.pem"
    openssl("genpkey", *genpkey, "-out", path)
    openssl("pkey", "-in", path, "-passin", "pass:pw", "-pubout", "-outform", "DER", "-out", tmp_path / "pub.der")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KeyFileWarning)
        key = load_private_key(path, b"pw" if encrypted else None)
    assert key.public_key_der() == (tmp_path / "pub.der").read_bytes()
    # DER PKCS#8 loads too.
    openssl("pkey", "-in", path, "-passin", "pass:pw", "-outform", "DER", "-out", tmp_path / "k.der")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KeyFileWarning)
        assert load_private_key(tmp_path / "k.der").key_id == key.key_id


def test_wrong_passphrase_is_one_clear_line_and_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    save_private_key(generate_key("sm2"), path, b"right")
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="wrong passphrase") as info:
        load_private_key(path, b"wrong")
    assert_one_line_error(info.value, path)
    with pytest.raises(KeyFileError, match="no passphrase"):
        load_private_key(path, None)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("genpkey", "message"),
    [
        (["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp384r1"], "unsupported curve secp384r1"),
        (["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"], "unsupported key type RSA"),
        (["-algorithm", "ED25519"], "unsupported key type"),
    ],
)
def test_unsupported_keys_are_refused(tmp_path: Path, genpkey: list[str], message: str) -> None:
    path = tmp_path / "k.pem"
    openssl("genpkey", *genpkey, "-out", path)
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match=message) as info:
        load_private_key(path)
    assert_one_line_error(info.value, path)
    assert path.read_bytes() == before


def test_pem_that_is_not_a_key(tmp_path: Path) -> None:
    path = tmp_path / "cert.pem"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", tmp_path / "k.pem", "-subj", "/CN=x", "-out", path)  # fmt: skip
    with pytest.raises(KeyFileError, match="not a private key") as info:
        load_private_key(path)
    assert_one_line_error(info.value, path)
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00\x01 not a key")
    with pytest.raises(KeyFileError):
        load_private_key(garbage)
    with pytest.raises(KeyFileError, match="cannot read"):
        load_private_key(tmp_path / "missing.pem")


def test_unsafe_key_files_warn(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    save_private_key(generate_key("ecdsa-p256"), path, None)
    with pytest.warns(KeyFileWarning, match="not encrypted"):
        load_private_key(path)
    path.chmod(0o644)
    with pytest.warns(KeyFileWarning) as record:
        load_private_key(path)
    messages = [str(w.message) for w in record]
    assert any("0644" in m for m in messages) and any("not encrypted" in m for m in messages)
    safe = tmp_path / "safe.pem"
    save_private_key(generate_key("ecdsa-p256"), safe, b"pw")
    with warnings.catch_warnings():
        warnings.simplefilter("error", KeyFileWarning)
        load_private_key(safe, b"pw")


def _create_service_key(path: str) -> str:
    """Child process body: return the key id it ends up with."""
    return load_or_create_service_key(Path(path), "sm2").key_id


def test_service_key_created_once_even_when_processes_race(tmp_path: Path) -> None:
    path = tmp_path / "tsa" / "key.pem"
    with multiprocessing.get_context("spawn").Pool(6) as pool:
        ids = pool.map(_create_service_key, [str(path)] * 12)
    assert len(set(ids)) == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_service_key(path, "sm2").key_id == ids[0]
    assert sorted(p.name for p in path.parent.iterdir()) == ["key.pem"]
    with pytest.raises(KeyFileError, match="expected ecdsa-p256"):
        load_or_create_service_key(path, "ecdsa-p256")


def test_verify_signature_edge_cases() -> None:
    key = generate_key("sm2")
    assert not verify_signature(key.public_key_der(), b"not der", b"m")
    with pytest.raises(BadInputError):
        verify_signature(b"not a key", key.sign(b"m"), b"m")
    with pytest.raises(BadInputError, match="SM3"):
        verify_signature(key.public_key_der(), key.sign(b"m"), b"m", "sha256")
    assert "PRIVATE" not in repr(key) and key.key_id[:16] in repr(key)


def test_read_passphrase_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVIDENCE_PW", "from env")
    assert read_passphrase("EVIDENCE_PW", None, prompt=False) == b"from env"
    file = tmp_path / "pw.txt"
    file.write_bytes(b"from file\n")
    assert read_passphrase(None, file, prompt=False) == b"from file"
    assert read_passphrase(None, None, prompt=False) is None
    with pytest.raises(UsageError):
        read_passphrase("EVIDENCE_PW", file, prompt=False)
    with pytest.raises(BadInputError, match="NOPE_UNSET"):
        read_passphrase("NOPE_UNSET", None, prompt=False)
    (tmp_path / "empty").write_bytes(b"\n")
    with pytest.raises(BadInputError, match="empty"):
        read_passphrase(None, tmp_path / "empty", prompt=False)


@pytest.mark.parametrize("name", ["alice\n", "alice\n\n", "\nalice"])
def test_a_key_name_with_a_line_break_is_refused(tmp_path: Path, name: str) -> None:
    """The key name's pattern ended with ``$``, which matches before a final newline: ``alice\\n`` made a key
    file whose name holds a line break."""
    from evidencectl.context import Context
    from evidencectl.crypto.keystore import create_depositor_key

    with pytest.raises(UsageError, match="invalid key name"):
        create_depositor_key(Context(tmp_path / "home"), name, "sm2", b"a long enough passphrase")
    assert not (tmp_path / "home").exists() or not any((tmp_path / "home").rglob("*.pem"))


def test_a_passphrase_variable_name_with_a_line_break_is_refused_unshown(monkeypatch) -> None:
    """``--passphrase-env 'PASS\\n'`` passed the variable-name pattern's ``$``; it is refused as any other
    value that is not a variable name, without echoing it."""
    monkeypatch.setenv("PASS", "a long enough passphrase")
    with pytest.raises(UsageError) as caught:
        read_passphrase("PASS\n", None, False)
    assert "PASS" not in str(caught.value)
    assert read_passphrase("PASS", None, False) == b"a long enough passphrase"
