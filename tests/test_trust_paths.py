"""Trust by role and certificate paths: two installations, chain files, role confusion, stripped signatures.

Three data directories play the depositor, the other party and the court (STYLE.md): whatever one of
them deposits, another verifies INDETERMINATE until it trusts the depositor's services and key, then
PASSED, and never FAILED.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from evidencectl.crypto.keys import generate_key
from evidencectl.crypto.x509 import build_certificate, certificate_pem

Cli = Callable[..., Any]
SCHEMA = json.loads(
    (Path(__file__).parents[1] / "evidencectl" / "schemas" / "verification.schema.json").read_text(encoding="utf-8")
)


def _as(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Act as the installation whose data directory is ``home``."""
    monkeypatch.setenv("EVIDENCECTL_HOME", str(home))


def _checks(res: Any) -> dict[str, dict[str, Any]]:
    return {c["check"]: c for c in json.loads(res.out)["checks"]}


def _signed_deposit(cli: Cli, home: Path, name: str, algorithm: str, src: Path, out: Path) -> None:
    """``keys generate`` then ``deposit --sign`` in ``home`` (the caller has switched to it)."""
    assert cli("keys", "generate", "--name", name, "--algorithm", algorithm, "--unencrypted").code == 0
    res = cli("deposit", src, "-o", out, "--sign", "--depositor", name)
    assert res.code == 0, res.err


def _trust_everything_of(cli: Cli, other: Path, key_name: str) -> None:
    """Trust another installation's embedded TSA root, ledger node key and depositor certificate."""
    assert cli("trust", "add", other / "tsa" / "ecdsa-p256" / "root.pem", "--as", "tsa").code == 0
    for node in (other / "trust" / "ledger").glob("*.pem"):
        assert cli("trust", "add", node, "--as", "ledger").code == 0
    assert cli("trust", "add", other / "keys" / f"{key_name}.cert.pem", "--as", "signer").code == 0


@pytest.mark.parametrize("algorithm", ["sm2", "ecdsa-p256"])
def test_two_installations_verify_each_other_indeterminate_until_trusted_never_failed(
    cli: Cli, sample_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, algorithm: str
) -> None:
    lawyer, clerk = tmp_path / "lawyer", tmp_path / "clerk"
    _as(monkeypatch, lawyer)
    _signed_deposit(cli, lawyer, "lawyer", algorithm, sample_dir, tmp_path / "lawyer.evp")
    _as(monkeypatch, clerk)
    _signed_deposit(cli, clerk, "clerk", algorithm, sample_dir, tmp_path / "clerk.evp")

    for me, other, key in ((clerk, lawyer, "lawyer"), (lawyer, clerk, "clerk")):
        _as(monkeypatch, me)
        res = cli("verify", tmp_path / f"{other.name}.evp", "--json")
        statuses = {c["check"]: c["status"] for c in json.loads(res.out)["checks"]}
        assert "FAILED" not in statuses.values(), res.out
        jsonschema.validate(json.loads(res.out), SCHEMA)  # reasons included
        assert res.code == 3
        for name in ("timestamp:local.sha256", "timestamp:local.sm3", "anchor:local", "signature:manifest"):
            assert statuses[name] == "INDETERMINATE", name
            assert _checks(res)[name]["reason"] == "NO_TRUST_ANCHOR", name
        # Each installation trusts its own services and key: its own package passes.
        assert cli("verify", tmp_path / f"{me.name}.evp").code == 0
        _trust_everything_of(cli, other, key)
        res = cli("verify", tmp_path / f"{other.name}.evp", "--json")
        assert res.code == 0, res.out
        # "Trust anchors used" names the other's anchors, not this installation's own.
        used = {(a["role"], a["source"].split("/trust/")[-1]) for a in json.loads(res.out)["trust_anchors"]}
        assert {role for role, _ in used} == {"tsa", "ledger", "signer"} and len(used) == 3


def test_trust_anchors_used_lists_only_what_validated(cli: Cli, sample_dir: Path, tmp_path: Path) -> None:
    assert cli("deposit", sample_dir, "-o", tmp_path / "p.evp").code == 0
    stranger = tmp_path / "stranger"
    key = generate_key("ecdsa-p256")
    cert = build_certificate(subject_cn="unrelated root", subject_public_key_der=key.public_key_der(),
                             issuer_key=key, issuer_cert_der=None, is_ca=True)  # fmt: skip
    stranger.write_bytes(certificate_pem(cert))
    assert cli("trust", "add", stranger, "--as", "tsa").code == 0
    doc = json.loads(cli("verify", tmp_path / "p.evp", "--json").out)
    assert doc["verdict"] == "PASSED"
    subjects = [a["subject"] for a in doc["trust_anchors"]]
    assert "CN = unrelated root" not in subjects and len(subjects) == 2  # the embedded TSA root, the node key


def test_bare_trust_file_is_a_usage_error_naming_the_roles(cli: Cli, sample_dir: Path, tmp_path: Path) -> None:
    assert cli("deposit", sample_dir, "-o", tmp_path / "p.evp").code == 0
    root = tmp_path / "root.pem"
    root.write_bytes(certificate_pem(_ca("x")[1]))
    for command in (("verify", tmp_path / "p.evp"), ("report", tmp_path / "p.evp", "-o", tmp_path / "r.html")):
        res = cli(*command, "--trust", root)
        assert res.code == 2 and "tsa:FILE, signer:FILE, ledger:FILE or chain:FILE" in res.err
        assert res.err.count("\n") == 1 and "Traceback" not in res.err
    assert cli("verify", tmp_path / "p.evp", "--trust", f"nobody:{root}").code == 2


def _ca(name: str, issuer: tuple[Any, bytes] | None = None, **kw: Any) -> tuple[Any, bytes]:
    key = generate_key("sm2")
    cert = build_certificate(
        subject_cn=name,
        subject_public_key_der=key.public_key_der(),
        issuer_key=issuer[0] if issuer else key,
        issuer_cert_der=issuer[1] if issuer else None,
        is_ca=True,
        **kw,
    )
    return key, cert


def _ca_issued_key(tmp_path: Path, root: tuple[Any, bytes]) -> Path:
    """A depositor key whose certificate a CA issued through an intermediate; returns the key file."""
    intermediate = _ca("Depositor Issuing CA", root)
    key = generate_key("sm2")
    leaf = build_certificate(subject_cn="张律师", subject_public_key_der=key.public_key_der(),
                             issuer_key=intermediate[0], issuer_cert_der=intermediate[1])  # fmt: skip
    key_path = tmp_path / "zhang.key.pem"
    key_path.write_bytes(key.private_key_pem(None))
    (tmp_path / "zhang.cert.pem").write_bytes(certificate_pem(leaf) + certificate_pem(intermediate[1]))
    return key_path


def test_tsa_root_key_cannot_mint_a_depositor_signature(cli: Cli, sample_dir: Path, tmp_path: Path) -> None:
    # The same root certifies a depositor: trusted for timestamps, it vouches for nobody's signature.
    root = _ca("Court Time Root")
    root_pem = tmp_path / "root.pem"
    root_pem.write_bytes(certificate_pem(root[1]))
    key_path = _ca_issued_key(tmp_path, root)
    out = tmp_path / "signed.evp"
    res = cli("deposit", sample_dir, "-o", out, "--key", key_path, "--depositor", "张律师")
    assert res.code == 0, res.err
    res = cli("verify", out, "--trust", f"tsa:{root_pem}", "--json")
    sig = _checks(res)["signature:manifest"]
    assert sig["status"] == "INDETERMINATE" and sig["reason"] == "NO_TRUST_ANCHOR" and res.code == 3
    # Trusted as a signer CA, the same root certifies the depositor through the intermediate in the package.
    res = cli("verify", out, "--trust", f"signer:{root_pem}", "--json")
    sig = _checks(res)["signature:manifest"]
    assert sig["status"] == "PASSED" and sig["facts"]["chain"] == ["CN = 张律师", "CN = Depositor Issuing CA",
                                                                   "CN = Court Time Root"]  # fmt: skip
    assert res.code == 0, res.out


def test_ledger_key_file_does_not_vouch_for_timestamps(cli: Cli, sample_dir: Path, tmp_path: Path) -> None:
    assert cli("deposit", sample_dir, "-o", tmp_path / "p.evp").code == 0
    root = Path(os.environ["EVIDENCECTL_HOME"]) / "tsa" / "ecdsa-p256" / "root.pem"
    court = tmp_path / "court"
    os.environ["EVIDENCECTL_HOME"] = str(court)
    res = cli("verify", tmp_path / "p.evp", "--trust", f"ledger:{root}", "--json")
    assert _checks(res)["timestamp:local.sha256"]["status"] == "INDETERMINATE"
    res = cli("verify", tmp_path / "p.evp", "--trust", f"tsa:{root}", "--json")
    assert _checks(res)["timestamp:local.sha256"]["status"] == "PASSED"


def _without(src: Path, dst: Path, *names: str, replace: dict[str, bytes] | None = None) -> Path:
    """Copy a package leaving out ``names`` and replacing members (a forgery)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename not in names:
                zout.writestr(info, (replace or {}).get(info.filename, zin.read(info)))
    return dst


def test_stripped_signature_of_a_named_signer_is_failed(cli: Cli, sample_dir: Path, tmp_path: Path) -> None:
    assert cli("keys", "generate", "--name", "a", "--unencrypted").code == 0
    out = tmp_path / "signed.evp"
    assert cli("deposit", sample_dir, "-o", out, "--sign").code == 0
    stripped = _without(out, tmp_path / "stripped.evp", "manifest.sig", "certs/depositor.pem")
    res = cli("verify", stripped, "--json")
    sig = _checks(res)["signature:manifest"]
    assert sig["status"] == "FAILED" and "removed" in sig["detail"] and res.code == 1


def test_signature_by_another_key_than_the_statement_names_is_failed(
    cli: Cli, sample_dir: Path, tmp_path: Path
) -> None:
    assert cli("keys", "generate", "--name", "a", "--unencrypted").code == 0
    out = tmp_path / "signed.evp"
    assert cli("deposit", sample_dir, "-o", out, "--sign").code == 0
    with zipfile.ZipFile(out) as z:
        manifest = z.read("manifest.json")
    other = generate_key("sm2")
    cert = build_certificate(subject_cn="a", subject_public_key_der=other.public_key_der(), issuer_key=other,
                             issuer_cert_der=None)  # fmt: skip
    forged = {"manifest.sig": other.sign(manifest), "certs/depositor.pem": certificate_pem(cert)}
    resigned = _without(out, tmp_path / "resigned.evp", replace=forged)
    (tmp_path / "other.pem").write_bytes(certificate_pem(cert))
    # Even with the other key trusted: the sealed statement names the first one.
    res = cli("verify", resigned, "--trust", f"signer:{tmp_path / 'other.pem'}", "--json")
    sig = _checks(res)["signature:manifest"]
    assert sig["status"] == "FAILED" and "statement names signer key" in sig["detail"]


def test_expect_signer_by_fingerprint_or_name(cli: Cli, sample_dir: Path, tmp_path: Path) -> None:
    made = json.loads(cli("keys", "generate", "--name", "王五", "--unencrypted", "--json").out)
    assert made["trusted_as"] == "signer"
    # Trusted on this machine only, as this installation's own.
    own = [a for a in json.loads(cli("trust", "list", "--json").out)["anchors"] if a["role"] == "signer"]
    assert [a["operator"] for a in own] == ["own"]
    out = tmp_path / "signed.evp"
    assert cli("deposit", sample_dir, "-o", out, "--sign", "--depositor", "王五").code == 0
    assert cli("verify", out, "--expect-signer", made["fingerprint"]).code == 0
    assert cli("verify", out, "--expect-signer", "王五").code == 0
    res = cli("verify", out, "--expect-signer", "李四", "--json")
    sig = _checks(res)["signature:manifest"]
    assert res.code == 3 and sig["reason"] == "SIGNER_MISMATCH" and "李四" in sig["detail"]
    assert cli("deposit", sample_dir, "-o", tmp_path / "unsigned.evp").code == 0
    res = cli("verify", tmp_path / "unsigned.evp", "--expect-signer", "王五", "--json")
    assert res.code == 3 and _checks(res)["signature:manifest"]["reason"] == "SIGNER_MISMATCH"
    # A pinned fingerprint is itself the verifier's trust: elsewhere, the signature then passes.
    os.environ["EVIDENCECTL_HOME"] = str(tmp_path / "court")
    res = cli("verify", out, "--expect-signer", made["fingerprint"], "--json")
    assert _checks(res)["signature:manifest"]["status"] == "PASSED"


def test_depositor_other_than_the_certificate_name_is_warned_and_shown(
    cli: Cli, sample_dir: Path, tmp_path: Path
) -> None:
    assert cli("keys", "generate", "--name", "张三", "--unencrypted").code == 0
    out = tmp_path / "signed.evp"
    res = cli("deposit", sample_dir, "-o", out, "--sign", "--depositor", "李四")
    assert res.code == 0 and "--depositor '李四' differs from the signing certificate's name" in res.err
    res = cli("verify", out, "--json")
    sig = _checks(res)["signature:manifest"]
    assert sig["facts"]["declared_depositor"] == "李四" and "'李四'" in sig["detail"] and "CN = 张三" in sig["detail"]


def _faketime_deposit(home: Path, when: str, src: Path, out: Path) -> None:
    env = {**os.environ, "EVIDENCECTL_HOME": str(home), "PYTHONPATH": str(Path(__file__).parents[1])}
    done = subprocess.run(["faketime", when, sys.executable, "-m", "evidencectl", "deposit", str(src), "-o", str(out)],
                          env=env, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(not Path("/usr/bin/faketime").exists(), reason="faketime (Debian) is not installed")
def test_chain_file_trust_keeps_the_tsa_certificate_validity_at_gentime(
    cli: Cli, sample_dir: Path, tmp_path: Path
) -> None:
    lawyer = tmp_path / "lawyer"
    lawyer_env = {**os.environ, "EVIDENCECTL_HOME": str(lawyer)}
    chain = subprocess.run([sys.executable, "-m", "evidencectl", "tsa", "cert"], env=lawyer_env,
                           capture_output=True, check=True).stdout  # fmt: skip
    (tmp_path / "chain.pem").write_bytes(chain)
    # The TSA certificate was made just now; the token claims 2024.
    _faketime_deposit(lawyer, "2024-03-01 12:00:00", sample_dir, tmp_path / "old.evp")
    os.environ["EVIDENCECTL_HOME"] = str(tmp_path / "court")
    res = cli("verify", tmp_path / "old.evp", "--trust", f"tsa:{tmp_path / 'chain.pem'}", "--json")
    ts = _checks(res)["timestamp:local.sha256"]
    assert ts["status"] == "FAILED" and ts["reason"] == "TIME" and "not valid at genTime" in ts["detail"]
    # `trust add` of the chain file stores the root only, and says so.
    res = cli("trust", "add", tmp_path / "chain.pem", "--as", "tsa")
    assert res.code == 0 and "not stored (TSA certificate" in res.out
    anchors = json.loads(cli("trust", "list", "--json").out)["anchors"]
    stored = [a for a in anchors if "/trust/tsa/" in a["source"]]
    assert len(stored) == 1 and "TSA root" in stored[0]["subject"], anchors
    assert _checks(cli("verify", tmp_path / "old.evp", "--json"))["timestamp:local.sha256"]["status"] == "FAILED"


def test_expired_trusted_root_fails_at_gentime(tmp_path: Path) -> None:
    """The anchor's own validity counts: a root that expired before genTime validates nothing then."""
    from evidencectl.checks import Status
    from evidencectl.timestamp.chain import validate_path

    start = datetime(2020, 1, 1, tzinfo=UTC)
    root_key = generate_key("ecdsa-p256")
    root = build_certificate(subject_cn="root", subject_public_key_der=root_key.public_key_der(), issuer_key=root_key,
                             issuer_cert_der=None, is_ca=True, not_before=start,
                             not_after=start + timedelta(days=365))  # fmt: skip
    leaf_key = generate_key("ecdsa-p256")
    leaf = build_certificate(subject_cn="tsa", subject_public_key_der=leaf_key.public_key_der(), issuer_key=root_key,
                             issuer_cert_der=root, extended_key_usage=["time_stamping"], eku_critical=True,
                             not_before=start, not_after=start + timedelta(days=3650))  # fmt: skip
    from asn1crypto import x509

    r, lf = x509.Certificate.load(root), x509.Certificate.load(leaf)
    assert validate_path(lf, [], [r], start + timedelta(days=10)).status is Status.PASSED
    late = validate_path(lf, [], [r], start + timedelta(days=400))
    assert late.status is Status.FAILED and late.reason == "TIME" and "CN=root" in late.detail


def test_config_trust_entries_carry_their_role(
    cli: Cli, sample_dir: Path, tmp_path: Path, evidencectl_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("keys", "generate", "--name", "a", "--unencrypted").code == 0
    out = tmp_path / "signed.evp"
    assert cli("deposit", sample_dir, "-o", out, "--sign").code == 0
    cert = evidencectl_home / "keys" / "a.cert.pem"
    court = tmp_path / "court"
    court.mkdir()
    monkeypatch.setenv("EVIDENCECTL_HOME", str(court))
    config = court / "config.toml"
    config.write_text(f'[trust]\nanchors = ["signer:{cert}"]\n', encoding="utf-8")
    assert _checks(cli("verify", out, "--json"))["signature:manifest"]["status"] == "PASSED"
    # A bare file in [trust] anchors, or a TSA entry naming another role, is refused in one line.
    for text in (f'[trust]\nanchors = ["{cert}"]\n', f'[tsa.office]\nurl = "http://x/"\ntrust = "signer:{cert}"\n'):
        config.write_text(text, encoding="utf-8")
        res = cli("verify", out)
        assert res.code == 4 and str(config) in res.err and res.err.count("\n") == 1, res.err


def test_ledger_key_export_is_what_a_verifier_trusts(cli: Cli, sample_dir: Path, tmp_path: Path) -> None:
    assert cli("deposit", sample_dir, "-o", tmp_path / "p.evp").code == 0
    res = cli("ledger", "key", "export")
    assert res.code == 0 and res.out.startswith("-----BEGIN PUBLIC KEY-----") and "ledger node key" in res.err
    (tmp_path / "node.pem").write_text(res.out)
    os.environ["EVIDENCECTL_HOME"] = str(tmp_path / "court")
    assert _checks(cli("verify", tmp_path / "p.evp", "--json"))["anchor:local"]["status"] == "INDETERMINATE"
    res = cli("verify", tmp_path / "p.evp", "--trust", f"ledger:{tmp_path / 'node.pem'}", "--json")
    assert _checks(res)["anchor:local"]["status"] == "PASSED"


def test_same_named_root_of_another_installation_is_never_a_failure() -> None:
    """Two roots share a name (as every installation's embedded TSA root once did), an SM2 certificate sits
    in the pool: the ECDSA path is still checked by its own validator, against the root that signed it."""
    from asn1crypto import x509

    from evidencectl.checks import Status
    from evidencectl.timestamp.chain import validate_path

    def root(algorithm: str) -> tuple[Any, bytes]:
        key = generate_key(algorithm)  # type: ignore[arg-type]
        spki = key.public_key_der()
        name = "evidencectl embedded TSA root"
        return key, build_certificate(
            subject_cn=name, subject_public_key_der=spki, issuer_key=key, issuer_cert_der=None, is_ca=True
        )

    mine, theirs = root("ecdsa-p256"), root("ecdsa-p256")
    tsa_key = generate_key("ecdsa-p256")
    leaf = build_certificate(
        subject_cn="tsa",
        subject_public_key_der=tsa_key.public_key_der(),
        issuer_key=theirs[0],
        issuer_cert_der=theirs[1],
        extended_key_usage=["time_stamping"],
        eku_critical=True,
    )
    sm2_cert = x509.Certificate.load(root("sm2")[1])
    signer, now = x509.Certificate.load(leaf), datetime.now(UTC)
    alone = validate_path(signer, [sm2_cert], [x509.Certificate.load(mine[1])], now)
    assert alone.status is Status.INDETERMINATE and alone.reason == "NO_TRUST_ANCHOR", alone.detail
    both = [x509.Certificate.load(mine[1]), x509.Certificate.load(theirs[1])]
    passed = validate_path(signer, [sm2_cert], both, now)
    assert passed.status is Status.PASSED and passed.anchor is not None and passed.anchor.dump() == theirs[1]
