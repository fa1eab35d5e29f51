"""``python -m fuzz TARGET --runs N``: coverage-guided fuzzing of one parser with atheris (libFuzzer).

Seeds come from tests/assets; a finding (see fuzz.targets.Finding) stops the run with libFuzzer's crash
report and the input saved in ``--artifacts``; libFuzzer prints its statistics (runs, peak RSS) at the end.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and fuzz one target for a fixed number of iterations."""
    import fuzz.targets
    from fuzz.targets import TARGETS, seeds

    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=sorted(TARGETS) + ["all"])
    parser.add_argument("--runs", type=int, default=10_000, help="iterations per target (default 10,000)")
    parser.add_argument(
        "--timeout", type=int, default=30, help="seconds one input may take, instrumented (libFuzzer -timeout)"
    )
    parser.add_argument("--rss-limit-mb", type=int, default=2048, help="memory bound (libFuzzer -rss_limit_mb)")
    parser.add_argument("--max-len", type=int, default=65536, help="largest input tried")
    parser.add_argument(
        "--artifacts",
        type=Path,
        default=Path(tempfile.gettempdir()) / "evidencectl-fuzz-artifacts",
        help="where crashes go",
    )
    args = parser.parse_args(argv)
    names = sorted(TARGETS) if args.target == "all" else [args.target]
    if len(names) > 1:
        # libFuzzer owns the process: run each target in its own interpreter.
        import subprocess

        codes = [
            subprocess.call([sys.executable, "-m", "fuzz", name, *_passthrough(argv or sys.argv[1:])]) for name in names
        ]
        return max(codes)
    import atheris  # type: ignore[import-untyped]

    name = names[0]
    corpus = Path(tempfile.mkdtemp(prefix=f"evidencectl-fuzz-{name}-"))
    for i, seed in enumerate(seeds(name)):
        (corpus / f"seed-{i:03d}").write_bytes(seed)
    args.artifacts.mkdir(parents=True, exist_ok=True)
    # Instrumentation slows Python code several times over: the per-input bound follows --timeout here.
    fuzz.targets.TIME_BOUND_S = float(args.timeout)
    target = TARGETS[name]
    started = time.monotonic()
    libfuzzer = [
        sys.argv[0],
        f"-runs={args.runs}",
        f"-timeout={args.timeout}",
        f"-rss_limit_mb={args.rss_limit_mb}",
        f"-max_len={args.max_len}",
        f"-artifact_prefix={args.artifacts}/{name}-",
        "-print_final_stats=1",
        str(corpus),
    ]
    with atheris.instrument_imports(include=["evidencectl", "asn1crypto"]):
        import evidencectl.anchor.backends  # noqa: F401 - instrumented before the first input
        import evidencectl.collect.analyze  # noqa: F401
        import evidencectl.timestamp.verifier  # noqa: F401
        import evidencectl.verify.verifier  # noqa: F401
    atheris.Setup(libfuzzer, target)
    try:
        atheris.Fuzz()
    except SystemExit as exc:  # libFuzzer exits when -runs is reached
        code = int(exc.code or 0)
        sys.stderr.write(f"fuzz {name}: {args.runs} runs in {time.monotonic() - started:.0f} s, exit {code}\n")
        return code
    return 0


def _passthrough(argv: list[str]) -> list[str]:
    out, skip = [], True
    for a in argv:
        if skip and a == "all":
            skip = False
            continue
        out.append(a)
    return out


if __name__ == "__main__":
    sys.exit(main())
