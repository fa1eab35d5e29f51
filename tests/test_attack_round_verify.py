"""Attacks on verify by the other party, who wants a genuine package reported FAILED, and checks that what
is PASSED is what standard tools compute (``sha256sum``, ``openssl dgst -sm3``)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ASSETS, CliResult

MAIL = ASSETS / "email" / "arc_signed_relay.eml"


def _checks(res: CliResult) -> dict[str, dict]:
    return {c["check"]: c for c in json.loads(res.out)["checks"]}


@pytest.fixture
def hash_only_mail(cli: Callable[..., CliResult], tmp_path: Path) -> tuple[Path, Path]:
    """A genuine ``--hash-only`` deposit of a real mail (whose body is a derived part)."""
    (tmp_path / "a").mkdir()
    mail = tmp_path / "a" / "x.eml"
    shutil.copy(MAIL, mail)
    out = tmp_path / "q.evp"
    assert cli("deposit", mail, "-o", out, "--tsa", "local", "--hash-only").code == 0
    return out, mail


def test_hash_only_mail_with_its_original_given_checks_its_parts_too(
    cli: Callable[..., CliResult], hash_only_mail: tuple[Path, Path]
) -> None:
    """The mail itself was given with --data, yet its body part was INDETERMINATE ("not given") for ever: a
    genuine hash-only mail could never pass. The part is now derived again from the given original and its
    digests compared; the item's SHA-256 is also what sha256sum gives of the original."""
    out, mail = hash_only_mail
    res = cli("verify", out, "--data", mail, "--json")
    assert res.code == 0, res.out
    checks = _checks(res)
    assert checks["digest:x.eml/body-1.txt"]["status"] == "PASSED"
    assert "part derived from" in checks["digest:x.eml/body-1.txt"]["detail"]
    sha = subprocess.run(["sha256sum", mail], capture_output=True, text=True, check=True).stdout.split()[0]
    assert checks["digest:x.eml"]["facts"]["sha256"] == sha


def test_data_file_bearing_a_parts_name_cannot_fail_a_genuine_hash_only_package(
    cli: Callable[..., CliResult], hash_only_mail: tuple[Path, Path], tmp_path: Path
) -> None:
    """The other party hands the court, besides the mail, a folder ``x.eml/`` holding a forged
    ``body-1.txt``: matched by name to the mail's body part, it made the genuine package FAILED ("differs
    from the deposit"). A part is found only by being derived again from its mail: PASSED, and the stray
    folder is what it is, files that are no item (INDETERMINATE), never FAILED."""
    out, mail = hash_only_mail
    forged = tmp_path / "b" / "x.eml"
    forged.mkdir(parents=True)
    (forged / "body-1.txt").write_text("the buyer waived every claim\n")
    res = cli("verify", out, "--data", mail, "--data", forged, "--json")
    checks = _checks(res)
    assert checks["digest:x.eml/body-1.txt"]["status"] == "PASSED"
    assert not [c for c in checks.values() if c["status"] == "FAILED"]
    assert checks[f"data:{forged}/"]["status"] == "INDETERMINATE"
    assert res.code == 3


def test_altered_mail_given_as_data_still_fails_and_its_parts_are_not_passed(
    cli: Callable[..., CliResult], hash_only_mail: tuple[Path, Path], tmp_path: Path
) -> None:
    """Regression guard: an altered original is FAILED; its parts are not PASSED from it."""
    out, mail = hash_only_mail
    altered = tmp_path / "c" / "x.eml"
    altered.parent.mkdir()
    altered.write_bytes(mail.read_bytes().replace(b"forwarded by a list", b"forwarded by a liar"))
    assert hashlib.sha256(altered.read_bytes()).hexdigest() != hashlib.sha256(mail.read_bytes()).hexdigest()
    res = cli("verify", out, "--data", altered, "--json")
    checks = _checks(res)
    assert res.code == 1 and checks["digest:x.eml"]["status"] == "FAILED"
    assert checks["digest:x.eml/body-1.txt"]["status"] != "PASSED"


def test_disclosure_of_a_signed_package_is_not_reported_as_a_removed_signature(
    cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lawyer signs a deposit and discloses one item with ``extract``, as the user guide says: the
    disclosure (a new manifest.json, so without the signature over the full one) was FAILED "the signature
    was removed", on every installation, for ever. It is INDETERMINATE (the signature is checked on the full
    package); stripping manifest.sig from the full package is still FAILED."""
    import zipfile

    monkeypatch.setenv("PW", "correct horse battery")
    keygen = cli("keys", "generate", "--name", "Li", "--algorithm", "ecdsa-p256", "--passphrase-env", "PW")
    assert keygen.code == 0
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(f"exhibit {name}\n")
    full = tmp_path / "p.evp"
    signing = ("--sign", "--passphrase-env", "PW", "--tsa", "local")
    assert cli("deposit", tmp_path / "a.txt", tmp_path / "b.txt", "-o", full, *signing).code == 0
    assert cli("verify", full).code == 0
    one = tmp_path / "one.evp"
    assert cli("extract", full, "--item", "a.txt", "-o", one).code == 0
    res = cli("verify", one, "--json")
    signature = _checks(res)["signature:manifest"]
    assert signature["status"] == "INDETERMINATE" and signature["reason"] == "NOT_CHECKED"
    assert res.code == 3 and json.loads(res.out)["verdict"] == "INDETERMINATE"
    stripped = tmp_path / "stripped.evp"
    with zipfile.ZipFile(full) as zin, zipfile.ZipFile(stripped, "w") as zout:
        for info in zin.infolist():
            if info.filename != "manifest.sig":
                zout.writestr(info, zin.read(info))
    res = cli("verify", stripped, "--json")
    assert res.code == 1 and _checks(res)["signature:manifest"]["status"] == "FAILED"
