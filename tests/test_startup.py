"""Start-up (issue 16, benchmark line ``startup-seconds``): what ``evidencectl --help`` and the public face
import, by module name, never by timing; and the help that cli/helprender.py's lighter renderer prints is
byte for byte typer's own."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = (
    "cryptography",  # through crypto/keys.py (TrustStore of the public face)
    "tongsuopy",
    "asn1crypto",
    "evidencectl.crypto.keys",
    "evidencectl.crypto.x509",
    "evidencectl.deposit.pipeline",
    "evidencectl.deposit.statement",
    "evidencectl.package.manifest",
    "rich.markdown",  # typer.rich_utils, for a markup mode evidencectl never uses
    "markdown_it",
    "rich.syntax",
    "pygments",
    "rich.traceback",  # typer's pretty exceptions, turned off in cli/app.py
    "rich.pretty",
    "attr",
    "web3",  # what benchmarks/workloads.py reports as heavy
    "reportlab",
    "PIL",
    "dkim",
)
"""Modules no help needs. Together they were about 60 % of the CPU time of ``evidencectl --help``."""

_IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)\s*$", re.MULTILINE)


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("EVIDENCECTL_LANG", "FORCE_COLOR", "NO_COLOR")}
    return {**env, "EVIDENCECTL_HOME": str(home), "COLUMNS": "100", **extra}


def _imported(argv: list[str], home: Path, **extra: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """The modules ``python -X importtime ARGV`` imported, and the finished process."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *argv], env=_env(home, **extra), capture_output=True, text=True
    )
    return set(_IMPORTED.findall(proc.stderr)), proc


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["-h"],
        [],  # no argument: the help too
        ["--lang", "zh", "--help"],
        ["verify", "--help"],
        ["deposit", "--help"],
        ["tsa"],  # a group without a command prints its help
        ["ledger", "key", "--help"],
    ],
    ids=lambda args: " ".join(args) or "no-arguments",
)
def test_help_loads_no_crypto_markdown_or_traceback_machinery(args: list[str], tmp_path: Path) -> None:
    modules, proc = _imported(["-m", "evidencectl", *args], tmp_path / "home")
    shown = proc.stdout + proc.stderr
    assert "Usage" in shown or "用法" in shown, proc.stderr[-2000:]
    assert {"rich.console", "rich.panel"} <= modules  # rendered by typer's renderer, with rich
    assert _heavy(modules) == []


def test_tsa_list_loads_no_asn1_machinery_and_no_rich(tmp_path: Path) -> None:
    """An everyday command that reads the configuration and prints a list starts as lightly as the help."""
    modules, proc = _imported(["-m", "evidencectl", "tsa", "list"], tmp_path / "home")
    assert proc.returncode == 0 and "freetsa" in proc.stdout, proc.stderr[-2000:]
    assert _heavy(modules) == []
    assert not {"rich", "requests"} & {m.split(".")[0] for m in modules}


def test_the_public_face_imports_no_crypto_and_no_deposit_stage(tmp_path: Path) -> None:
    code = (
        "from evidencectl import Context, DepositOptions, TrustStore, deposit, resume, verify\n"
        "import inspect\n"
        "print(*inspect.signature(verify).parameters, callable(TrustStore.for_verification), Context.default)\n"
    )
    modules, proc = _imported(["-c", code], tmp_path / "home")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("package trust data online context require_independent progress True")
    assert _heavy(modules) == []
    assert not {"typer", "click", "rich"} & {m.split(".")[0] for m in modules}


def test_the_trust_store_still_reads_and_stores_anchors_once_asked(tmp_path: Path) -> None:
    """The imports it no longer makes at its top happen where an anchor is parsed, printed or stored."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from evidencectl import TrustStore\n"
        "from evidencectl.crypto.keys import generate_key\n"
        "from evidencectl.crypto.x509 import build_certificate\n"
        "home = Path(sys.argv[1])\n"
        "key = generate_key('ecdsa-p256')\n"
        "pem = Path(sys.argv[2])\n"
        "pem.write_bytes(key.public_key_pem())\n"
        "store = TrustStore.load(home)\n"
        "[anchor] = store.add_file(pem, 'signer')\n"
        "again = TrustStore.load(home)\n"
        "assert again.trusts_key(key.public_key_der(), 'signer'), again.anchors()\n"
        "assert not again.trusts_key(key.public_key_der(), 'tsa')\n"
        "print(anchor.subject, anchor.pem().decode().splitlines()[0])\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    proc = subprocess.run(
        [sys.executable, "-c", code, str(home), str(tmp_path / "k.pem")],
        env=_env(home),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["public", "key", "(ecdsa-p256)", "-----BEGIN", "PUBLIC", "KEY-----"]


# Every command and group of the command line, its help printed through main() in one process: with the
# lighter renderer (as the console script runs), or with typer.rich_utils imported in full beforehand.
_RENDER_ALL = r"""
import contextlib, io, json, sys
if sys.argv[1] == "plain":
    import typer.rich_utils  # the whole renderer, rich.markdown and rich.traceback included
import click
import typer.main
from evidencectl.cli.main import app, main

def walk(command, prefix):
    yield [*prefix, "--help"]
    if isinstance(command, click.Group):
        yield list(prefix) if prefix else []
        for name in sorted(command.commands):
            yield from walk(command.commands[name], [*prefix, name])

out = {}
for argv in walk(typer.main.get_command(app), []):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(argv)
    out[" ".join(argv)] = [code, stdout.getvalue(), stderr.getvalue()]
out["deferred modules imported"] = sorted(m for m in ("rich.markdown", "rich.traceback") if m in sys.modules)
print(json.dumps(out, ensure_ascii=False))
"""


@pytest.mark.parametrize(
    "env", [{"FORCE_COLOR": "1"}, {"EVIDENCECTL_LANG": "zh"}], ids=["en-colour-terminal", "zh-plain"]
)
def test_every_help_is_byte_for_byte_what_typers_full_renderer_prints(env: dict[str, str], tmp_path: Path) -> None:
    def render(mode: str) -> dict[str, list[object]]:
        proc = subprocess.run(
            [sys.executable, "-c", _RENDER_ALL, mode], env=_env(tmp_path / "home", **env), capture_output=True
        )
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
        result: dict[str, list[object]] = json.loads(proc.stdout)
        return result

    light, plain = render("light"), render("plain")
    assert light.pop("deferred modules imported") == []  # never needed: the stand-ins were never called
    assert plain.pop("deferred modules imported") == ["rich.markdown", "rich.traceback"]
    assert len(light) > 40 and light.keys() == plain.keys()
    for argv, (code, stdout, stderr) in light.items():
        assert [code, stdout, stderr] == plain[argv], argv
        assert "Usage" in f"{stdout}{stderr}" or "用法" in f"{stdout}{stderr}", argv
    if env.get("FORCE_COLOR"):
        assert "\x1b[" in light["--help"][1] and "╭" in light["--help"][1]  # styles and boxes compared too
    else:
        assert "用法" in light["--help"][1] and "\x1b[" not in light["--help"][1]


def test_a_deferred_class_is_the_real_one_when_used(tmp_path: Path) -> None:
    """If a later typer or a setting ever asked for Markdown or a pretty traceback, rich's own would come."""
    code = (
        "import sys\n"
        "from evidencectl.cli import helprender\n"
        "helprender.load()\n"
        "import typer.rich_utils as ru\n"
        "assert 'rich.markdown' not in sys.modules and 'rich.traceback' not in sys.modules\n"
        "import rich.markdown, rich.traceback\n"
        "md = ru.Markdown('*x*', style='')\n"
        "assert type(md) is rich.markdown.Markdown, type(md)\n"
        "try:\n"
        "    1 / 0\n"
        "except ZeroDivisionError as exc:\n"
        "    tb = ru.Traceback.from_exception(type(exc), exc, exc.__traceback__)\n"
        "assert type(tb) is rich.traceback.Traceback, type(tb)\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path / "home"), capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_a_renderer_that_wants_more_than_the_stand_ins_hold_is_imported_in_full(tmp_path: Path) -> None:
    """A typer whose renderer imports another name from those modules still gets its help rendered."""
    code = (
        "from evidencectl.cli import helprender\n"
        "helprender._DEFERRED = {'rich.markdown': 'Unused', 'rich.traceback': 'Traceback'}\n"
        "helprender.load()\n"
        "import rich.markdown, typer.rich_utils as ru\n"
        "assert ru.Markdown is rich.markdown.Markdown\n"
        "from evidencectl.cli.main import main\n"
        "raise SystemExit(main(['--help']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path / "home"), capture_output=True, text=True)
    assert proc.returncode == 0 and "Usage" in proc.stdout, proc.stderr[-2000:]
