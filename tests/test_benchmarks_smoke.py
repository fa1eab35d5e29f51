"""``python -m benchmarks --quick`` runs end to end and prints every figure; service-call counts are exact.

Timings are printed, never asserted: they depend on the machine. The numbers of TSA requests and anchor
transactions are not timings: whatever the item count, a deposit makes one TSA request per algorithm and
one anchor transaction.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

RATIO_KEYS = (
    "startup-seconds",
    "small-files-1",
    "small-files-2",
    "tiny-files-linearity",
    "tiny-files-rss-mb",
    "verify-vs-deposit",
    "verify-rss-mb",
    "hash-only",
    "verify-data",
    "stored",
    "report-vs-verify",
    "report-rss-mb",
    "api-deposit-vs-cli-sqlite",
    "api-deposit-vs-cli-postgres",
)
REPORT_KEYS = ("ledger-deposits-per-second", "anvil-anchor-latency", "service-sqlite", "service-postgres")


@pytest.fixture(scope="module")
def quick_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Output of one quick benchmark session (data in a temporary folder of this test run)."""
    work = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--dir", str(work)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Exit 1 only means a target was missed on this machine; anything else is a crash.
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return proc.stdout


def test_every_ratio_is_printed(quick_output: str) -> None:
    for key in RATIO_KEYS:
        m = re.search(
            rf"^RATIO {re.escape(key)}: (\d+\.\d+) \(target (<=|<) [\d.]+\) .+ \[(ok|MISSED)\]$", quick_output, re.M
        )
        assert m, f"no RATIO line for {key} in:\n{quick_output}"
        assert float(m.group(1)) > 0


def test_reports_and_machine_description_are_printed(quick_output: str) -> None:
    for key in REPORT_KEYS:
        assert re.search(rf"^REPORT {re.escape(key)}: \S", quick_output, re.M), key
    for field in ("nproc", "cpu", "disk (data folder)", "python", "openssl cli"):
        assert re.search(rf"^# {re.escape(field)}: \S", quick_output, re.M), field
    assert "failed:" not in quick_output


@pytest.mark.parametrize("n", [1, 2])
def test_one_tsa_request_per_algorithm_and_one_anchor_whatever_the_item_count(quick_output: str, n: int) -> None:
    tsa = re.search(rf"^COUNT tsa-requests-{n}: (\d+) \(expected 2\) for (\d+) items", quick_output, re.M)
    anchors = re.search(rf"^COUNT anchor-transactions-{n}: (\d+) \(expected 1\) for (\d+) items", quick_output, re.M)
    assert tsa and anchors, quick_output
    assert int(tsa.group(2)) >= 300
    assert int(tsa.group(1)) == 2
    assert int(anchors.group(1)) == 1


def test_help_loads_none_of_the_heavy_modules(quick_output: str) -> None:
    assert re.search(r"^RATIO startup-seconds: .+ heavy modules loaded: none \[", quick_output, re.M), quick_output


def test_verify_against_deposit_gives_the_cpu_time_ratio_too(quick_output: str) -> None:
    # Wall times on a shared machine move with the load; CPU time (user + system, workers included) less.
    assert re.search(
        r"^RATIO verify-vs-deposit: .+; CPU time verify/deposit \d+\.\d+ \(\d+\.\d+ s / \d+\.\d+ s user\+system\)",
        quick_output,
        re.M,
    ), quick_output
