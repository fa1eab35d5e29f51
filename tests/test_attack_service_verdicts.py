"""Attacks that want ``POST /api/v1/verify`` to answer differently from ``evidencectl verify --json`` on the
same package with the same trust: forged items and manifests, deep JSON, junk after the ZIP, packages from a
data directory the court does not trust, hash-only deposits without their originals.

Three data directories: the depositor's (its own embedded TSA and ledger), another party's, and the court's,
which runs the service. For every package the service's document must be the CLI's, run in the court's data
directory on a file of the same name, but for the moment of verification; and a package the CLI refuses
(exit 4) must be a 422 with the CLI's message.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import rewrite_member
from service_server import ROOT, Server, run_cli, start_server


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The depositor's, the other party's and the court's data directories, and packages made in them."""
    folder = tmp_path_factory.mktemp("verdicts")
    out = {name: folder / name for name in ("depositor", "other", "court")}
    evidence = folder / "evidence"
    shutil.copytree(ROOT / "examples" / "evidence", evidence)
    for name, args in (
        ("depositor", []),
        ("court", []),
        ("other", []),
        ("depositor-hash-only", ["--hash-only"]),
    ):
        home = out[name.split("-")[0]]
        done = run_cli(home, "deposit", evidence, "-o", folder / f"{name}.evp", "--case", "（2026）民初1号", *args)
        assert done.returncode == 0, done.stderr
    # The court trusts the depositor's TSA root (it was handed over with the evidence), not the other party's.
    root = next((out["depositor"] / "tsa").rglob("*root*.pem"), None) or next(out["depositor"].rglob("*.pem"))
    done = run_cli(out["court"], "trust", "add", root, "--as", "tsa")
    assert done.returncode == 0, done.stderr
    out["folder"] = folder
    return out


@pytest.fixture(scope="module")
def court(homes: dict[str, Path]) -> Iterator[Server]:
    srv = start_server(homes["court"], "--verify-rate", "0", "--max-upload", "64", "--resume-interval", "0")
    yield srv
    srv.stop()


def _first_item(package: Path) -> str:
    with zipfile.ZipFile(package) as z:
        return next((n for n in z.namelist() if n.startswith("evidence/")), "")


def _deep(_: bytes) -> bytes:
    return b"[" * 200_000 + b"]" * 200_000


def _forge(kind: str, src: Path, dst: Path) -> Path:
    edits: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
        "item-altered": (_first_item(src), lambda b: b + b"!"),
        "manifest-deep-json": ("manifest.json", _deep),
        "manifest-not-json": ("manifest.json", lambda b: b"{not json"),
        "manifest-huge-number": ("manifest.json", lambda b: b.replace(b'"items"', b'"x": 1e999999, "items"', 1)),
        "manifest-duplicate-key": ("manifest.json", lambda b: b.replace(b"{", b'{"version": 99, ', 1)),
        "timestamp-truncated": ("proofs/timestamps/local.sha256.tsr", lambda b: b[: len(b) // 2]),
        "anchor-garbage": ("proofs/anchors/local.json", lambda b: b'{"kind": "evm", "tx": "0x00"}'),
    }
    if kind in edits:
        name, change = edits[kind]
        return rewrite_member(src, dst, name, change)
    if kind == "junk-after-zip":
        dst.write_bytes(src.read_bytes() + b"junk" * 100)
        return dst
    if kind == "extra-member":
        shutil.copy(src, dst)
        with zipfile.ZipFile(dst, "a") as z:
            z.writestr("evidence/smuggled.txt", b"not in the manifest\n")
        return dst
    shutil.copy(src, dst)
    return dst


def _cli(court: Path, package: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    folder.mkdir()
    shutil.copy(package, folder / "upload.evp")
    return run_cli(court, "verify", "upload.evp", "--json", cwd=folder)


def _comparable(doc: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in doc.items() if k != "verified_at"}
    out["trust_anchors"] = [{**a, "source": Path(a["source"]).name} for a in doc.get("trust_anchors", [])]
    return out


KINDS = [
    "genuine",
    "item-altered",
    "manifest-deep-json",
    "manifest-not-json",
    "manifest-huge-number",
    "manifest-duplicate-key",
    "timestamp-truncated",
    "anchor-garbage",
    "junk-after-zip",
    "extra-member",
]


CASES = [(o, k) for o in ("court", "depositor", "other") for k in KINDS] + [
    ("depositor-hash-only", k) for k in ("genuine", "extra-member", "manifest-duplicate-key")
]


@pytest.mark.parametrize(("origin", "kind"), CASES, ids=[f"{o}-{k}" for o, k in CASES])
def test_the_service_answers_exactly_what_the_cli_answers(
    court: Server, homes: dict[str, Path], tmp_path: Path, origin: str, kind: str
) -> None:
    package = _forge(kind, homes["folder"] / f"{origin}.evp", tmp_path / "forged.evp")
    answer = requests.post(
        f"{court.url}/api/v1/verify",
        data=package.read_bytes(),
        headers={"Content-Type": "application/vnd.evidencectl.package+zip"},
        timeout=120,
    )
    cli = _cli(homes["court"], package, tmp_path / "cli")
    assert answer.status_code in (200, 422), answer.text[:500]
    assert str(homes["court"]) not in answer.text
    if cli.returncode == 4 and "error" in json.loads(cli.stdout):
        # The CLI refuses the file: the service refuses it with the same words.
        assert answer.status_code == 422, (answer.text[:500], cli.stdout)
        said = json.loads(cli.stdout)["error"].removeprefix("upload.evp: ")
        assert answer.json()["detail"].removeprefix("upload.evp: ") == said
        return
    assert answer.status_code == 200, (answer.text[:500], cli.stdout[-500:])
    api, local = answer.json(), json.loads(cli.stdout)
    assert api["verdict"] == local["verdict"]
    assert _comparable(api) == _comparable(local)
    if kind in ("item-altered", "extra-member") or kind.startswith("manifest"):
        assert api["verdict"] != "PASSED"
