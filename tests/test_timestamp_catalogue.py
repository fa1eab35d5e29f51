"""The catalogue of public TSAs: shipped roots verify real tokens of those TSAs (tests/assets/tsr), count for
role tsa only and as third parties; names resolve to URLs that config or the environment can override; an
installation made before certificates declared their operator is migrated without losing its packages."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import pem

from evidencectl.checks import Status
from evidencectl.context import Context
from evidencectl.crypto.keys import load_or_create_service_key
from evidencectl.crypto.trust import TrustStore
from evidencectl.crypto.x509 import build_certificate, certificate_pem
from evidencectl.timestamp.authority import EmbeddedTSA
from evidencectl.timestamp.catalogue import CATALOGUE, roots_folder
from evidencectl.timestamp.client import HttpTSA, tsa_from_spec
from evidencectl.timestamp.verifier import verify_timestamp
from evidencectl.verify.timecheck import timestamp_operator

ASSETS = Path(__file__).parent / "assets" / "tsr"

# (catalogue name, token, imprint hash, untrusted certificates the token does not carry)
REAL_TOKENS = [
    ("freetsa", "01_freetsa_2017/token.tst", "sha384", ["01_freetsa_2017/freetsa_tsa_2016.pem"]),
    ("digicert", "03_digicert_2018/token.tst", "sha256", []),
]
# sigstore-staging ships a root that is not trusted by default: tests/test_attack_round_trust.py


def _ders(*files: str) -> list[bytes]:
    return [bytes(d) for f in files for _, _, d in pem.unarmor((ASSETS / f).read_bytes(), multiple=True)]


@pytest.mark.parametrize(("name", "token", "hash_name", "extra"), REAL_TOKENS, ids=[t[0] for t in REAL_TOKENS])
def test_shipped_root_verifies_a_real_token_of_its_tsa(
    evidencectl_home: Path, name: str, token: str, hash_name: str, extra: list[str]
) -> None:
    der = (ASSETS / token).read_bytes()
    data = (ASSETS / token.split("/")[0] / "data.txt").read_bytes()
    store = TrustStore.load(evidencectl_home)  # nothing added by the user: the shipped roots only
    result = verify_timestamp(
        der,
        digest=hashlib.new(hash_name, data).digest(),
        hash_name=hash_name,
        trust=store,
        check=f"timestamp:{name}",
        extra_certs=_ders(*extra),
    )
    assert result.status is Status.PASSED, result.detail
    facts = timestamp_operator(dict(result.facts), der, _ders(*extra), set())
    assert facts["operator"] == "third-party" and facts["independent"] is True
    anchors = [a for a in store.anchors("tsa") if a.source.startswith(f"catalogue {name}:")]
    assert anchors and all(a.operator == "third-party" for a in anchors)


def test_catalogue_roots_are_never_trusted_for_another_role(evidencectl_home: Path) -> None:
    store = TrustStore.load(evidencectl_home)
    shipped = {a.der for a in store.anchors("tsa") if a.source.startswith("catalogue ")}
    assert len(shipped) == sum(len(e.roots) for e in CATALOGUE.values() if e.trusted)
    for role in ("ledger", "signer"):
        assert not shipped & set(store.certificates(role))


def test_every_shipped_root_file_belongs_to_an_entry() -> None:
    files = {p.name for p in roots_folder().glob("*.pem")}
    assert files == {f for e in CATALOGUE.values() for f in e.roots}


def test_tsa_names_resolve_and_can_be_overridden(evidencectl_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tsa = tsa_from_spec("freetsa", evidencectl_home)
    assert isinstance(tsa, HttpTSA) and tsa.url == "https://freetsa.org/tsr" and "sm3" not in (tsa.hashes or ())
    monkeypatch.setenv("EVIDENCECTL_TSA_FREETSA_URL", "http://127.0.0.1:9/")
    assert tsa_from_spec("freetsa", evidencectl_home).url == "http://127.0.0.1:9/"  # type: ignore[attr-defined]
    evidencectl_home.mkdir(parents=True, exist_ok=True)
    (evidencectl_home / "config.toml").write_text('[tsa.sectigo]\nurl = "http://127.0.0.1:8/"\ntimeout = 3\n')
    configured = tsa_from_spec("sectigo", evidencectl_home)
    assert isinstance(configured, HttpTSA) and configured.url == "http://127.0.0.1:8/" and configured.timeout == 3
    assert configured.hashes == CATALOGUE["sectigo"].hashes


def test_tsa_list_and_an_unknown_name(cli) -> None:  # type: ignore[no-untyped-def]
    listed = cli("tsa", "list", "--json")
    assert listed.code == 0
    names = [t["name"] for t in json.loads(listed.out)["tsas"]]
    assert names[:3] == ["freetsa", "digicert", "sectigo"]
    assert "freetsa" in cli("tsa", "list").out
    wrong = cli("timestamp", "request", __file__, "--tsa", "no-such-tsa")
    assert wrong.code == 2 and "tsa list" in wrong.err


def test_an_installation_from_before_operators_is_migrated_and_its_tokens_still_verify(evidencectl_home: Path) -> None:
    """The old chain (fixed subject, no declaration) is retired, its root stays trusted as this machine's own."""
    folder = evidencectl_home / "tsa" / "ecdsa-p256"
    folder.mkdir(parents=True)
    key = load_or_create_service_key(folder / "tsa.key", "ecdsa-p256")
    root_key = load_or_create_service_key(folder / "root.key", "ecdsa-p256")
    old_root = build_certificate(
        subject_cn="evidencectl embedded TSA root (ecdsa-p256)",
        organization="evidencectl",
        subject_public_key_der=root_key.public_key_der(),
        issuer_key=root_key,
        issuer_cert_der=None,
        is_ca=True,
        path_length=0,
        not_after=datetime.now(UTC) + timedelta(days=365),
    )
    old_leaf = build_certificate(
        subject_cn="evidencectl embedded TSA (ecdsa-p256)",
        organization="evidencectl",
        subject_public_key_der=key.public_key_der(),
        issuer_key=root_key,
        issuer_cert_der=old_root,
        extended_key_usage=["time_stamping"],
        eku_critical=True,
    )
    (folder / "root.pem").write_bytes(certificate_pem(old_root))
    (folder / "chain.pem").write_bytes(certificate_pem(old_leaf) + certificate_pem(old_root))
    TrustStore.load(evidencectl_home).add_file(folder / "root.pem", "tsa")  # as the old version stored it
    old = EmbeddedTSA(folder, key, old_leaf, old_root)
    old._init_serials()
    digest = hashlib.sha256(b"deposited last year").digest()
    token = old.timestamp(digest, "sha256")

    new = EmbeddedTSA.open(Context(evidencectl_home))
    assert new.root_cert.dump() != old_root and "depositor-operated" in new.tsa_cert.subject.human_friendly
    retired = list(folder.glob("retired-*/chain.pem"))
    assert len(retired) == 1
    store = TrustStore.load(evidencectl_home)
    own = [a for a in store.anchors("tsa") if a.operator == "own"]
    assert {a.der for a in own} >= {old_root, new.root_cert.dump()}
    assert not list((evidencectl_home / "trust" / "tsa").glob("[0-9a-f]*.pem"))  # renamed to own-…

    from evidencectl.timestamp.operator import own_tsa_certificates

    result = verify_timestamp(token, digest=digest, hash_name="sha256", trust=store, check="timestamp:old")
    assert result.status is Status.PASSED, result.detail
    facts = timestamp_operator(dict(result.facts), token, [], own_tsa_certificates(Context(evidencectl_home)))
    assert facts["operator"] == "own" and facts["independent"] is False
    # Elsewhere, the old token is still recognised as an embedded TSA's by its subject and policy.
    assert timestamp_operator(dict(result.facts), token, [], set())["operator"] == "depositor"


def test_undeclared_tsa_certificate_minted_under_an_embedded_root_is_not_independent(tmp_path: Path) -> None:
    """The lawyer holds the embedded root's key and issues a TSA certificate without the declaration; a court
    that trusts the lawyer's root still learns the time is the lawyer's own, from the root."""
    from evidencectl.crypto.keys import generate_key
    from evidencectl.crypto.x509 import load_certificates
    from evidencectl.timestamp.operator import own_tsa_certificates

    lawyer, court = tmp_path / "lawyer", tmp_path / "court"
    genuine = EmbeddedTSA.open(Context(lawyer))
    root_key = load_or_create_service_key(lawyer / "tsa" / "ecdsa-p256" / "root.key", "ecdsa-p256")
    root_der = genuine.root_cert.dump()
    key = generate_key("ecdsa-p256")
    leaf = build_certificate(
        subject_cn="Independent Time Authority",
        organization="Not The Lawyer Ltd",
        subject_public_key_der=key.public_key_der(),
        issuer_key=root_key,
        issuer_cert_der=root_der,
        extended_key_usage=["time_stamping"],
        eku_critical=True,
    )
    forged = EmbeddedTSA(tmp_path, key, leaf, root_der)
    forged._init_serials()
    digest = hashlib.sha256(b"evidence").digest()
    token = forged.timestamp(digest, "sha256")
    (tmp_path / "root.pem").write_bytes(certificate_pem(root_der))
    store = TrustStore.load(court)
    store.add_file(tmp_path / "root.pem", "tsa")
    result = verify_timestamp(token, digest=digest, hash_name="sha256", trust=store, check="timestamp:forged")
    assert result.status is Status.PASSED, result.detail
    roots = store.certificates("tsa")
    facts = timestamp_operator(dict(result.facts), token, [], own_tsa_certificates(Context(court)), roots)
    assert facts["operator"] == "depositor" and facts["independent"] is False
    own = own_tsa_certificates(Context(lawyer))
    assert set(load_certificates((lawyer / "tsa" / "ecdsa-p256" / "chain.pem").read_bytes())) <= own
    assert timestamp_operator(dict(result.facts), token, [], own, roots)["operator"] == "own"
