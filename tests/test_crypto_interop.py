"""SM2 and ECDSA signatures checked against OpenSSL (the independent implementation) and known answers."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
from pathlib import Path

import pytest
from asn1crypto import algos
from asn1crypto import keys as asn1_keys

from evidencectl.crypto import sm2
from evidencectl.crypto.keys import SigningKey, generate_key, load_private_key, verify_signature

ASSETS = Path(__file__).parent / "assets" / "crypto"
DISTID = "distid:1234567812345678"

pytestmark = [
    pytest.mark.openssl,
    pytest.mark.filterwarnings("ignore::evidencectl.crypto.keys.KeyFileWarning"),
]


def openssl(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run the openssl command line tool."""
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, check=check)


def public_x(key: SigningKey) -> bytes:
    """The 32-byte x coordinate of a key's public point."""
    info = asn1_keys.PublicKeyInfo.load(key.public_key_der())
    return bytes(info["public_key"].native)[1:33]


@pytest.fixture(scope="module")
def sm2_keys() -> list[SigningKey]:
    """Four random SM2 keys plus one whose public x coordinate starts with a zero byte."""
    keys = [generate_key("sm2") for _ in range(4)]
    for _ in range(20000):
        candidate = generate_key("sm2")
        if public_x(candidate)[0] == 0:
            keys.append(candidate)
            break
    assert public_x(keys[-1])[0] == 0, "no key with a leading zero x byte found"
    return keys


def messages(seed: int, count: int = 50) -> list[bytes]:
    """Reproducible random messages of varied length, including the empty message."""
    rnd = random.Random(seed)
    return [b""] + [rnd.randbytes(rnd.choice([1, 31, 32, 33, 64, 1000, 5000])) for _ in range(count - 1)]


def test_sm2_evidencectl_signs_openssl_verifies(tmp_path: Path, sm2_keys: list[SigningKey]) -> None:
    for i, message in enumerate(messages(1)):
        key = sm2_keys[i % len(sm2_keys)]
        (tmp_path / "pub.pem").write_bytes(key.public_key_pem())
        (tmp_path / "msg").write_bytes(message)
        (tmp_path / "sig").write_bytes(key.sign(message))
        out = openssl(
            "dgst", "-sm3", "-verify", tmp_path / "pub.pem", "-sigopt", DISTID,
            "-signature", tmp_path / "sig", tmp_path / "msg", check=False,
        )  # fmt: skip
        assert out.returncode == 0 and b"Verified OK" in out.stdout, (i, out.stderr)
    # The same check must reject a different message, or the loop above proves nothing.
    (tmp_path / "msg").write_bytes(b"tampered")
    out = openssl(
        "dgst", "-sm3", "-verify", tmp_path / "pub.pem", "-sigopt", DISTID,
        "-signature", tmp_path / "sig", tmp_path / "msg", check=False,
    )  # fmt: skip
    assert out.returncode != 0


def test_sm2_openssl_signs_evidencectl_verifies(tmp_path: Path, sm2_keys: list[SigningKey]) -> None:
    for index, key in enumerate(sm2_keys):
        (tmp_path / f"k{index}.pem").write_bytes(key.private_key_pem(None))
    for i, message in enumerate(messages(2)):
        index = i % len(sm2_keys)
        key = sm2_keys[index]
        (tmp_path / "msg").write_bytes(message)
        openssl(
            "dgst", "-sm3", "-sign", tmp_path / f"k{index}.pem", "-sigopt", DISTID,
            "-out", tmp_path / "sig", tmp_path / "msg",
        )  # fmt: skip
        signature = (tmp_path / "sig").read_bytes()
        assert verify_signature(key.public_key_der(), signature, message), i
        assert sm2.verify_with_id(key.public_key_der(), signature, message, b"1234567812345678")
        assert not verify_signature(key.public_key_der(), signature, message + b"x")
        other = sm2_keys[(index + 1) % len(sm2_keys)]
        assert not verify_signature(other.public_key_der(), signature, message)


def test_openssl_generated_sm2_key_loads_and_signs(tmp_path: Path) -> None:
    openssl("genpkey", "-algorithm", "SM2", "-out", tmp_path / "k.pem")
    openssl("pkey", "-in", tmp_path / "k.pem", "-pubout", "-out", tmp_path / "pub.pem")
    key = load_private_key(tmp_path / "k.pem")
    assert key.algorithm == "sm2"
    assert key.public_key_pem() == (tmp_path / "pub.pem").read_bytes()
    (tmp_path / "msg").write_bytes(b"evidence")
    (tmp_path / "sig").write_bytes(key.sign(b"evidence"))
    out = openssl(
        "dgst", "-sm3", "-verify", tmp_path / "pub.pem", "-sigopt", DISTID,
        "-signature", tmp_path / "sig", tmp_path / "msg", check=False,
    )  # fmt: skip
    assert out.returncode == 0


def test_ecdsa_both_ways(tmp_path: Path) -> None:
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", tmp_path / "o.pem")
    openssl("pkey", "-in", tmp_path / "o.pem", "-pubout", "-out", tmp_path / "opub.pem")
    theirs = load_private_key(tmp_path / "o.pem")
    ours = generate_key("ecdsa-p256")
    (tmp_path / "pub.pem").write_bytes(ours.public_key_pem())
    assert theirs.algorithm == "ecdsa-p256"
    for i, message in enumerate(messages(3, 20)):
        (tmp_path / "msg").write_bytes(message)
        (tmp_path / "sig").write_bytes(ours.sign(message))
        out = openssl(
            "dgst", "-sha256", "-verify", tmp_path / "pub.pem", "-signature", tmp_path / "sig",
            tmp_path / "msg", check=False,
        )  # fmt: skip
        assert out.returncode == 0, i
        openssl("dgst", "-sha256", "-sign", tmp_path / "o.pem", "-out", tmp_path / "osig", tmp_path / "msg")
        osig = (tmp_path / "osig").read_bytes()
        assert verify_signature(theirs.public_key_der(), osig, message)
        assert not verify_signature(theirs.public_key_der(), osig, message + b"!")
        assert not verify_signature(ours.public_key_der(), osig, message)


@pytest.mark.parametrize("algorithm", ["sm2", "ecdsa-p256"])
def test_signing_twice_gives_different_signatures(algorithm: str) -> None:
    key = generate_key(algorithm)  # type: ignore[arg-type]
    first, second = key.sign(b"same message"), key.sign(b"same message")
    assert first != second
    assert verify_signature(key.public_key_der(), first, b"same message")
    assert verify_signature(key.public_key_der(), second, b"same message")


def _tongsuo_vectors() -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """SM2_key1 (PEM) and its (digest, signature) Verify vectors."""
    text = (ASSETS / "tongsuo_evppkey_sm2_verify.txt").read_text()
    pem = re.search(r"-----BEGIN PRIVATE KEY-----.*?-----END PRIVATE KEY-----\n", text, re.S)
    assert pem
    pairs = re.findall(r"Input = ([0-9A-F]+)\nOutput = ([0-9A-F]+)", text)
    assert len(pairs) == 2
    return pem.group(0).encode(), [(bytes.fromhex(i), bytes.fromhex(o)) for i, o in pairs]


def test_tongsuo_known_answer_vectors(tmp_path: Path) -> None:
    pem, vectors = _tongsuo_vectors()
    (tmp_path / "key1.pem").write_bytes(pem)
    spki = load_private_key(tmp_path / "key1.pem").public_key_der()
    for digest, signature in vectors:
        assert sm2.verify_digest(spki, signature, digest)
        bad = bytearray(digest)
        bad[-1] ^= 1
        assert not sm2.verify_digest(spki, signature, bytes(bad))
    # Each signature belongs to its own digest only.
    (d1, s1), (d2, s2) = vectors
    assert not sm2.verify_digest(spki, s1, d2)
    assert not sm2.verify_digest(spki, s2, d1)


def test_gbt32918_annex_a_example() -> None:
    vector = json.loads((ASSETS / "gbt32918_annex_a.json").read_text())
    d = int(vector["private_key"], 16)
    point = sm2.multiply(d, sm2.G)
    assert point == (int(vector["public_x"], 16), int(vector["public_y"], 16))
    raw = b"\x04" + point[0].to_bytes(32, "big") + point[1].to_bytes(32, "big")
    spki = asn1_keys.PublicKeyInfo(
        {"algorithm": {"algorithm": "ec", "parameters": ("named", "sm2")}, "public_key": raw}
    ).dump()
    signature = algos.DSASignature({"r": int(vector["r"], 16), "s": int(vector["s"], 16)}).dump()
    message = vector["message"].encode()
    # Both the tongsuopy path (default ID) and the pure-Python path must accept the standard's example.
    assert vector["signer_id"] == "1234567812345678"
    assert verify_signature(spki, signature, message)
    assert sm2.verify_with_id(spki, signature, message, vector["signer_id"].encode())
    assert not verify_signature(spki, signature, b"message digesT")
    assert not sm2.verify_with_id(spki, signature, message, b"ALICE123@YAHOO.COM")


def test_sm2_curve_parameters_are_consistent() -> None:
    assert sm2.on_curve(sm2.G)
    assert sm2.multiply(sm2.N, sm2.G) is None
    key = generate_key("sm2")
    # The point tongsuopy derives from a private key equals d*G computed here.
    scalar = int.from_bytes(
        bytes.fromhex(
            openssl_private_scalar(key),
        ),
        "big",
    )
    assert sm2.multiply(scalar, sm2.G) == sm2.public_point(key.public_key_der())


def openssl_private_scalar(key: SigningKey) -> str:
    """The private scalar of ``key`` as printed by ``openssl pkey -text`` (hex)."""
    out = subprocess.run(
        ["openssl", "pkey", "-text", "-noout"],
        input=key.private_key_pem(None),
        capture_output=True,
        check=True,
    ).stdout.decode()
    block = out.split("priv:")[1].split("pub:")[0]
    return re.sub(r"[^0-9a-f]", "", block)


def test_openssl_reads_encrypted_key_files(tmp_path: Path) -> None:
    for algorithm in ("sm2", "ecdsa-p256"):
        key = generate_key(algorithm)  # type: ignore[arg-type]
        path = tmp_path / f"{algorithm}.pem"
        path.write_bytes(key.private_key_pem(b"correct horse"))
        good = openssl("pkey", "-in", path, "-passin", "pass:correct horse", "-pubout", check=False)
        assert good.returncode == 0 and good.stdout == key.public_key_pem()
        bad = openssl("pkey", "-in", path, "-passin", "pass:wrong", "-pubout", check=False)
        assert bad.returncode != 0
        assert os.path.getsize(path) > 0
