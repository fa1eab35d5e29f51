"""Real tokens from public TSAs (tests/assets/tsr) verify at their genTime; damaged ones do not."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from asn1crypto import pem

from evidencectl.checks import Status
from evidencectl.errors import MalformedTokenError
from evidencectl.timestamp.token import parse_timestamp
from evidencectl.timestamp.verifier import verify_timestamp

ASSETS = Path(__file__).parent / "assets" / "tsr"


class Roots:
    """A trust store holding exactly the given DER roots."""

    def __init__(self, roots: list[bytes]) -> None:
        self.roots = roots

    def certificates(self, role: str) -> list[bytes]:
        assert role == "tsa"
        return self.roots


def certs(folder: str, *names: str) -> list[bytes]:
    out: list[bytes] = []
    for name in names:
        out += [der for _, _, der in pem.unarmor((ASSETS / folder / name).read_bytes(), multiple=True)]
    return out


# (token, imprint hash, trusted chain files, extra untrusted certificate files)
CASES = [
    ("01_freetsa_2017/token.tst", "sha384", ["freetsa_root_ca.pem"], ["freetsa_tsa_2016.pem"]),
    ("02_symantec_2017/token.tst", "sha256", ["chain_from_token.pem"], []),
    ("03_digicert_2018/token.tst", "sha256", ["DigiCert_Assured_ID_Root_CA.pem"], []),
    ("04_globalsign_2017/resp_nonce.tsr", "sha256", ["chain_from_token.pem"], []),
    ("04_globalsign_2017/resp_no_nonce.tsr", "sha256", ["chain_from_token.pem"], []),
    ("04_globalsign_2017/resp_no_cert.tsr", "sha256", ["chain_from_token.pem"], ["chain_from_token.pem"]),
    ("06_sigstage_2025/response-sha256.tsr", "sha256", ["ts_chain.pem"], []),
    ("06_sigstage_2025/response-sha384.tsr", "sha384", ["ts_chain.pem"], []),
    ("06_sigstage_2025/response-sha512.tsr", "sha512", ["ts_chain.pem"], []),
    ("06_sigstage_2025/response-no-embedded-cert.tsr", "sha256", ["ts_chain.pem"], ["ts_chain.pem"]),
]


def run(token: str, hash_name: str, roots: list[str], extra: list[str], data: bytes | None = None):
    folder = token.split("/")[0]
    payload = (ASSETS / folder / "data.txt").read_bytes() if data is None else data
    return verify_timestamp(
        (ASSETS / token).read_bytes(),
        digest=hashlib.new(hash_name, payload).digest(),
        hash_name=hash_name,
        trust=Roots(certs(folder, *roots)),
        check="timestamp:test",
        extra_certs=certs(folder, *extra),
    )


@pytest.mark.parametrize(("token", "hash_name", "roots", "extra"), CASES, ids=[c[0] for c in CASES])
def test_real_token_passes_at_gen_time(token: str, hash_name: str, roots: list[str], extra: list[str]) -> None:
    result = run(token, hash_name, roots, extra)
    assert result.status is Status.PASSED, result.detail
    assert result.facts["gen_time"].startswith(("2017", "2018", "2025"))
    assert result.facts["signer_fingerprint"] and result.facts["trust_anchor"]
    assert "openssl ts -verify" in (result.reproduce or "")


def test_bare_token_reproduce_mentions_token_in() -> None:
    result = run(*CASES[2])
    assert "-token_in" in (result.reproduce or "")


@pytest.mark.parametrize(("token", "hash_name", "roots", "extra"), CASES[:4], ids=[c[0] for c in CASES[:4]])
def test_other_data_fails(token: str, hash_name: str, roots: list[str], extra: list[str]) -> None:
    result = run(token, hash_name, roots, extra, data=b"something else")
    assert result.status is Status.FAILED
    assert "imprint" in result.detail


def test_invalid_signature_fails() -> None:
    result = run("06_sigstage_2025/response-invalid-signature.tsr", "sha256", ["ts_chain.pem"], [])
    assert result.status is Status.FAILED
    assert "signature" in result.detail


def test_digicert_non_der_attributes_are_hashed_as_encoded() -> None:
    # The DigiCert token's signed attributes are not in DER order; re-encoding them would break it.
    assert run(*CASES[2]).status is Status.PASSED


def test_untrusted_root_is_indeterminate() -> None:
    result = run("03_digicert_2018/token.tst", "sha256", ["../01_freetsa_2017/freetsa_root_ca.pem"], [])
    assert result.status is Status.INDETERMINATE
    assert "trusted root" in result.detail and result.reason == "NO_TRUST_ANCHOR"


def test_missing_signer_certificate_is_indeterminate() -> None:
    data = (ASSETS / "06_sigstage_2025/response-no-embedded-cert.tsr").read_bytes()
    root = certs("06_sigstage_2025", "ts_chain.pem")[1:]  # the self-signed root, not the TSA certificate
    digest = hashlib.sha256(b"hello").digest()
    result = verify_timestamp(data, digest=digest, hash_name="sha256", trust=Roots(root), check="t")
    # Without the signer's certificate nothing can be checked: not FAILED, but not PASSED either.
    assert result.status is Status.INDETERMINATE
    assert "--certs" in result.detail


def test_wrong_hash_name_fails() -> None:
    result = run("06_sigstage_2025/response-sha384.tsr", "sha256", ["ts_chain.pem"], [])
    assert result.status is Status.FAILED


def test_expected_nonce_checked() -> None:
    data = (ASSETS / "04_globalsign_2017/resp_nonce.tsr").read_bytes()
    digest = hashlib.sha256((ASSETS / "04_globalsign_2017/data.txt").read_bytes()).digest()
    nonce = parse_timestamp(data).nonce
    trust = Roots(certs("04_globalsign_2017", "chain_from_token.pem"))
    ok = verify_timestamp(data, digest=digest, hash_name="sha256", trust=trust, check="t", expected_nonce=nonce)
    assert ok.status is Status.PASSED
    bad = verify_timestamp(data, digest=digest, hash_name="sha256", trust=trust, check="t", expected_nonce=1)
    assert bad.status is Status.FAILED and "nonce" in bad.detail


def test_altered_tst_info_fails() -> None:
    data = bytearray((ASSETS / "06_sigstage_2025/response-sha256.tsr").read_bytes())
    info = parse_timestamp(bytes(data))
    # Flip one byte of the imprint inside TSTInfo and recompute nothing: messageDigest must catch it.
    at = bytes(data).index(info.imprint)
    data[at] ^= 1
    result = verify_timestamp(
        bytes(data),
        digest=bytes(data[at : at + 32]),
        hash_name="sha256",
        trust=Roots(certs("06_sigstage_2025", "ts_chain.pem")),
        check="t",
    )
    assert result.status is Status.FAILED and "messageDigest" in result.detail


@pytest.mark.parametrize("blob", [b"", b"\x30\x03\x02\x01", b"<html><body>502 Bad Gateway</body></html>", b"\x00" * 40])
def test_garbage_is_malformed(blob: bytes) -> None:
    result = verify_timestamp(blob, digest=b"\0" * 32, hash_name="sha256", trust=Roots([]), check="t")
    assert result.status is Status.FAILED and result.detail.startswith("malformed:")
    with pytest.raises(MalformedTokenError):
        parse_timestamp(blob)


def test_truncated_response_is_malformed() -> None:
    data = (ASSETS / "06_sigstage_2025/response-sha256.tsr").read_bytes()
    for cut in (10, len(data) // 2, len(data) - 1):
        result = verify_timestamp(data[:cut], digest=b"\0" * 32, hash_name="sha256", trust=Roots([]), check="t")
        assert result.detail.startswith("malformed:"), cut


def test_parse_facts() -> None:
    info = parse_timestamp((ASSETS / "01_freetsa_2017/token.tst").read_bytes())
    assert info.bare_token and info.hash_algorithm == "sha384" and info.accuracy == 1.5001
    assert info.facts()["gen_time"] == "2017-12-18T17:34:16.800812Z"


def test_two_signers_is_malformed() -> None:
    from asn1crypto import cms

    token = cms.ContentInfo.load((ASSETS / "03_digicert_2018/token.tst").read_bytes())
    signed = token["content"]
    infos = signed["signer_infos"]
    doubled = cms.SignerInfos([infos[0], infos[0]])
    two = cms.ContentInfo(
        {
            "content_type": "signed_data",
            "content": cms.SignedData(
                {
                    "version": signed["version"],
                    "digest_algorithms": signed["digest_algorithms"],
                    "encap_content_info": signed["encap_content_info"],
                    "certificates": signed["certificates"],
                    "signer_infos": doubled,
                }
            ),
        }
    )
    result = verify_timestamp(
        two.dump(),
        digest=hashlib.sha256((ASSETS / "03_digicert_2018/data.txt").read_bytes()).digest(),
        hash_name="sha256",
        trust=Roots(certs("03_digicert_2018", "DigiCert_Assured_ID_Root_CA.pem")),
        check="t",
    )
    assert result.status is Status.FAILED and result.detail.startswith("malformed:") and "2 signers" in result.detail


def test_public_root_bundle_trusts_a_real_tsa_for_timestamps_only(tmp_path: Path) -> None:
    """A public bundle (certifi's 120-odd roots plus the DigiCert root an operating system bundle still carries),
    loaded as TSA roots, validates DigiCert's real 2018 token; no other role gains them."""
    import certifi

    from evidencectl.crypto.trust import TrustStore

    bundle = tmp_path / "public-roots.pem"
    root = (ASSETS / "03_digicert_2018" / "DigiCert_Assured_ID_Root_CA.pem").read_bytes()
    bundle.write_bytes(Path(certifi.where()).read_bytes() + b"\n" + root)
    without = TrustStore.load(tmp_path, system_tsa=Path(certifi.where()), catalogue=False)
    data = (ASSETS / "03_digicert_2018" / "token.tst").read_bytes()
    digest = hashlib.sha256((ASSETS / "03_digicert_2018" / "data.txt").read_bytes()).digest()
    assert verify_timestamp(data, digest=digest, hash_name="sha256", trust=without, check="t").status is (
        Status.INDETERMINATE
    )
    store = TrustStore.load(tmp_path, system_tsa=bundle, catalogue=False)
    assert store.certificates("tsa") and not store.certificates("signer") and not store.public_keys("ledger")
    result = verify_timestamp(data, digest=digest, hash_name="sha256", trust=store, check="t")
    assert result.status is Status.PASSED, result.detail
    assert "DigiCert" in str(result.facts.get("trust_anchor"))
