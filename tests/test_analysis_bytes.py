"""Mail and image metadata come from exactly the bytes that were hashed and stored, and verify re-runs DKIM.

The attack: a depositor (or a process racing the deposit) swaps the file once it has been hashed, so that a
tampered mail is sealed with the genuine mail's DKIM "pass". The metadata must describe the sealed bytes,
and a verifier must not have to take the recorded result on trust.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evidencectl.collect import analyze as analyze_module
from evidencectl.collect.analyze import analyze
from evidencectl.collect.mailauth import load_dkim_keys
from tests.conftest import ASSETS, CliResult

MAIL = ASSETS / "email"
GENUINE = MAIL / "dkimpy_gmail_dkim_2013.eml"
TAMPERED = MAIL / "gmail_dkim_tampered_subject.eml"


def _dkim(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return manifest["items"][0]["metadata"]["email"]["dkim"]  # type: ignore[no-any-return]


def test_analysis_reads_the_bytes_given_not_the_file(tmp_path: Path) -> None:
    mail = tmp_path / "mail.eml"
    mail.write_bytes(GENUINE.read_bytes())  # what is on disk now
    keys = load_dkim_keys(MAIL / "dkim_keys.zone")
    got = analyze(mail, data=TAMPERED.read_bytes(), dkim_keys=keys, offline=True)  # what was hashed
    assert got.metadata["email"]["dkim"][0]["result"] == "fail"


@pytest.mark.parametrize("pad", [0, 400 << 10], ids=["small", "over-256KiB"])
def test_mail_swapped_after_hashing_keeps_its_own_dkim_fail(
    pad: int, tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    mail = tmp_path / "mail.eml"
    deposited = TAMPERED.read_bytes() + b"x" * pad
    mail.write_bytes(deposited)
    swapped = []
    real = analyze_module.analyze

    def swap_then_analyze(*args: Any, **kw: Any) -> Any:
        mail.write_bytes(GENUINE.read_bytes())  # the file is swapped between hashing and analysis
        swapped.append(True)
        return real(*args, **kw)

    monkeypatch.setattr(analyze_module, "analyze", swap_then_analyze)
    out = tmp_path / "mail.evp"
    got = cli("deposit", mail, "-o", out, "--offline", "--dkim-keys", MAIL / "dkim_keys.zone", "--json")
    assert got.code == 0, got.err
    assert swapped, "the deposit no longer analyses through collect.analyze.analyze; move the swap"
    with zipfile.ZipFile(out) as z:
        manifest = json.loads(z.read("manifest.json"))
        stored = z.read(manifest["items"][0]["path"])
    assert stored == deposited
    assert _dkim(manifest)[0]["result"] == "fail"
    assert manifest["items"][0]["size"] == len(deposited)


def test_image_swapped_after_hashing_keeps_its_own_metadata(
    tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    shot = tmp_path / "shot.png"
    shot.write_bytes((ASSETS / "images" / "bad_png_corrupt_chunk.png").read_bytes())
    gps = (ASSETS / "images").glob("*gps*.jpg")
    other = next(iter(sorted(gps)), None) or next(iter(sorted((ASSETS / "images").glob("*.jpg"))))
    real = analyze_module.analyze

    def swap_then_analyze(*args: Any, **kw: Any) -> Any:
        shot.write_bytes(other.read_bytes())
        return real(*args, **kw)

    monkeypatch.setattr(analyze_module, "analyze", swap_then_analyze)
    out = tmp_path / "shot.evp"
    assert cli("deposit", shot, "-o", out).code == 0
    with zipfile.ZipFile(out) as z:
        item = json.loads(z.read("manifest.json"))["items"][0]
    assert item["media_type"] == "image/png" and item["metadata"]["image"].get("format") != "JPEG"


def _forge_dkim_result(src: Path, dst: Path, result: str) -> Path:
    """A package whose recorded DKIM result was rewritten (the seal is then broken too; the DKIM re-check
    names the lie by itself)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "manifest.json":
                data = data.replace(b'"result":"fail"', f'"result":"{result}"'.encode(), 1)
            zout.writestr(info, data)
    return dst


def test_verify_rechecks_dkim_from_the_stored_key_record(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    mail = tmp_path / "mail.eml"
    mail.write_bytes(GENUINE.read_bytes())
    out = tmp_path / "mail.evp"
    assert cli("deposit", mail, "-o", out, "--offline", "--dkim-keys", MAIL / "dkim_keys.zone").code == 0
    got = cli("verify", out, "--json")
    checks = {c["check"]: c for c in json.loads(got.out)["checks"]}
    assert checks["dkim:mail.eml"]["status"] == "PASSED", checks["dkim:mail.eml"]
    assert (
        "re-checked offline from the key record stored at deposit: d=gmail.com pass"
        in checks["dkim:mail.eml"]["detail"]
    )


def test_recorded_dkim_pass_the_bytes_do_not_bear_out_is_failed(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    mail = tmp_path / "mail.eml"
    mail.write_bytes(TAMPERED.read_bytes())
    out = tmp_path / "mail.evp"
    assert cli("deposit", mail, "-o", out, "--offline", "--dkim-keys", MAIL / "dkim_keys.zone").code == 0
    forged = _forge_dkim_result(out, tmp_path / "forged.evp", "pass")
    got = cli("verify", forged, "--json")
    checks = {c["check"]: c for c in json.loads(got.out)["checks"]}
    assert checks["dkim:mail.eml"]["status"] == "FAILED"
    assert "the deposit recorded pass" in checks["dkim:mail.eml"]["detail"]
    assert got.code == 1


def test_mail_without_stored_key_gets_no_recheck(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    mail = tmp_path / "mail.eml"
    mail.write_bytes((MAIL / "dkimpy_kitterman_dkim_pgpmime_2011.eml").read_bytes())
    out = tmp_path / "mail.evp"
    assert cli("deposit", mail, "-o", out, "--offline").code == 0
    got = cli("verify", out, "--json")
    assert got.code == 0, got.out
    assert not any(c["check"].startswith("dkim:") for c in json.loads(got.out)["checks"])
