"""The workloads: each runs evidencectl and a reference tool on the same data and reports one line each.

Line formats (the smoke test relies on them):
``RATIO <key>: <value> (target <op> <limit>) <details> [ok|MISSED]``,
``COUNT <key>: <value> (expected <n>) <details> [ok|MISSED]`` and ``REPORT <key>: <text>``.
"""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from . import data
from .harness import ROOT, Comparison, Run, alternate, env_for, evidencectl, run, shell

MiB = 1 << 20


@dataclass(frozen=True)
class Sizes:
    """How big each workload is; ``--quick`` shrinks every one."""

    big: int
    """Bytes of the hash-only / verify --data file."""
    stored: int
    """Bytes of the file deposited with its original stored."""
    small: tuple[int, int]
    """Counts of 4 KiB files."""
    tiny: tuple[int, int]
    """Counts of 1 KiB files: the linearity baseline and the large case."""
    repeats: int
    """Alternating runs per comparison."""
    startup_repeats: int
    """Runs of ``--help``."""
    ledger_each: int
    """Deposits per process in the concurrent ledger workload."""
    small_repeats: int
    """Alternating runs of the small-files comparisons (about a second each: more runs, steadier medians)."""
    report_items: int = 20_000
    """Items of the package whose certificate is written (``report`` against ``verify``)."""
    service: tuple[int, int, int] = (200, 8, 2)
    """Deposits (and verifications) through the API, concurrent clients, server worker processes."""


FULL = Sizes(2048 * MiB, 1024 * MiB, (10_000, 20_000), (10_000, 200_000), 3, 10, 10, 7)
QUICK = Sizes(48 * MiB, 32 * MiB, (300, 600), (500, 2_000), 2, 3, 1, 2, report_items=400, service=(6, 2, 1))


@dataclass
class Line:
    """One result line."""

    kind: str
    """RATIO, COUNT or REPORT."""
    key: str
    """Stable name of the figure."""
    text: str
    """The printed line."""
    ok: bool = True
    """Whether the target was met (always True for REPORT)."""


Emit = Callable[[Line], None]


def ratio_line(key: str, value: float, op: str, limit: float, details: str) -> Line:
    """A RATIO line; ``op`` is ``<=`` or ``<``."""
    ok = value <= limit if op == "<=" else value < limit
    tag = "ok" if ok else "MISSED"
    return Line("RATIO", key, f"RATIO {key}: {value:.3f} (target {op} {limit}) {details} [{tag}]", ok)


def count_line(key: str, value: int, expected: int, details: str) -> Line:
    """A COUNT line (a number of service calls, not a timing)."""
    tag = "ok" if value == expected else "MISSED"
    return Line("COUNT", key, f"COUNT {key}: {value} (expected {expected}) {details} [{tag}]", value == expected)


def _fmt(comp: Comparison, ours: str, ref: str) -> str:
    return f"{ours} {comp.ours_median:.3f} s, {ref} {comp.reference_median:.3f} s (medians of {len(comp.ours)})"


def service_counts(home: Path) -> tuple[int, int]:
    """(TSA responses issued, ledger anchor entries) so far in a data directory."""
    counts = []
    for db, sql in (
        (home / "tsa" / "serials.sqlite", "SELECT COUNT(*) FROM serials"),
        (home / "ledger" / "ledger.sqlite", "SELECT COUNT(*) FROM entries"),
    ):
        if not db.exists():
            counts.append(0)
            continue
        conn = sqlite3.connect(db)
        try:
            counts.append(int(conn.execute(sql).fetchone()[0]))
        finally:
            conn.close()
    return counts[0], counts[1]


class Session:
    """One benchmark session: a temporary folder for data, packages and data directories."""

    def __init__(self, work: Path, sizes: Sizes, emit: Emit) -> None:
        self.work = work
        self.sizes = sizes
        self.emit = emit
        self.home = work / "home"
        self.env = env_for(self.home)
        self.last_counts = (0, 0)
        """TSA responses and anchor entries made by the last deposit run with ``check_counts``."""
        seed = work / "seed.txt"
        seed.write_text("first deposit creates the TSA and ledger keys; it is not timed\n")
        run(evidencectl("deposit", seed, "--hash-only", "-o", work / "seed.evp"), self.env)

    def deposit(self, inputs: list[Path], out: Path, *extra: str, check_counts: bool = False) -> Run:
        """One timed deposit; with ``check_counts`` it reports the TSA and anchor calls it made."""
        out.unlink(missing_ok=True)
        before = service_counts(self.home)
        result = run(evidencectl("deposit", *inputs, "-o", out, *extra), self.env)
        after = service_counts(self.home)
        if check_counts:
            self.last_counts = (after[0] - before[0], after[1] - before[1])
        return result

    def openssl_sm3(self, path: Path) -> Run:
        """The reference for one large file."""
        return run(["openssl", "dgst", "-sm3", str(path)], self.env)

    # -- workloads --------------------------------------------------------------------------------------

    def big(self) -> None:
        """One large file: deposit --hash-only and verify --data against openssl dgst -sm3."""
        path = data.big_file(self.work / "big.bin", self.sizes.big)
        out = self.work / "big.evp"
        repeats = self.sizes.repeats
        comp = alternate(lambda: self.deposit([path], out, "--hash-only"), lambda: self.openssl_sm3(path), repeats)
        mb = self.sizes.big // MiB
        self.emit(
            ratio_line("hash-only", comp.ratio, "<=", 1.15, _fmt(comp, f"deposit --hash-only {mb} MiB", "openssl"))
        )
        comp = alternate(
            lambda: run(evidencectl("verify", out, "--data", path), self.env), lambda: self.openssl_sm3(path), repeats
        )
        self.emit(ratio_line("verify-data", comp.ratio, "<=", 1.15, _fmt(comp, f"verify --data {mb} MiB", "openssl")))
        path.unlink()

    def stored(self) -> None:
        """One large file deposited with its original inside the package."""
        path = data.big_file(self.work / "stored.bin", self.sizes.stored)
        out = self.work / "stored.evp"
        comp = alternate(
            lambda: self.deposit([path], out),
            lambda: self.openssl_sm3(path),
            self.sizes.repeats,
            between=lambda: out.unlink(missing_ok=True),
        )
        mb = self.sizes.stored // MiB
        self.emit(ratio_line("stored", comp.ratio, "<=", 1.25, _fmt(comp, f"deposit {mb} MiB", "openssl")))
        path.unlink()

    def small(self) -> None:
        """Many 4 KiB files against sha256sum + openssl dgst -sm3 through xargs; TSA and anchor calls."""
        for n, count in enumerate(self.sizes.small, start=1):
            self._small(n, count)

    def _small(self, n: int, count: int) -> None:
        folder = data.many_files(self.work / f"small-{count}", count, 4096)
        listing = data.nul_list(folder, self.work / f"small-{count}.list")
        out = self.work / f"small-{count}.evp"
        ref = shell(
            f"xargs -0 sha256sum < '{listing}' > /dev/null && xargs -0 openssl dgst -sm3 < '{listing}' > /dev/null"
        )
        comp = alternate(
            lambda: self.deposit([folder], out, check_counts=True),
            lambda: run(ref, self.env),
            self.sizes.small_repeats,
            between=lambda: out.unlink(missing_ok=True),
        )
        details = _fmt(comp, f"deposit {count} x 4 KiB", "sha256sum+openssl via xargs")
        self.emit(ratio_line(f"small-files-{n}", comp.ratio, "<=", 2.0, details))
        tsa, anchors = self.last_counts
        self.emit(count_line(f"tsa-requests-{n}", tsa, 2, f"for {count} items (1 TSA x sm3, sha256)"))
        self.emit(count_line(f"anchor-transactions-{n}", anchors, 1, f"for {count} items (1 anchor target)"))

    def tiny(self) -> None:
        """Many 1 KiB files: peak RSS, per-file time growth, and verify time against deposit time."""
        base, large = self.sizes.tiny
        per_file: dict[int, float] = {}
        runs: dict[int, Run] = {}
        for count in (base, large):
            folder = data.many_files(self.work / f"tiny-{count}", count, 1024)
            out = self.work / f"tiny-{count}.evp"
            runs[count] = self.deposit([folder], out)
            per_file[count] = runs[count].seconds / count
        growth = per_file[large] / per_file[base]
        self.emit(
            ratio_line(
                "tiny-files-linearity",
                growth,
                "<=",
                1.2,
                f"per-file time {large} files {per_file[large] * 1e6:.0f} us vs {base} files "
                f"{per_file[base] * 1e6:.0f} us (total {runs[large].seconds:.1f} s)",
            )
        )
        rss = runs[large].max_rss_mb
        self.emit(ratio_line("tiny-files-rss-mb", rss, "<", 400, f"peak RSS of deposit of {large} x 1 KiB"))
        out = self.work / f"tiny-{large}.evp"
        data.settle()  # as before the deposit: nothing left for the kernel to write back during the run
        verify = run(evidencectl("verify", out), self.env, check=False)
        ratio = verify.seconds / runs[large].seconds
        cpu = verify.cpu_seconds / runs[large].cpu_seconds
        line = ratio_line(
            "verify-vs-deposit",
            ratio,
            "<=",
            1.1,
            f"verify {verify.seconds:.2f} s (exit {verify.code}, peak RSS {verify.max_rss_mb:.0f} MB) / deposit "
            f"{runs[large].seconds:.2f} s, {large} items; CPU time verify/deposit {cpu:.3f} "
            f"({verify.cpu_seconds:.2f} s / {runs[large].cpu_seconds:.2f} s user+system)",
        )
        if verify.code != 0:
            # A verification that fails quickly is no speed record.
            problem = verify.stderr.strip().splitlines()[-1:] or ["no message"]
            line = Line(
                line.kind, line.key, line.text.replace("[ok]", "[MISSED]") + f" error: {problem[0][:200]}", False
            )
        self.emit(line)
        self.emit(
            ratio_line(
                "verify-rss-mb",
                verify.max_rss_mb,
                "<",
                400,
                f"peak RSS of verify of {large} x 1 KiB (its worker processes included)",
            )
        )

    def report(self) -> None:
        """``report`` (verify, then write the certificate) against ``verify`` of the same package."""
        count = self.sizes.report_items
        folder = data.many_files(self.work / f"report-{count}", count, 1024)
        package = self.work / f"report-{count}.evp"
        self.deposit([folder], package)
        pdf = self.work / f"report-{count}.pdf"
        comp = alternate(
            lambda: run(evidencectl("report", package, "-o", pdf), self.env),
            lambda: run(evidencectl("verify", package), self.env),
            self.sizes.repeats,
        )
        details = _fmt(comp, f"report {count} items", "verify")
        self.emit(ratio_line("report-vs-verify", comp.ratio, "<=", 3.0, details))
        rss = max(r.max_rss_mb for r in comp.ours)
        verify_rss = max(r.max_rss_mb for r in comp.reference)
        details = f"peak RSS of report of {count} items (verify {verify_rss:.0f} MB), {pdf.stat().st_size // 1024} KiB"
        self.emit(ratio_line("report-rss-mb", rss, "<", 300, details))

    def service(self) -> None:
        """Deposits and verifications through the HTTP API, on SQLite and PostgreSQL, against CLI deposits."""
        from .service import service_lines

        for key, value, details in service_lines(self.work, *self.sizes.service):
            if isinstance(value, str):
                self.emit(Line("REPORT", key, f"REPORT {key}: {value}"))
            else:
                self.emit(ratio_line(key, value, "<=", 1.5, details))

    def startup(self) -> None:
        """``evidencectl --help`` wall time, and which heavy modules it loaded."""
        times = [run(evidencectl("--help"), self.env).seconds for _ in range(self.sizes.startup_repeats)]
        probe = (  # the command's own function: the console script leaves without running atexit handlers
            "import sys\n"
            "from evidencectl.cli.main import main\n"
            "main(['--help'])\n"
            "heavy = ('web3', 'reportlab', 'PIL', 'dkim')\n"
            "sys.stderr.write('LOADED ' + ','.join(m for m in heavy if m in sys.modules))\n"
        )
        proc = subprocess.run(["python3", "-c", probe], env=self.env, capture_output=True, text=True, check=False)
        loaded = proc.stderr.rsplit("LOADED ", 1)[-1].strip() if "LOADED " in proc.stderr else "?"
        value = median(times)
        self.emit(
            ratio_line(
                "startup-seconds",
                value,
                "<",
                0.3,
                f"median of {len(times)} runs of --help; heavy modules loaded: {loaded or 'none'}",
            )
        )

    def ledger(self) -> None:
        """Deposits per second into one embedded ledger from 4 processes at once (library calls in a loop)."""
        script = (
            "import sys, time\n"
            "from pathlib import Path\n"
            "from evidencectl.deposit import DepositOptions, deposit\n"
            "src, folder, n = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])\n"
            "for i in range(n):\n"
            "    deposit(DepositOptions([str(src)], folder / f'{i}.evp', hash_only=True), "
            "Path(__import__('os').environ['EVIDENCECTL_HOME']))\n"
        )
        src = self.work / "ledger-input.txt"
        src.write_text("one line of evidence\n")
        procs = []
        each = self.sizes.ledger_each
        start = time.perf_counter()
        for p in range(4):
            folder = self.work / f"ledger-{p}"
            folder.mkdir(exist_ok=True)
            procs.append(subprocess.Popen(["python3", "-c", script, str(src), str(folder), str(each)], env=self.env))
        codes = [proc.wait() for proc in procs]
        seconds = time.perf_counter() - start
        rate = 4 * each / seconds
        status = "" if codes == [0] * 4 else f" (exit codes {codes})"
        self.emit(
            Line(
                "REPORT",
                "ledger-deposits-per-second",
                f"REPORT ledger-deposits-per-second: {rate:.1f} "
                f"({4 * each} deposits from 4 processes in {seconds:.2f} s, interpreter start included){status}",
            )
        )
        self.anvil()

    def anvil(self) -> None:
        """Latency of an EVM anchor on a local Anvil node, when the npm package is installed."""
        binary = ROOT / "node_modules" / ".bin" / "anvil"
        key = "REPORT anvil-anchor-latency"
        if not binary.exists():
            self.emit(Line("REPORT", "anvil-anchor-latency", f"{key}: skipped (node_modules/.bin/anvil is absent)"))
            return
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        node = subprocess.Popen(
            [str(binary), "--host", "127.0.0.1", "--port", str(port), "--silent"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            env = dict(self.env)
            # Anvil's first development account (public test mnemonic); it has ether only on a fresh node.
            env["EVIDENCECTL_EVM_KEY"] = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
            deadline = time.monotonic() + 15
            while True:
                try:
                    run(evidencectl("chain", "deploy", "--rpc", url, "--json"), env)
                    break
                except RuntimeError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            src = self.work / "ledger-input.txt"
            out = self.work / "anvil.evp"

            def dep(anchor: str) -> Run:
                out.unlink(missing_ok=True)
                return run(evidencectl("deposit", src, "--hash-only", "--anchor", anchor, "-o", out), env)

            comp = alternate(lambda: dep(f"evm:{url}"), lambda: dep("local"), self.sizes.repeats)
            extra = comp.ours_median - comp.reference_median
            self.emit(
                Line(
                    "REPORT",
                    "anvil-anchor-latency",
                    f"{key}: {extra * 1000:.0f} ms added per deposit "
                    f"(evm anchor {comp.ours_median:.3f} s vs local ledger {comp.reference_median:.3f} s)",
                )
            )
        except RuntimeError as exc:
            self.emit(Line("REPORT", "anvil-anchor-latency", f"{key}: failed: {str(exc)[:300]}"))
        finally:
            node.terminate()
            node.wait(timeout=10)
