"""The embedded TSA: its own root CA and TSA certificate, monotonic serials, RFC 3161 responses."""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asn1crypto import algos, cms, core, tsp, x509

from ..crypto.files import write_new_file
from ..crypto.keys import SigningKey, load_or_create_service_key
from ..crypto.trust import TrustStore
from ..crypto.x509 import build_certificate, certificate_pem, load_certificates
from ..errors import BadInputError, ServiceError
from ..i18n import _
from ..keptdb import KeptConnection
from .algorithms import OID_HASHES, REQUESTABLE_HASHES, TST_INFO_OID, digest, digest_size, hash_oid
from .interface import TimestampAuthority
from .operator import DEPOSITOR_OPERATED_OID, DEPOSITOR_OPERATED_UNIT, LEGACY_POLICY_OID, installation_id
from .request import build_request, check_imprint, check_own_response, check_response, new_nonce
from .token import TimeStampResponse

if TYPE_CHECKING:
    from ..context import Context

POLICY_OID = LEGACY_POLICY_OID
"""Policy of the embedded TSA's tokens: a UUID-based OID (ITU-T X.667), needing no registration."""

ACCURACY_SECONDS = 1
"""Declared accuracy: the host clock, which we cannot vouch for more closely than this."""

_SIGNATURE_OIDS = {"ecdsa-p256": "1.2.840.10045.4.3.2", "sm2": "1.2.156.10197.1.501"}
_SIGNER_HASH = {"ecdsa-p256": "sha256", "sm2": "sm3"}
_ALGORITHMS = tuple(_SIGNATURE_OIDS)


def _open_serials(path: Path, check_same_thread: bool = True) -> sqlite3.Connection:
    """A connection to the serial-number database at ``path`` (WAL, autocommit, a busy timeout)."""
    db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=check_same_thread)
    db.execute("PRAGMA journal_mode=WAL")
    return db


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock, so two processes creating the TSA do not issue two certificates."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _rejection(text: str, fail: str) -> bytes:
    """A TimeStampResp refusing a request (RFC 3161 §2.4.2) with a reason and a failInfo bit."""
    status = {"status": "rejection", "status_string": [text], "fail_info": {fail}}
    return bytes(TimeStampResponse({"status": status}).dump())


def _declares_operator(chain_path: Path) -> bool:
    """True when the stored chain's TSA certificate declares itself depositor-operated by policy."""
    try:
        leaf = x509.Certificate.load(load_certificates(chain_path.read_bytes())[0])
        policies = leaf.certificate_policies_value
    except (OSError, ValueError, IndexError):
        return True  # unreadable: leave it for open() to report, never retire what cannot be read
    return policies is not None and any(p["policy_identifier"].dotted == DEPOSITOR_OPERATED_OID for p in policies)


def _retire(folder: Path, ctx: Context) -> None:
    """Move an old chain and its keys to ``retired-<UTC time>/`` (never deleted), keeping its root trusted."""
    target = folder / f"retired-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    target.mkdir(parents=True, exist_ok=True)
    for name in ("chain.pem", "root.pem", "root.key", "tsa.key"):
        if (folder / name).exists():
            (folder / name).rename(target / name)
    if (target / "root.pem").exists():
        TrustStore.load(ctx).add_file(target / "root.pem", "tsa", operator="own")


def _issue_chain(folder: Path, key: SigningKey, algorithm: str, install: str) -> None:
    """Make the root and TSA certificates of a new embedded TSA, naming installation ``install``."""
    root_key = load_or_create_service_key(folder / "root.key", algorithm)  # type: ignore[arg-type]
    root = build_certificate(
        subject_cn=f"evidencectl TSA root {algorithm} {install}",
        subject_public_key_der=root_key.public_key_der(),
        issuer_key=root_key,
        issuer_cert_der=None,
        is_ca=True,
        path_length=0,
        not_after=datetime.now(UTC) + timedelta(days=365 * 30),
        policies=(DEPOSITOR_OPERATED_OID,),
        organization="evidencectl",
        organizational_unit=DEPOSITOR_OPERATED_UNIT,
    )
    leaf = build_certificate(
        subject_cn=f"evidencectl TSA {algorithm} {install}",
        subject_public_key_der=key.public_key_der(),
        issuer_key=root_key,
        issuer_cert_der=root,
        extended_key_usage=["time_stamping"],
        eku_critical=True,
        not_after=datetime.now(UTC) + timedelta(days=365 * 20),
        policies=(DEPOSITOR_OPERATED_OID,),
        organization="evidencectl",
        organizational_unit=DEPOSITOR_OPERATED_UNIT,
    )
    write_new_file(folder / "root.pem", certificate_pem(root), mode=0o644)
    write_new_file(folder / "chain.pem", certificate_pem(leaf) + certificate_pem(root), mode=0o644)


class EmbeddedTSA(TimestampAuthority):
    """A TSA living in the data directory, trusted on the machine that created it."""

    name = "local"

    def __init__(self, folder: Path, key: SigningKey, tsa_cert: bytes, root_cert: bytes) -> None:
        """Use :meth:`open`."""
        self.folder = folder
        self.key = key
        self.algorithm = key.algorithm
        self.tsa_cert = x509.Certificate.load(tsa_cert)
        self.root_cert = x509.Certificate.load(root_cert)
        self._serials = folder.parent / "serials.sqlite"
        # Every token gets freshly parsed copies of these: a parsed certificate placed in a new structure
        # was re-encoded whole for each token (about half of the time a token took).
        self._cert_der = tsa_cert
        self._cert_sha256 = digest("sha256", tsa_cert)
        self._subject_der = self.tsa_cert.subject.dump()
        self._issuer_der = self.tsa_cert.issuer.dump()
        self._serial_number = self.tsa_cert.serial_number

        self._constant: tuple[bytes, ...] | None = None
        self._checked = False
        """True once a token of this instance passed :func:`.request.check_response` in full."""
        serials = self._serials  # the path, not self: no cycle keeps a closed TSA's connection open
        self._db = KeptConnection(lambda: _open_serials(serials, check_same_thread=False))
        """The serial-number database, kept open."""

    def _name(self, der: bytes) -> x509.GeneralName:
        return x509.GeneralName(name="directory_name", value=x509.Name.load(der))

    def _constant_attributes(self) -> tuple[bytes, ...]:
        """DER of the signed attributes every token carries (content type, ESSCertIDv2), built once."""
        if self._constant is None:
            ess = {
                "certs": [
                    {
                        "cert_hash": self._cert_sha256,
                        "issuer_serial": {
                            "issuer": [self._name(self._issuer_der)],
                            "serial_number": self._serial_number,
                        },
                    }
                ]
            }
            self._constant = (
                cms.CMSAttribute({"type": "content_type", "values": [TST_INFO_OID]}).dump(),
                cms.CMSAttribute({"type": "signing_certificate_v2", "values": [ess]}).dump(),
            )
        return self._constant

    @staticmethod
    def exists(ctx: Context, algorithm: str = "ecdsa-p256") -> bool:
        """True when the embedded TSA of ``ctx`` has been created (its certificate chain is in place)."""
        return (ctx.tsa_dir / algorithm / "chain.pem").is_file()

    @classmethod
    def open(cls, ctx: Context, algorithm: str = "ecdsa-p256") -> EmbeddedTSA:
        """Open the embedded TSA in ``ctx.tsa_dir/<algorithm>/``, creating keys and certificates on first use.

        The certificates name this installation (its id in the subject) and declare the TSA
        depositor-operated (policy :data:`DEPOSITOR_OPERATED_OID`, ``OU = depositor-operated``). A chain made
        by an older version, which declared neither, is retired to ``retired-<time>/`` and replaced; its root
        stays trusted here, so packages stamped with it still verify. The root is installed into
        ``trust/tsa/`` with operator ``own``. Safe when two processes open it at once.
        """
        if algorithm not in _ALGORITHMS:
            raise BadInputError(
                _("embedded TSA algorithm must be one of {join}, not {algorithm}").format(
                    join=", ".join(_ALGORITHMS), algorithm=algorithm
                )
            )
        folder = ctx.tsa_dir / algorithm
        chain_path = folder / "chain.pem"
        with _locked(ctx.tsa_dir / ".lock"):
            if chain_path.exists() and not _declares_operator(chain_path):
                _retire(folder, ctx)
            key = load_or_create_service_key(folder / "tsa.key", algorithm)  # type: ignore[arg-type]
            if not chain_path.exists():
                _issue_chain(folder, key, algorithm, installation_id(ctx))
            TrustStore.load(ctx).add_file(folder / "root.pem", "tsa", operator="own")
        try:
            leaf_der, root_der = load_certificates(chain_path.read_bytes())[:2]
        except (OSError, ValueError) as exc:
            raise BadInputError(
                _("cannot read the embedded TSA chain: {exc}").format(exc=exc), path=chain_path
            ) from exc
        tsa = cls(folder, key, leaf_der, root_der)
        tsa._init_serials()
        return tsa

    # -- serial numbers ---------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        """The serial-number database; WAL and a busy timeout let several processes share it."""
        return _open_serials(self._serials)

    def _init_serials(self) -> None:
        """Create the serial table once."""
        with contextlib.closing(self._connect()) as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS serials (serial INTEGER PRIMARY KEY AUTOINCREMENT,"
                " issued_at TEXT NOT NULL, algorithm TEXT NOT NULL, imprint TEXT NOT NULL)"
            )

    def close(self) -> None:
        """Close the serial-number connection kept open (a later token opens it again)."""
        self._db.close()

    def _next_serial(self, moment: datetime, imprint: bytes) -> int:
        """Allocate the next serial; AUTOINCREMENT never reuses a number, even after deletions. Each serial
        is committed (the WAL synced) before its token is made, on a connection kept for the next one
        (:mod:`evidencectl.keptdb`)."""
        with self._db.lock:
            cursor = self._db.get().execute(
                "INSERT INTO serials (issued_at, algorithm, imprint) VALUES (?, ?, ?)",
                (moment.isoformat(), self.algorithm, imprint.hex()),
            )
            assert cursor.lastrowid is not None
            return int(cursor.lastrowid)

    # -- RFC 3161 ---------------------------------------------------------------------------------------

    def chain_pem(self) -> bytes:
        """The TSA certificate followed by its root, PEM."""
        return certificate_pem(self.tsa_cert.dump()) + certificate_pem(self.root_cert.dump())

    def respond(self, request_der: bytes) -> bytes:
        """Answer a DER TimeStampReq with a DER TimeStampResp (a rejection for a request we cannot serve)."""
        try:
            request = tsp.TimeStampReq.load(request_der, strict=True)
            request.native  # noqa: B018 - parse fully now, so hostile input is rejected here
        except Exception:
            return _rejection("request is not a DER TimeStampReq", "bad_data_format")
        if request["version"].native != "v1":
            return _rejection("unsupported request version", "bad_request")
        imprint = request["message_imprint"]
        hash_name = OID_HASHES.get(imprint["hash_algorithm"]["algorithm"].dotted)
        hashed = bytes(imprint["hashed_message"].native)
        if hash_name not in REQUESTABLE_HASHES:
            return _rejection(f"hash algorithm not accepted; use {', '.join(REQUESTABLE_HASHES)}", "bad_alg")
        if len(hashed) != digest_size(hash_name):
            return _rejection("imprint length does not match its hash algorithm", "bad_data_format")
        if request["req_policy"].native is not None and request["req_policy"].dotted != POLICY_OID:
            return _rejection(f"policy not offered; this TSA issues under {POLICY_OID}", "unaccepted_policy")
        if request["extensions"].native:
            return _rejection("request extensions are not supported", "unaccepted_extensions")
        try:
            token = self._token(imprint, request["nonce"].native, bool(request["cert_req"].native))
        except (OSError, sqlite3.Error) as exc:
            return _rejection(f"TSA cannot issue now: {exc}", "system_failure")
        return bytes(tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump())

    def _token(
        self,
        imprint: tsp.MessageImprint,
        nonce: int | None,
        cert_req: bool,
        serial: int | None = None,
        now: datetime | None = None,
    ) -> cms.ContentInfo:
        """Sign a TSTInfo for ``imprint`` (a CMS SignedData, ContentInfo-wrapped) at ``now`` (the clock's
        time, in milliseconds)."""
        if now is None:
            now = datetime.now(UTC).replace(microsecond=(datetime.now(UTC).microsecond // 1000) * 1000)
        tst: dict[str, Any] = {
            "version": "v1",
            "policy": POLICY_OID,
            "message_imprint": imprint,
            "serial_number": serial or self._next_serial(now, bytes(imprint["hashed_message"].native)),
            "gen_time": core.GeneralizedTime(now),
            "accuracy": {"seconds": ACCURACY_SECONDS},
            "tsa": self._name(self._subject_der),
        }
        if nonce is not None:
            tst["nonce"] = nonce
        tst_bytes = tsp.TSTInfo(tst).dump()
        signer_hash = _SIGNER_HASH[self.algorithm]
        attributes = [
            *(cms.CMSAttribute.load(der) for der in self._constant_attributes()),
            cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"generalized_time": now})]}),
            cms.CMSAttribute({"type": "message_digest", "values": [digest(signer_hash, tst_bytes)]}),
        ]
        # DER orders a SET OF by encoding; OpenSSL re-encodes the attributes before checking the signature.
        attributes.sort(key=lambda a: a.dump())
        signed_attrs = cms.CMSAttributes(attributes)
        signature = self.key.sign(b"\x31" + signed_attrs.dump()[1:])
        signer_info = {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value={"issuer": x509.Name.load(self._issuer_der), "serial_number": self._serial_number},
            ),
            "digest_algorithm": {"algorithm": hash_oid(signer_hash)},
            "signed_attrs": signed_attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": _SIGNATURE_OIDS[self.algorithm]}),
            "signature": signature,
        }
        signed_data: dict[str, Any] = {
            "version": "v3",
            "digest_algorithms": [{"algorithm": hash_oid(signer_hash)}],
            "encap_content_info": {
                "content_type": TST_INFO_OID,
                "content": core.ParsableOctetString(tst_bytes),
            },
            "signer_infos": [signer_info],
        }
        if cert_req:
            signed_data["certificates"] = [x509.Certificate.load(self._cert_der)]
        return cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed_data)})

    def warm_up(self) -> None:
        """Build and check one token that is never issued (no serial number is used up), so that the first
        real one does not pay for loading the ASN.1 and signing machinery: a deposit does this while its
        worker processes hash. The token is checked in full (:func:`.request.check_response`), which the
        tokens made after it then need not be (see :meth:`timestamp`)."""
        digest_ = bytes(32)
        request = tsp.TimeStampReq.load(build_request(digest_, "sha256", nonce=1))
        token = self._token(request["message_imprint"], 1, True, serial=1)
        response = tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()
        check_response(response, digest=digest_, hash_name="sha256", nonce=1, source="warm-up")
        self._checked = True
        with self._db.lock:
            self._db.get()  # opened now rather than for the first serial

    def timestamp(self, digest: bytes, hash_name: str) -> bytes:
        """Timestamp ``digest`` (see :class:`TimestampAuthority`); the response is checked before it is given.

        In this process no DER request is built for :meth:`respond` to parse again: the imprint goes to the
        token as the request would have carried it (the same bytes, tests/test_deposit_tail.py), which
        saves 0.5 ms a token. The first token of this TSA (or the one :meth:`warm_up` made) is checked as any
        TSA's response is (:func:`.request.check_response`, 10 ms); every later one by
        :func:`.request.check_own_response` (0.3 ms), which checks on the bytes kept what can differ from
        one token to the next: granted, the imprint and nonce asked for, the TSA's certificate as the one
        signer and carried, messageDigest, and the signature under that certificate's key. What it leaves
        out (the strict DER and every unsigned field, the ESS binding, the certificate's EKU) comes from
        this instance's fixed certificate and code, checked with its first token.
        """
        try:
            check_imprint(digest, hash_name)
        except ValueError as exc:
            raise ServiceError(_("embedded TSA: {exc}").format(exc=exc)) from exc
        nonce = new_nonce()
        imprint = tsp.MessageImprint({"hash_algorithm": {"algorithm": hash_oid(hash_name)}, "hashed_message": digest})
        try:
            token = self._token(imprint, nonce, True)
        except (OSError, sqlite3.Error) as exc:
            raise ServiceError(_("embedded TSA cannot issue now: {exc}").format(exc=exc)) from exc
        response = bytes(tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump())
        if self._checked:
            check_own_response(
                response, digest=digest, hash_name=hash_name, nonce=nonce, certificate=self.tsa_cert, source="local"
            )
        else:
            check_response(response, digest=digest, hash_name=hash_name, nonce=nonce, source="local")
            self._checked = True
        return response
