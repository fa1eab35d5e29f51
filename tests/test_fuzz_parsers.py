"""Property tests over every parser of untrusted input (the fast share of fuzz/; see fuzz/README.md).

Inputs are the committed seeds mutated (bytes flipped, inserted, deleted, truncated, spliced) or plain
random bytes. The invariant is enforced by fuzz.targets: verified honestly or rejected with a typed error
of exit 1/3/4 and one line, never a traceback, never beyond the time bound.
"""

from __future__ import annotations

import json
import resource
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz import targets
from tests.conftest import CliResult

Edit = tuple[str, int, int]


def _apply(seed: bytes, edits: list[Edit]) -> bytes:
    data = bytearray(seed)
    for op, where, value in edits:
        at = where % (len(data) + 1)
        if op == "flip" and data:
            data[at % len(data)] ^= 1 << (value % 8)
        elif op == "set" and data:
            data[at % len(data)] = value
        elif op == "insert":
            data[at:at] = bytes([value]) * (1 + value % 4)
        elif op == "delete":
            del data[at : at + 1 + value % 16]
        elif op == "truncate":
            del data[at:]
        elif op == "duplicate":
            data[at:at] = data[max(0, at - 1 - value) : at]
    return bytes(data)


def inputs(name: str) -> st.SearchStrategy[bytes]:
    """Mutated seeds of target ``name``, and some plain random bytes."""
    edit = st.tuples(
        st.sampled_from(["flip", "set", "insert", "delete", "truncate", "duplicate"]),
        st.integers(0, 1 << 24),
        st.integers(0, 255),
    )
    mutated = st.builds(_apply, st.sampled_from(targets.seeds(name)), st.lists(edit, min_size=1, max_size=6))
    return st.one_of(mutated, mutated, mutated, st.binary(max_size=512))


FAST = settings(max_examples=150, deadline=None, derandomize=True, print_blob=True)
SLOWER = settings(max_examples=60, deadline=None, derandomize=True, print_blob=True)


@FAST
@given(inputs("timestamp"))
def test_fuzz_timestamp_tokens(data: bytes) -> None:
    targets.timestamp(data)


@FAST
@given(inputs("receipt"))
def test_fuzz_anchor_receipts(data: bytes) -> None:
    targets.receipt(data)


@FAST
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
        max_leaves=20,
    ),
    st.sampled_from(["ledger", "evm", None, 1]),
)
def test_fuzz_receipt_shapes(value: object, kind: object) -> None:
    """Well-formed JSON of every shape, with the seed receipt's deposit and roots so the checks go deep."""
    seed = json.loads(targets.seeds("receipt")[0])
    if isinstance(value, dict):
        value = {**seed, **value, "type": kind}
    targets.receipt(json.dumps(value).encode())


@FAST
@given(inputs("analyze"))
def test_fuzz_emails_and_images(data: bytes) -> None:
    targets.analyze(data)


@SLOWER
@given(inputs("manifest"))
def test_fuzz_manifest(data: bytes) -> None:
    targets.manifest(data)


@SLOWER
@given(inputs("package"))
def test_fuzz_package_reader(data: bytes) -> None:
    targets.package(data)


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inputs("package"))
def test_fuzz_verify_command(cli: Callable[..., CliResult], tmp_path: Path, data: bytes) -> None:
    """The whole command: exit 0/1/3/4 only, and a refusal is exactly one line on stderr."""
    path = tmp_path / "fuzzed.evp"
    path.write_bytes(data)
    res = cli("verify", "--json", path)
    assert res.code in (0, 1, 3, 4), res.err
    assert "Traceback" not in res.err and "unexpected" not in res.err, res.err
    json.loads(res.out)  # one JSON document, a report or an error
    if res.code == 4:
        assert len(res.err.strip().splitlines()) == 1, res.err
    if res.code == 0:
        # Only the seed itself may pass: a mutation that still verifies must have left every byte that
        # matters intact (e.g. it only touched the ZIP's central-directory padding).
        with zipfile.ZipFile(path) as z, zipfile.ZipFile(targets.SEED_PACKAGE) as seed:
            assert {i.filename: z.read(i) for i in z.infolist()} == {i.filename: seed.read(i) for i in seed.infolist()}


def test_seeds_are_accepted() -> None:
    """The unmutated seeds pass their targets: the harness itself does not cry wolf."""
    for name, target in targets.TARGETS.items():
        for seed in targets.seeds(name)[:3]:
            target(seed)


def test_a_crash_is_a_finding() -> None:
    """The invariant can fail: an untyped exception or a slow input is reported, not swallowed."""

    @targets.bounded
    def broken(data: bytes) -> None:
        raise KeyError("x")

    with pytest.raises(targets.Finding, match="untyped KeyError"):
        broken(b"")


def test_memory_stays_bounded() -> None:
    """After the fuzz tests above ran in this process, peak memory is far below a gigabyte."""
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 1 << 20  # KiB on Linux


@pytest.mark.parametrize("finding", sorted(p.name for p in (Path(targets.__file__).parent / "findings").glob("*.bin")))
def test_fixed_findings_stay_fixed(finding: str) -> None:
    """Every input atheris found and that was fixed is replayed (fuzz/findings/, named TARGET-what.bin)."""
    path = Path(targets.__file__).parent / "findings" / finding
    targets.TARGETS[finding.split("-")[0]](path.read_bytes())
