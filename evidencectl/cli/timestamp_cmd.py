"""``evidencectl timestamp``: request an RFC 3161 token for a file, verify a token."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer

from ..checks import Status
from ..config import home
from ..display import visible
from ..errors import BadInputError, MalformedTokenError, UsageError
from ..i18n import _

app = typer.Typer(help="Request and verify RFC 3161 timestamps.", no_args_is_help=True)


class HashName(StrEnum):
    """Imprint algorithms a request may use."""

    sha256 = "sha256"
    sm3 = "sm3"
    sha384 = "sha384"
    sha512 = "sha512"


def _file_digest(path: Path, hash_name: str) -> bytes:
    """Hash a file in chunks (large evidence files must not be read into memory at once)."""
    import hashlib

    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, hash_name).digest()
    except OSError as exc:
        raise BadInputError(_("cannot read: {strerror}").format(strerror=exc.strerror), path=path) from exc


def _read(path: Path) -> bytes:
    """Read an input file, mapping OS errors to exit code 4."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BadInputError(_("cannot read: {strerror}").format(strerror=exc.strerror), path=path) from exc


@app.command("request")
def request_cmd(
    file: Path = typer.Argument(..., help="The file to timestamp (only its digest is sent)."),
    tsa: str = typer.Option("local", "--tsa", help="'local' (embedded TSA) or an http(s):// TSA URL."),
    hash_name: HashName = typer.Option(HashName.sha256, "--hash", help="Imprint hash algorithm."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Where to write the response (FILE.tsr)."),
    force: bool = typer.Option(False, "--force", help="Overwrite OUTPUT if it exists."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Timestamp FILE's digest and save the TimeStampResp."""
    from ..crypto.files import write_new_file
    from ..timestamp.client import tsa_from_spec
    from ..timestamp.token import parse_timestamp

    out = output or file.with_name(file.name + ".tsr")
    if out.exists() and not force:
        raise UsageError(_("output exists; pass --force to overwrite"), path=out)
    digest = _file_digest(file, hash_name.value)
    response = tsa_from_spec(tsa, home()).timestamp(digest, hash_name.value)
    write_new_file(out, response, mode=0o644, replace=force)
    facts = parse_timestamp(response).facts()
    if as_json:
        typer.echo(json.dumps({"output": str(out), "tsa": tsa, **facts}, ensure_ascii=False))
    else:
        line = _("{out}: timestamp {gen_time} serial {serial} by {tsa}")
        typer.echo(visible(line.format(out=out, gen_time=facts["gen_time"], serial=facts["serial"], tsa=facts["tsa"])))


@app.command("verify")
def verify_cmd(
    tsr: Path = typer.Argument(..., help="TimeStampResp (.tsr) or bare token (.tst)."),
    data: Path | None = typer.Option(None, "--data", help="The data the token should cover."),
    digest_hex: str | None = typer.Option(None, "--digest", help="The digest the token should cover (hex)."),
    hash_name: str | None = typer.Option(None, "--hash", help="Digest algorithm (default: the token's)."),
    trust: list[Path] = typer.Option([], "--trust", help="Extra trusted TSA root (PEM/DER); repeatable."),
    certs: Path | None = typer.Option(None, "--certs", help="Untrusted certificates to build the chain."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Verify a timestamp token: exit 0 PASSED, 1 FAILED, 3 INDETERMINATE, 4 malformed."""
    from ..crypto.trust import TrustStore
    from ..crypto.x509 import load_certificates
    from ..timestamp.algorithms import HASH_OIDS, digest
    from ..timestamp.token import parse_timestamp
    from ..timestamp.verifier import verify_timestamp

    if (data is None) == (digest_hex is None):
        raise UsageError(_("give exactly one of --data FILE or --digest HEX"))
    response = _read(tsr)
    try:
        name = hash_name or parse_timestamp(response).hash_algorithm
    except MalformedTokenError as exc:
        raise MalformedTokenError(str(exc), path=tsr) from exc
    if name not in HASH_OIDS:
        raise UsageError(_("unknown hash {name}; known: {join}").format(name=name, join=", ".join(HASH_OIDS)))
    if data is not None:
        value = digest(name, _read(data)) if name.startswith("sha3") else _file_digest(data, name)
    else:
        try:
            value = bytes.fromhex(str(digest_hex).strip())
        except ValueError as exc:
            raise UsageError(_("--digest must be hexadecimal")) from exc
    extra = load_certificates(_read(certs)) if certs else []
    result = verify_timestamp(
        response,
        digest=value,
        hash_name=name,
        trust=TrustStore.for_verification(home(), [f"tsa:{p}" for p in trust]),
        check=f"timestamp:{name}:{tsr.name}",
        extra_certs=extra,
    )
    if result.detail.startswith("malformed:"):
        raise MalformedTokenError(result.detail.removeprefix("malformed: "), path=tsr)
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        words = {"PASSED": _("PASSED"), "FAILED": _("FAILED"), "INDETERMINATE": _("INDETERMINATE")}
        typer.echo(f"{words[result.status.value]}: {visible(result.detail)}")
        for key, val in result.facts.items():
            if val is not None:
                typer.echo(f"  {key}: {visible(val)}")
        if result.reproduce:
            typer.echo(_("  reproduce: {reproduce}").format(reproduce=visible(result.reproduce)))
    if result.status is not Status.PASSED:
        raise typer.Exit(int(result.status.exit_code))
