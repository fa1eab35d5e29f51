"""``evidencectl timestamp info``: read a timestamp response or token without its data (like
``openssl ts -reply -in TOKEN -text``)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..i18n import _
from .render import print_json


def info_cmd(
    tsr: Path = typer.Argument(..., help="TimeStampResp (.tsr) or bare token (.tst)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Show what a timestamp says (status, policy, serial, genTime, imprint, TSA, certificates); no
    verification: use 'timestamp verify' for that."""
    from ..errors import BadInputError, MalformedTokenError
    from ..timestamp.describe import describe_timestamp

    try:
        der = tsr.read_bytes()
    except OSError as exc:
        raise BadInputError(_("cannot read: {strerror}").format(strerror=exc.strerror), path=tsr) from exc
    try:
        doc = describe_timestamp(der)
    except MalformedTokenError as exc:
        raise MalformedTokenError(str(exc), path=tsr) from exc
    if as_json:
        print_json({"file": str(tsr), **doc})
        return
    lines = [f"Status:          {doc['status_text']}"]
    if "policy" in doc:
        acc = doc["accuracy"]
        accuracy = (
            "unspecified"
            if acc is None
            else ", ".join(f"{acc[k]} {k}" for k in ("seconds", "millis", "micros") if acc[k] is not None)
        )
        lines += [
            f"Policy OID:      {doc['policy']}",
            f"Hash algorithm:  {doc['hash_algorithm']} ({doc['hash_algorithm_oid']})",
            f"Message imprint: {doc['imprint']}",
            f"Serial number:   0x{doc['serial_hex']} ({doc['serial']})",
            f"genTime:         {doc['gen_time']}",
            f"Accuracy:        {accuracy}",
            f"Ordering:        {'yes' if doc['ordering'] else 'no'}",
            f"Nonce:           {'unspecified' if doc['nonce'] is None else '0x' + doc['nonce_hex']}",
            f"TSA:             {doc['tsa_name'] or 'unspecified'}",
            f"Signer:          {doc['signer'] or 'no signing certificate in the token'}",
            f"Signature:       {doc['signature_algorithm']} with {doc['digest_algorithm']}",
            f"Certificates:    {len(doc['certificates'])}",
        ]
        for c in doc["certificates"]:
            lines.append(f"  {c['subject']}")
            lines.append(f"    issuer {c['issuer']}; serial {c['serial']}; {c['not_before']} .. {c['not_after']}")
            lines.append(f"    SHA-256 {c['fingerprint']}")
    typer.echo("\n".join(" ".join(line.split("\n")) for line in lines))


def register(app: typer.Typer) -> None:
    """Add ``info`` to the ``timestamp`` group."""
    from .timestamp_cmd import app as timestamp_app

    timestamp_app.command("info")(info_cmd)
