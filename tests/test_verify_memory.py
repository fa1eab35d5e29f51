"""A large package is verified streamed (evidencectl/verify/stream.py) with compact passed checks: the same
output, byte for byte, as the plain path that parses the manifest whole, and the same refusals.

The package has 5,000 items (the streamed path starts at 2,048); the plain path is forced by raising
``stream.MIN_ITEMS`` above that.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from evidencectl.package.canonical import canonical_json
from evidencectl.verify import stream
from tests.conftest import CliResult
from tests.zipattacks import _manifest_edit

ITEMS = 5000


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(data directory of the depositor, package of 5,000 files of 1 KiB), deposited by the command line."""
    work = tmp_path_factory.mktemp("large")
    folder = work / "tiny"
    pool = os.urandom(1024 + ITEMS)
    for i in range(ITEMS):
        sub = folder / f"d{i // 1000}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:05d}.bin").write_bytes(pool[i : i + 1024])
    home, package = work / "home", work / "tiny.evp"
    env = {**os.environ, "EVIDENCECTL_HOME": str(home)}
    subprocess.run(
        [sys.executable, "-m", "evidencectl", "deposit", str(folder), "-o", str(package)],
        env=env,
        check=True,
        capture_output=True,
    )
    return home, package


def _both(
    cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch, *args: str | Path
) -> tuple[CliResult, CliResult]:
    """The command run on the streamed path, then on the plain path; the verification time blanked out."""
    from evidencectl.verify.compact import PassedDigest

    taken: list[int] = []
    real = PassedDigest.__init__

    def counted(self: PassedDigest, *a: object) -> None:
        taken.append(1)
        real(self, *a)  # type: ignore[arg-type]

    monkeypatch.setattr(PassedDigest, "__init__", counted)
    streamed = cli(*args)
    compact_checks = len(taken)
    monkeypatch.setattr(stream, "MIN_ITEMS", 10**9)
    taken.clear()
    plain = cli(*args)
    assert not taken
    blank = lambda r: CliResult(r.code, re.sub(r'"verified_at": "[^"]*"', "", r.out), r.err)  # noqa: E731
    return blank(streamed), blank(plain), compact_checks  # type: ignore[return-value]


@pytest.mark.parametrize("form", [["--json"], [], ["--full"]], ids=["json", "summary", "full"])
def test_compact_checks_print_what_the_plain_path_prints(
    large: tuple[Path, Path], cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch, form: list[str]
) -> None:
    home, package = large
    monkeypatch.setenv("EVIDENCECTL_HOME", str(home))
    streamed, plain, compact_checks = _both(cli, monkeypatch, "verify", package, *form)  # type: ignore[misc]
    assert compact_checks == ITEMS  # the streamed path did run, every item a compact check
    assert streamed.code == plain.code == 0
    assert streamed.out == plain.out
    assert len(plain.out) > ITEMS * 100 or not form


def test_a_tampered_original_in_a_large_package_is_named(
    large: tuple[Path, Path], cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from evidencectl.package.reader import PackageReader

    home, genuine = large
    monkeypatch.setenv("EVIDENCECTL_HOME", str(home))
    forged = tmp_path / "forged.evp"
    data = bytearray(genuine.read_bytes())
    victim = "evidence/tiny/d3/f03210.bin"
    with PackageReader(genuine) as reader:
        data[reader.infos[victim].data_offset + 7] ^= 0xFF  # one byte of one original, inside the package
    forged.write_bytes(data)
    streamed, plain, compact_checks = _both(cli, monkeypatch, "verify", forged, "--json")  # type: ignore[misc]
    assert compact_checks == ITEMS - 1
    assert streamed.code == plain.code == 1
    assert streamed.out == plain.out
    text = cli("verify", forged)
    assert text.code == 1
    assert re.search(
        rf"^FAILED +digest:tiny/d3/f03210.bin: package member {victim} differs from the deposit \(sm3, sha256\) "
        r"\(the ZIP CRC disagrees too",
        text.out,
        re.M,
    ), text.out


def _record_edit(change: Callable[[bytes], bytes]) -> Callable[[dict[str, object]], bytes]:
    """An edit of manifest.json's bytes: record 3,000 (in the second block of leaves) changed by ``change``."""

    def edit(manifest: dict[str, object]) -> bytes:
        items = manifest["items"]
        assert isinstance(items, list)
        record = canonical_json(items[3000])
        raw = canonical_json(manifest)
        assert raw.count(record) == 1
        return raw.replace(record, change(record))

    return edit


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda r: r.replace(b'"kind":"file"', b'"kind": "file"'), "not in canonical form"),
        (lambda r: r.replace(b'"id":', b'"kind":"file","id":', 1), "duplicate key 'kind'"),
        (lambda r: r.replace(b'"size":1024}', b'"size":1024.0}'), "floating-point number 1024.0"),
        (lambda r: r.replace(b'"kind":"file"', b'"kind":"\\u0066ile"'), "not in canonical form"),
        (lambda r: r.replace(b'"kind":"file",', b"").replace(b'"metadata"', b'"kind":"file","metadata"'), "canonical"),
    ],
    ids=["whitespace", "duplicate-key", "float", "escaped-letter", "keys-out-of-order"],
)
def test_a_large_manifest_out_of_canonical_form_is_refused_as_before(
    large: tuple[Path, Path],
    cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    change: Callable[[bytes], bytes],
    words: str,
) -> None:
    home, genuine = large
    monkeypatch.setenv("EVIDENCECTL_HOME", str(home))
    forged = tmp_path / "forged.evp"
    forged.write_bytes(_manifest_edit(genuine, _record_edit(change)))
    streamed, plain, _ = _both(cli, monkeypatch, "verify", forged)  # type: ignore[misc]
    assert streamed.code == plain.code == 4
    assert streamed.err == plain.err
    assert words in plain.err and str(forged) in plain.err, plain.err
    assert "manifest.json" in plain.err


def test_a_record_holding_the_bytes_between_records_is_judged_as_by_the_plain_path(
    large: tuple[Path, Path], cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Metadata that holds ``},{"digests":`` (canonical, and no start of a record) cuts the records wrong: the
    streamed path must notice and leave the judgement (here: a record altered after sealing) to the plain one."""
    home, genuine = large
    monkeypatch.setenv("EVIDENCECTL_HOME", str(home))
    forged = tmp_path / "forged.evp"
    inner = b'"metadata":{"a":[{},{"digests":1}],'
    forged.write_bytes(_manifest_edit(genuine, _record_edit(lambda r: r.replace(b'"metadata":{', inner))))
    streamed, plain, compact_checks = _both(cli, monkeypatch, "verify", forged, "--json")  # type: ignore[misc]
    assert compact_checks == 0
    assert streamed.code == plain.code == 1
    assert streamed.out == plain.out
    assert '"check": "inclusion:tree",\n      "status": "FAILED"' in plain.out
