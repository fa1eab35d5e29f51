"""What a timestamp response or token says, read without the data it covers and without verifying it: the
counterpart of ``openssl ts -reply -in TOKEN -text`` (``evidencectl timestamp info``)."""

from __future__ import annotations

from typing import Any

from ..errors import MalformedTokenError
from ..i18n import _
from .token import certificates_of, decode, find_signer, iso_utc, name_text

_STATUS_WORDS = {0: "granted", 1: "grantedWithMods", 2: "rejection", 3: "waiting", 4: "revocationWarning"}


def _tsa_field(tst: Any) -> str | None:
    """The TSTInfo ``tsa`` field (a GeneralName) as text, None when absent (openssl: 'unspecified')."""
    general = tst["tsa"]
    if general.native is None:
        return None
    if general.name == "directory_name":
        return name_text(general.chosen)
    return f"{general.name}:{general.native}"


def _hex(value: int) -> str:
    """Upper-case hex of whole bytes, as ``openssl ts -text`` prints serial numbers and nonces."""
    text = format(value, "X")
    return text if len(text) % 2 == 0 else "0" + text


def describe_timestamp(der: bytes) -> dict[str, Any]:
    """The fields of a TimeStampResp (or bare TimeStampToken) as JSON-ready values; nothing is verified.

    Raises :class:`MalformedTokenError` (exit 4) for bytes that are neither. A refusal (no token) is
    described by its status alone.
    """
    from ..crypto.x509 import certificate_summary

    parsed = decode(der)
    status = parsed.status
    out: dict[str, Any] = {
        "bare_token": parsed.bare,
        "status": _STATUS_WORDS.get(status.status, str(status.status)),
        "status_code": status.status,
        "status_text": status.text,
        "fail_info": list(status.fail_info),
    }
    if parsed.content_info is None:
        return out
    try:
        tst = parsed.tst_info
        imprint = tst["message_imprint"]
        signed = parsed.signed_data
        certs = certificates_of(signed)
        signer_info = signed["signer_infos"][0]
        signer = find_signer(signer_info["sid"], certs)
        acc = tst["accuracy"].native
        out.update(
            version=int(tst["version"]),
            policy=tst["policy"].dotted,
            hash_algorithm=imprint["hash_algorithm"]["algorithm"].native,
            hash_algorithm_oid=imprint["hash_algorithm"]["algorithm"].dotted,
            imprint=bytes(imprint["hashed_message"].native).hex(),
            serial=int(tst["serial_number"].native),
            serial_hex=_hex(int(tst["serial_number"].native)),
            gen_time=iso_utc(tst["gen_time"].native),
            accuracy=None if acc is None else {k: acc.get(k) for k in ("seconds", "millis", "micros")},
            ordering=bool(tst["ordering"].native),
            nonce=None if tst["nonce"].native is None else str(tst["nonce"].native),
            nonce_hex=None if tst["nonce"].native is None else _hex(int(tst["nonce"].native)),
            tsa_name=_tsa_field(tst),
            signer=None if signer is None else name_text(signer.subject),
            signature_algorithm=signer_info["signature_algorithm"]["algorithm"].native,
            digest_algorithm=signer_info["digest_algorithm"]["algorithm"].native,
            extensions=[e["extn_id"].dotted for e in (tst["extensions"] or [])],
            certificates=[certificate_summary(c.dump()) for c in certs],
        )
    except MalformedTokenError:
        raise
    except Exception as exc:  # asn1crypto raises ValueError, TypeError, KeyError… on hostile input
        raise MalformedTokenError(_("malformed TSTInfo: {join}").format(join=" ".join(str(exc).split()))) from exc
    return out
