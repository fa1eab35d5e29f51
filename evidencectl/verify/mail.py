"""DKIM results of deposited mail re-checked at verification, from the key records stored at deposit.

A mail's metadata says what DKIM gave when it was deposited. That statement is the depositor's: sealed and
timestamped, but made by the depositor's tool. Where the message bytes and the key record are both in the
package, the check is run again here, offline, so that a recorded "pass" is something the verifier saw.
A recorded result the re-run contradicts means the package contradicts itself: FAILED. Results with no
stored key ("not checked") and mail kept out of the package (hash-only) stay as recorded at deposit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..checks import CheckResult, Status
from ..errors import EvidenceError

MAX_MAIL_MEMBER = 256 << 20
"""Largest mail re-read for the re-check (the deposit parses no larger mail)."""


def _mails(manifest: dict[str, Any]) -> Iterator[tuple[dict[str, Any], list[Any]]]:
    for item in manifest.get("items", []):
        meta = item.get("metadata") if isinstance(item, dict) else None
        mail = meta.get("email") if isinstance(meta, dict) else None
        dkim = mail.get("dkim") if isinstance(mail, dict) else None
        if isinstance(dkim, list) and dkim:
            yield item, dkim


def check_mail_auth(reader: Any, manifest: dict[str, Any]) -> list[CheckResult]:
    """One ``dkim:NAME`` check per deposited mail whose DKIM results carry a stored key record."""
    from ..collect.mailauth import recheck_dkim

    out: list[CheckResult] = []
    for item, recorded in _mails(manifest):
        name, member = str(item.get("name")), item.get("path")
        if not any(isinstance(r, dict) and r.get("key_record") for r in recorded):
            continue  # nothing was checked at deposit; nothing to re-check
        check = f"dkim:{name}"
        if not member or member not in reader.infos:
            continue  # hash-only: the result stays as recorded at deposit (the digest checks say the rest)
        try:
            message = reader.read(member, limit=MAX_MAIL_MEMBER)
        except EvidenceError as exc:
            out.append(CheckResult(check, Status.INDETERMINATE, exc.diagnostics(), {"item": name}, reason="FORMAT"))
            continue
        pairs = recheck_dkim(message, recorded)
        differ = [(old, new) for old, new in pairs if old.get("result") != new.get("result")]
        facts = {
            "item": name,
            "signatures": [
                {
                    "domain": new.get("domain"),
                    "selector": new.get("selector"),
                    "recorded": old.get("result"),
                    "rechecked": new.get("result"),
                    "reason": new.get("reason"),
                }
                for old, new in pairs
            ],
        }
        said = ", ".join(f"d={new.get('domain')} {new.get('result')}" for _, new in pairs)
        if differ:
            old, new = differ[0]
            detail = (
                f"DKIM d={new.get('domain')} s={new.get('selector')} re-checked from the stored key record gives "
                f"{new.get('result')} ({new.get('reason') or 'no reason'}); the deposit recorded {old.get('result')}"
            )
            out.append(CheckResult(check, Status.FAILED, detail, facts, reason="SIGNATURE"))
        else:
            detail = f"DKIM re-checked offline from the key record stored at deposit: {said}, as recorded"
            out.append(
                CheckResult(
                    check,
                    Status.PASSED,
                    detail,
                    facts,
                    f"unzip -p PACKAGE '{member}' | dkimverify  (dkimpy; the TXT record is in manifest.json, "
                    "metadata.email.dkim[].key_record)",
                )
            )
    return out
