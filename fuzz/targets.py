"""Fuzz targets: one function per parser of untrusted input, shared by atheris and the Hypothesis tests.

Each target takes arbitrary bytes and enforces the invariant of docs/security.md: the input is either
accepted honestly or rejected with a typed error whose exit code is 1, 3 or 4 and whose message is one
line; anything else (another exception, a multi-line message, more than :data:`TIME_BOUND_S` seconds) is a
finding, raised as :class:`Finding`.
"""

from __future__ import annotations

import io
import json
import tempfile
import time
import zipfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from evidencectl.checks import CheckResult, Status
from evidencectl.errors import EvidenceError, ExitCode

ASSETS = Path(__file__).resolve().parents[1] / "tests" / "assets"
SEED_PACKAGE = ASSETS / "hostile" / "valid_a.evp"
TIME_BOUND_S = 10.0
"""No single input may take longer than this (the bound is generous: CI machines are slow)."""
ALLOWED_EXITS = (ExitCode.FAILED, ExitCode.INDETERMINATE, ExitCode.BAD_INPUT)


class Finding(AssertionError):
    """An input broke the invariant: it crashed, hung or was rejected untidily."""


def _typed(exc: EvidenceError) -> None:
    from evidencectl.cli.main import error_line

    message = error_line(exc)  # what the command line prints
    if exc.exit_code not in ALLOWED_EXITS:
        raise Finding(f"{type(exc).__name__} exits {int(exc.exit_code)}: {message}") from exc
    if "\n" in message or not message.strip():
        raise Finding(f"{type(exc).__name__} message is not one line: {message!r}") from exc


def _check_result(result: Any) -> None:
    from evidencectl.checks import VerificationReport

    if not isinstance(result, CheckResult) or not isinstance(result.status, Status):
        raise Finding(f"a check returned {result!r} instead of a CheckResult")
    report = VerificationReport("fuzz", None)
    report.add(result)  # as a verification records it, and as every report prints it
    if "\n" in report.checks[0].detail:
        raise Finding(f"check detail is not one line: {report.checks[0].detail!r}")


def bounded(target: Callable[[bytes], None]) -> Callable[[bytes], None]:
    """Wrap ``target`` so a typed error passes, anything else or a slow input is a :class:`Finding`."""

    def run(data: bytes) -> None:
        started = time.monotonic()
        try:
            target(data)
        except EvidenceError as exc:
            _typed(exc)
        except Finding:
            raise
        except Exception as exc:
            raise Finding(f"untyped {type(exc).__name__}: {exc}") from exc
        elapsed = time.monotonic() - started
        if elapsed > TIME_BOUND_S:
            raise Finding(f"input took {elapsed:.1f} s")

    run.__name__ = target.__name__
    run.__doc__ = target.__doc__
    return run


@cache
def seed_members() -> dict[str, bytes]:
    """The members of the committed valid package, the seed most targets mutate."""
    with zipfile.ZipFile(SEED_PACKAGE) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


@cache
def _workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="evidencectl-fuzz-"))


@cache
def trust() -> Any:
    """A trust store holding the seed package's TSA chain, so that tokens can be verified to the end."""
    from evidencectl.crypto.trust import TrustStore

    pem = _workdir() / "tsa-local.pem"
    pem.write_bytes(seed_members()["certs/tsa-local.pem"])
    return TrustStore.load(_workdir() / "home", [f"tsa:{pem}"])


def _package_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def _verify_file(data: bytes) -> None:
    from evidencectl.verify.verifier import verify_package

    path = _workdir() / "input.evp"
    path.write_bytes(data)
    report = verify_package(path, trust=trust())
    for check in report.checks:
        _check_result(check)
    json.dumps(report.to_json())  # the --json output must always serialise


@bounded
def package(data: bytes) -> None:
    """The package reader and the whole verifier over arbitrary bytes as a ``.evp`` file."""
    _verify_file(data)


@bounded
def manifest(data: bytes) -> None:
    """``manifest.json`` replaced by arbitrary bytes inside an otherwise valid package."""
    _verify_file(_package_bytes({**seed_members(), "manifest.json": data}))


@bounded
def timestamp(data: bytes) -> None:
    """RFC 3161 responses and tokens: ``parse_timestamp`` and ``verify_timestamp``."""
    from evidencectl.timestamp.token import parse_timestamp
    from evidencectl.timestamp.verifier import verify_timestamp

    roots = json.loads(seed_members()["manifest.json"])["roots"]
    _check_result(
        verify_timestamp(data, digest=bytes.fromhex(roots["sha256"]), hash_name="sha256", trust=trust(), check="fuzz")
    )
    parse_timestamp(data)


@bounded
def receipt(data: bytes) -> None:
    """Anchor receipts: strict JSON parsing, then ``verify_receipt`` (offline)."""
    from evidencectl.anchor.backends import verify_receipt
    from evidencectl.package.canonical import parse_json

    try:
        value = parse_json(data)
    except (ValueError, UnicodeDecodeError):
        return  # the reader turns these into MalformedPackageError; verify_receipt never sees them
    manifest = json.loads(seed_members()["manifest.json"])
    _check_result(verify_receipt(value, deposit_id=manifest["deposit_id"], roots=manifest["roots"], trust=trust()))


_SUFFIXES = (".eml", ".mbox", ".msg", ".png", ".jpg", ".bin")


@bounded
def analyze(data: bytes) -> None:
    """Emails, mailboxes, Outlook messages and image metadata: ``collect.analyze.analyze``.

    The first byte picks the file name's suffix, so the same content is also tried under a misleading name.
    """
    from evidencectl.collect.analyze import analyze as run
    from evidencectl.package.canonical import canonical_json

    suffix = _SUFFIXES[data[0] % len(_SUFFIXES)] if data else ".bin"
    path = _workdir() / f"input{suffix}"
    path.write_bytes(data[1:])
    for strict in (False, True):
        result = run(path, strict=strict, offline=True, dkim_keys={})
        canonical_json(result.metadata)  # what a deposit would write into the manifest


TARGETS: dict[str, Callable[[bytes], None]] = {
    "package": package,
    "manifest": manifest,
    "timestamp": timestamp,
    "receipt": receipt,
    "analyze": analyze,
}
"""Target name -> function, as ``python -m fuzz TARGET`` names them."""


def seeds(name: str) -> list[bytes]:
    """Valid inputs to start mutating from, taken from the committed test assets."""
    members = seed_members()
    if name == "package":
        return [SEED_PACKAGE.read_bytes()] + [p.read_bytes() for p in sorted((ASSETS / "hostile").glob("*.evp"))]
    if name == "manifest":
        return [members["manifest.json"]]
    if name == "timestamp":
        found = [v for k, v in members.items() if k.endswith(".tsr")]
        return found + [p.read_bytes() for p in sorted((ASSETS / "tsr").rglob("*.ts*"))]
    if name == "receipt":
        return [v for k, v in members.items() if k.startswith("proofs/anchors/")]
    if name == "analyze":
        out = []
        for folder in ("email", "images"):
            for p in sorted((ASSETS / folder).iterdir()):
                if p.suffix.lower() in _SUFFIXES or p.suffix.lower() in (".jpeg",):
                    suffix = p.suffix.lower().replace(".jpeg", ".jpg")
                    out.append(bytes([_SUFFIXES.index(suffix)]) + p.read_bytes())
        return out
    raise KeyError(name)
