"""Tokens real TSAs issued (DSS and rfc3161-client test suites): for each, what OpenSSL says and what
evidencectl says, and they agree, or differ for the reason written beside the case."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import pem, x509

from evidencectl.checks import Status
from evidencectl.timestamp.envelope import check_carried
from evidencectl.timestamp.token import decode, parse_timestamp
from evidencectl.timestamp.verifier import verify_timestamp

ASSETS = Path(__file__).parent / "assets"


class Roots:
    """A trust store holding exactly the given DER roots."""

    def __init__(self, roots: list[bytes]) -> None:
        self.roots = roots

    def certificates(self, role: str) -> list[bytes]:
        assert role == "tsa"
        return self.roots


def ders(path: Path) -> list[bytes]:
    """The certificates of a PEM bundle or a single DER file."""
    raw = path.read_bytes()
    return [d for _, _, d in pem.unarmor(raw, multiple=True)] if pem.detect(raw) else [raw]


def is_bare(raw: bytes) -> bool:
    """True for a bare TimeStampToken (a ContentInfo starts with its OID), also one that does not parse."""
    from asn1crypto import core

    return bool(core.Sequence.load(raw)[0].tag == 6)


def carried_self_signed(token: Path) -> list[bytes]:
    """The self-signed certificates a token carries (the tests trust them explicitly)."""
    return [d for d in parse_timestamp(token.read_bytes()).certificates if x509.Certificate.load(d).self_signed != "no"]


@dataclass(frozen=True)
class Case:
    """One real token, the verdicts expected from evidencectl and from OpenSSL, and why they differ."""

    token: str
    ours: Status
    openssl: bool
    """True when OpenSSL's check (``tool``) verifies the token."""
    tool: str = "ts"
    """``ts`` (openssl ts -verify) or ``cms`` (openssl cms -verify), where ``ts`` has a known gap."""
    roots: tuple[str, ...] = ()
    """Trusted roots; empty: the self-signed certificates the token carries."""
    untrusted: tuple[str, ...] = ()
    """Certificates given from outside the token (the TSA's own, when the token carries none)."""
    data: str | None = None
    """The timestamped data; None: check over the imprint the token carries."""
    says: str = ""
    """A phrase our detail must hold."""
    reason: str | None = None
    """The machine reason our check must carry."""
    note: str = ""
    """What the token shows (why ``cms`` is the oracle, why no path can be built)."""
    why: str = ""
    """Why OpenSSL and evidencectl differ, where they do."""
    malformed: bool = False
    """The token is malformed in a way OpenSSL refuses too, so a parser's words are the reason."""
    imprint_of: str | None = None
    """The token whose imprint and genTime to check against, when this one's cannot be read."""


SIGNER = "SIGNER_CERT_MISMATCH"
CASES = [
    Case("tokens_dss/d-trust.tsr", Status.PASSED, True, tool="cms", note="openssl ts has no RSASSA-PSS"),
    Case("tokens_dss/archive_timestamp.tst", Status.PASSED, True),
    Case("tokens_dss/tst_with_broken_ocsp.tst", Status.PASSED, True, tool="cms", note="openssl ts cannot parse it"),
    Case(
        "tokens_dss/tst-two-refs.tst",
        Status.FAILED,
        False,
        roots=("tokens_dss/nccert_root_2016.pem",),
        says="ESSCertID (signingCertificate) names a certificate other than the signer's (serial 40f8f78a",
        reason="SIGNER_CERT_MISMATCH",
    ),
    Case(
        "tokens_dss/disig.tst",
        Status.INDETERMINATE,
        False,
        says="no TSA trust anchors",
        note="the CA that issued Disig's TSA certificate is not in the suite: neither can build a path",
    ),
    Case(
        "tokens_rfc3161_client/identrust/issue-104.tsr",
        Status.PASSED,
        True,
        roots=("tokens_rfc3161_client/identrust/ts_chain.der",),
    ),
    Case(
        "tokens_rfc3161_client/sigstore_mock/response-expired.tsr",
        Status.PASSED,
        True,
        roots=("tokens_rfc3161_client/sigstore_mock/ts_chain.pem",),
        untrusted=("tokens_rfc3161_client/sigstore_mock/ts_chain.pem",),
        data="tokens_rfc3161_client/sigstore_mock/payload",
    ),
    Case(
        "tokens_rfc3161_client/test_tsa/response.tsr",
        Status.PASSED,
        True,
        roots=("tokens_rfc3161_client/test_tsa/ts_chain.pem",),
    ),
    Case(
        "tokens_rfc3161_client/test_tsa/other_response.tsr",
        Status.INDETERMINATE,
        False,
        roots=("tokens_rfc3161_client/test_tsa/ts_chain.pem",),
        says="no path from the TSA certificate to a trusted root",
        note="another TSA instance signed it: no path to the root given, which is INDETERMINATE here",
    ),
    Case(
        "tokens_rfc3161_client/test_tsa/response-injected-certs.tsr",
        Status.FAILED,
        True,
        roots=("tokens_rfc3161_client/test_tsa/ts_chain.pem",),
        says="CN=Spoofed TSA",
        why="a certificate outside the TSA's chain was added to the unsigned certificate bag: an altered "
        "token, which openssl ts ignores",
    ),
    Case("tokens_bouncycastle/drv_qc_root_tsp_2007.tsr", Status.PASSED, True),
    Case(
        "tokens_bouncycastle/ncipher_2005.tsr",
        Status.FAILED,
        False,
        says="INTEGER is not minimally encoded",
        malformed=True,
    ),
    Case(
        "tokens_bouncycastle/bc_test_tsa_sha1.tsr",
        Status.INDETERMINATE,
        False,
        untrusted=("tokens_bouncycastle/bc_test_tsa_cert.der",),
        says="no TSA trust anchors",
    ),
    Case(
        "tokens_bouncycastle/bc_test_tsa_md5.tsr",
        Status.INDETERMINATE,
        False,
        untrusted=("tokens_bouncycastle/bc_test_tsa_cert.der",),
        says="no TSA trust anchors",
    ),
]


def _roots(case: Case) -> list[bytes]:
    if case.roots:
        return [d for name in case.roots for d in ders(ASSETS / name)]
    return [] if case.malformed else carried_self_signed(ASSETS / case.token)


def _info(case: Case) -> tuple[bytes, str, int]:
    """Imprint (or the data's digest), its hash name and genTime (epoch) of a token."""
    info = parse_timestamp((ASSETS / (case.imprint_of or case.token)).read_bytes())
    if case.data is None:
        return info.imprint, info.hash_algorithm, int(info.gen_time.timestamp())
    digest = hashlib.new(info.hash_algorithm, (ASSETS / case.data).read_bytes()).digest()
    return digest, info.hash_algorithm, int(info.gen_time.timestamp())


def _pem_file(tmp_path: Path, name: str, certs: list[bytes]) -> Path:
    out = tmp_path / name
    out.write_bytes(b"".join(pem.armor("CERTIFICATE", d) for d in certs))
    return out


def openssl_verifies(case: Case, tmp_path: Path) -> bool:
    """What OpenSSL says of the token, at its genTime, with the same roots and outside certificates."""
    token = ASSETS / case.token
    digest, _, at = _info(case)
    bare = is_bare(token.read_bytes())
    roots = _roots(case)
    untrusted = [d for name in case.untrusted for d in ders(ASSETS / name)]
    cmd = ["openssl"]
    if case.tool == "ts":
        cmd += ["ts", "-verify", "-digest", digest.hex(), "-in", str(token)] + (["-token_in"] if bare else [])
    else:
        cmd += ["cms", "-verify", "-inform", "DER", "-in", str(token), "-purpose", "timestampsign"]
        cmd += ["-out", str(tmp_path / "tstinfo.der")]
    cmd += ["-attime", str(at)] if at else []
    if roots:
        cmd += ["-CAfile", str(_pem_file(tmp_path, "roots.pem", roots))]
    if untrusted:
        cmd += ["-untrusted", str(_pem_file(tmp_path, "untrusted.pem", untrusted))]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if case.tool == "cms" and done.returncode == 0:
        # cms checks no imprint: the TSTInfo it recovered must be the one we read the imprint from.
        assert (tmp_path / "tstinfo.der").read_bytes() == decode(token.read_bytes()).tst_info_bytes
    return done.returncode == 0 and ("Verification: OK" in done.stdout or case.tool == "cms")


NOTARY = "tokens_notaryproject/"
GLOBALSIGN = ("tokens_notaryproject/GlobalSignRootCA.crt",)
FREETSA = ("tsr/01_freetsa_2017/freetsa_root_ca.pem",)
ORIGINAL = NOTARY + "TimeStampToken.p7s"


def _damaged(name: str, ours: Status, says: str, reason: str | None = None, **kw: Any) -> Case:
    """A Notary Project case: the real GlobalSign 2021 token (or FreeTSA's) with one thing changed."""
    kw.setdefault("roots", GLOBALSIGN)
    return Case(NOTARY + name, ours, False, says=says, reason=reason, **kw)


CASES += [
    Case(ORIGINAL, Status.PASSED, True, roots=GLOBALSIGN),
    Case(NOTARY + "TimeStampTokenWithSigningCertificateV1.p7s", Status.PASSED, True, roots=FREETSA),
    Case(NOTARY + "validResponseWithSigningCertificateV1.tsr", Status.PASSED, True, roots=FREETSA),
    _damaged("TimeStampTokenNoRoot.p7s", Status.INDETERMINATE, "no path from the TSA certificate"),
    _damaged("TimeStampTokenWithoutCertificate.p7s", Status.INDETERMINATE, "supply it (--certs)"),
    _damaged("SHA1TimeStampToken.p7s", Status.FAILED, "messageDigest does not match"),
    _damaged("TimeStampTokenWithTSTInfoVersion2.p7s", Status.FAILED, "messageDigest does not match"),
    _damaged("TimeStampTokenWithInvalidSignature.p7s", Status.FAILED, "signature does not verify"),
    _damaged("TimeStampTokenWithoutSigningCertificateV2IssuerSerial.p7s", Status.FAILED, "signature does not verify"),
    _damaged("TimeStampTokenWithMismatchCertHash.p7s", Status.FAILED, "names a certificate other", SIGNER),
    _damaged("TimeStampTokenWithSHA1CertHash.p7s", Status.FAILED, "names a certificate other", SIGNER),
    _damaged("TimeStampTokenWithoutSigningCertificate.p7s", Status.FAILED, "no ESS signing-certificate", SIGNER),
    _damaged("TimeStampTokenWithSigningCertificateV2NoCert.p7s", Status.FAILED, "(v2) lists no certificate", SIGNER),
    _damaged(
        "TimeStampTokenWithSigningCertificateV1NoCert.p7s",
        Status.FAILED,
        "(v1) lists no certificate",
        SIGNER,
        roots=FREETSA,
    ),
    _damaged("TimeStampTokenWithValidAndInvalidSignerInfos.p7s", Status.FAILED, "2 signers", malformed=True),
    _damaged(
        "TimeStampTokenWithInvalidSigningCertificateV1.p7s",
        Status.FAILED,
        "signed attribute signing_certificate does not parse",
        malformed=True,
        imprint_of=ORIGINAL,
    ),
    _damaged(
        "TimeStampTokenWithInvalidSigningCertificateV2.p7s",
        Status.FAILED,
        "signed attribute signing_certificate_v2 does not parse",
        malformed=True,
        imprint_of=ORIGINAL,
    ),
    _damaged(
        "TimeStampTokenWithWrongSigningCertificateV2IssuerChoiceTag.p7s",
        Status.FAILED,
        "signed attribute signing_certificate_v2 does not parse",
        malformed=True,
        imprint_of=ORIGINAL,
    ),
    _damaged(
        "TimeStampTokenWithInvalidTSTInfo.p7s",
        Status.FAILED,
        "the TSTInfo does not parse",
        malformed=True,
        imprint_of=ORIGINAL,
    ),
    _damaged(
        "TimeStampTokenWithInvalideContentType.p7s",
        Status.FAILED,
        "not id-ct-TSTInfo",
        malformed=True,
        imprint_of=ORIGINAL,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.token.split("/", 1)[1] for c in CASES])
def test_a_real_token_gets_the_verdict_openssl_gives(case: Case, tmp_path: Path) -> None:
    raw = (ASSETS / case.token).read_bytes()
    digest, hash_name, _ = _info(case)
    result = verify_timestamp(
        raw,
        digest=digest,
        hash_name=hash_name,
        trust=Roots(_roots(case)),
        check="timestamp:real",
        extra_certs=[d for name in case.untrusted for d in ders(ASSETS / name)],
    )
    assert result.status is case.ours, result.detail
    assert case.says in result.detail
    if case.reason:
        assert result.reason == case.reason
    assert case.malformed or not result.detail.startswith("malformed"), "refused for a reason, not a parser message"
    assert openssl_verifies(case, tmp_path) is case.openssl
    agrees = (case.ours is Status.PASSED) == case.openssl
    assert agrees == (not case.why), f"{case.token}: a difference from openssl needs its reason, and only one"


def test_the_disig_signature_is_checked_before_the_missing_path(tmp_path: Path) -> None:
    """Without its CA the Disig token cannot be decided, but its signature is: an altered one is FAILED."""
    raw = bytearray((ASSETS / "tokens_dss/disig.tst").read_bytes())
    info = parse_timestamp(bytes(raw))
    signature = decode(bytes(raw)).signed_data["signer_infos"][0]["signature"].native
    at = bytes(raw).index(signature)
    raw[at + 10] ^= 0x01
    result = verify_timestamp(bytes(raw), digest=info.imprint, hash_name="sha256", trust=Roots([]), check="t")
    assert result.status is Status.FAILED and "signature" in result.detail
    done = subprocess.run(
        ["openssl", "cms", "-verify", "-inform", "DER", "-noverify", "-in", "-", "-out", "/dev/null"],
        input=bytes(raw),
        capture_output=True,
        check=False,
    )
    assert done.returncode != 0  # openssl agrees the signature is bad


def test_a_renewed_tsa_certificate_carried_beside_the_signer_is_not_an_alteration() -> None:
    """Disig carries its TSA certificate from before and after a renewal: the same key and name."""
    parsed = decode((ASSETS / "tokens_dss/disig.tst").read_bytes())
    carried = [c.chosen for c in parsed.signed_data["certificates"]]
    sid = parsed.signed_data["signer_infos"][0]["sid"].chosen
    signer = next(c for c in carried if c.serial_number == sid["serial_number"].native)
    check_carried(carried, signer, [], [signer])


def test_the_openssl_oracle_refuses_the_root_named_in_esscertid(tmp_path: Path) -> None:
    """What OpenSSL's own words are for the EuroCert token: the ESS certificate ID order."""
    token = ASSETS / "tokens_dss/tst-two-refs.tst"
    info = parse_timestamp(token.read_bytes())
    roots = _pem_file(tmp_path, "r.pem", ders(ASSETS / "tokens_dss/nccert_root_2016.pem"))
    done = subprocess.run(
        ["openssl", "ts", "-verify", "-token_in", "-in", str(token), "-digest", info.imprint.hex()]
        + ["-CAfile", str(roots), "-attime", str(int(info.gen_time.timestamp()))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Verification: FAILED" in done.stdout and "ess cert id" in done.stderr.lower()


def _openssl_text(token: Path) -> dict[str, str]:
    """``openssl ts -reply -text`` of a token, as field: value."""
    bare = is_bare(token.read_bytes())
    cmd = ["openssl", "ts", "-reply", "-in", str(token), "-text"] + (["-token_in"] if bare else [])
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line and not line[0].isspace())


READABLE = [c for c in CASES if not c.malformed and c.tool == "ts"]


@pytest.mark.parametrize("case", READABLE, ids=[c.token.split("/", 1)[1] for c in READABLE])
def test_a_real_token_reads_as_openssl_reads_it(case: Case) -> None:
    """Serial, genTime, nonce and imprint algorithm as OpenSSL prints them."""
    from datetime import UTC, datetime

    token = ASSETS / case.token
    info = parse_timestamp(token.read_bytes())
    theirs = _openssl_text(token)
    assert int(theirs["Serial number"].replace("0x-", "-0x"), 16) == info.serial  # a negative serial: BC 2004
    # evidencectl names an imprint algorithm it does not compute by its OID (MD5; a signature algorithm
    # the Notary Project put there).
    named = {"1.2.840.113549.2.5": "md5", "1.2.840.113549.1.1.5": "sha1WithRSAEncryption"}
    assert theirs["Hash Algorithm"] == named.get(info.hash_algorithm, info.hash_algorithm)
    nonce = theirs["Nonce"]
    assert (None if nonce == "unspecified" else int(nonce, 16)) == info.nonce
    stamp = theirs["Time stamp"].removesuffix(" GMT")
    fmt = "%b %d %H:%M:%S.%f %Y" if "." in stamp else "%b %d %H:%M:%S %Y"
    assert datetime.strptime(" ".join(stamp.split()), fmt).replace(tzinfo=UTC) == info.gen_time
