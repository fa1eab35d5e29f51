"""A run that starts with a top-level command builds that command alone (cli/main.py ``_app_for``): the
command, the root group above it and every error a user can get from either are the same as when the whole
tree is built. Every top-level command is taken from the app itself, so a command added later is compared too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import typer.main

from evidencectl.cli import main as cli_main
from evidencectl.cli.groups import GROUPS

ROOT = Path(__file__).resolve().parent.parent


def _full() -> click.Group:
    group = typer.main.get_command(cli_main.app)
    assert isinstance(group, click.Group)
    return group


def _top_level() -> list[str]:
    """The names of the top-level commands (not groups), as the whole tree has them."""
    return sorted(name for name, cmd in _full().commands.items() if not isinstance(cmd, click.Group))


def _one(name: str) -> click.Group:
    """The root group as the fast path builds it for ``evidencectl NAME …``."""
    chosen = cli_main._app_for([name, "x"])
    assert chosen is not cli_main.app, name
    group = typer.main.get_command(chosen)
    assert isinstance(group, click.Group)
    return group


def _param(param: click.Parameter) -> dict[str, Any]:
    """Everything of a parameter that parsing, errors and help read."""
    info = param.to_info_dict()
    info["type"] = {**info["type"], "class": type(param.type).__qualname__, "repr": repr(param.type.name)}
    if isinstance(param.type, click.Path):  # typer's Path type: its checks are attributes, not in the info
        info["type"].update({k: getattr(param.type, k) for k in ("exists", "file_okay", "dir_okay", "resolve_path")})
    info["class"] = type(param).__qualname__
    info["callback"] = getattr(param.callback, "__wrapped__", param.callback)
    info["is_eager"] = param.is_eager
    info["expose_value"] = param.expose_value
    info["metavar"] = param.metavar
    info["rich_help_panel"] = getattr(param, "rich_help_panel", None)
    info["show_default"] = getattr(param, "show_default", None)
    return info


def _command(cmd: click.Command) -> dict[str, Any]:
    """Everything of a command (its parameters included) but the commands under it."""
    attrs = (
        "name",
        "help",
        "short_help",
        "epilog",
        "context_settings",
        "no_args_is_help",
        "hidden",
        "deprecated",
        "options_metavar",
        "add_help_option",
        "rich_help_panel",
        "rich_markup_mode",
        "allow_extra_args",
        "allow_interspersed_args",
        "ignore_unknown_options",
        "invoke_without_command",
        "chain",
        "subcommand_metavar",
    )
    return {
        "class": type(cmd).__qualname__,
        "callback": getattr(cmd.callback, "__wrapped__", cmd.callback),
        "params": [_param(p) for p in cmd.params],
        **{a: getattr(cmd, a, None) for a in attrs},
    }


def test_there_are_top_level_commands_to_compare() -> None:
    names = _top_level()
    assert {"deposit", "verify", "report", "inspect", "doctor"} <= set(names), names


@pytest.mark.parametrize("name", _top_level())
def test_a_command_built_alone_is_the_command_of_the_whole_tree(name: str) -> None:
    full, one = _full(), _one(name)
    assert sorted(one.commands) == [name]  # the other commands and groups were not built
    assert _command(one.commands[name]) == _command(full.commands[name])
    # The root above it: --version, --debug, --lang, typer's completion options, the app's own help.
    assert _command(one) == _command(full)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--help"],
        ["-h"],
        ["deposit", "--help"],
        ["deposit", "a", "-h"],
        ["--debug", "deposit", "a"],  # an option of the root first
        ["--lang", "zh", "verify", "p.evp"],
        ["tsa", "serve"],  # a group
        ["ledger", "key"],
        ["keys"],
        ["depost", "a"],  # unknown: "No such command" with the close names is the whole tree's
        ["Deposit", "a"],
    ],
)
def test_help_groups_root_options_and_unknown_names_take_the_whole_tree(argv: list[str]) -> None:
    assert cli_main._app_for(argv) is cli_main.app


def test_shell_completion_takes_the_whole_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli_main._app_for(["deposit", "a"]) is not cli_main.app
    monkeypatch.setenv("_EVIDENCECTL_COMPLETE", "complete_bash")
    assert cli_main._app_for(["deposit", "a"]) is cli_main.app


def test_a_help_word_after_double_dash_is_a_path_and_keeps_the_fast_path() -> None:
    argv = ["deposit", "--", "--help"]
    assert cli_main._app_for(argv) is not cli_main.app


def _error_lines(name: str, cmd: click.Command) -> Iterator[list[str]]:
    """Command lines that click refuses while parsing, before the command runs: safe for every command."""
    yield [name, "--no-such-option"]
    yield [name, "--no-such-option", "--json"]
    yield [name, "--no-such-option", "--debug"]
    options = [p for p in cmd.params if isinstance(p, click.Option)]
    valued = [p for p in options if not p.is_flag and not p.count]
    if valued:
        yield [name, valued[0].opts[0]]  # an option without its value
    numeric = [p for p in valued if isinstance(p.type, click.types._NumberParamTypeBase)]
    if numeric:
        yield [name, numeric[0].opts[0], "not-a-number"]
    choices = [p for p in valued if isinstance(p.type, click.Choice)]
    if choices:
        yield [name, choices[0].opts[0], "no-such-choice"]
    if any(p.required for p in cmd.params):
        yield [name]  # a missing argument or option
    yield [name, "--json=1"]  # a value given to a flag (or an unknown option, for a command without --json)


def _cases() -> list[list[str]]:
    full = _full()
    return [argv for name in _top_level() for argv in _error_lines(name, full.commands[name])]


@pytest.fixture
def run_both(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[[list[str]], tuple[Any, Any]]:
    """Run a command line in-process once through the fast path and once through the whole tree."""
    real = cli_main._app_for
    taken: list[bool] = []

    def spy(argv: list[str]) -> typer.Typer:
        chosen = real(argv)
        taken.append(chosen is not cli_main.app)
        return chosen

    def run(argv: list[str]) -> tuple[Any, Any]:
        results = []
        for picker in (spy, lambda argv: cli_main.app):
            monkeypatch.setattr(cli_main, "_app_for", picker)
            capsys.readouterr()
            code = cli_main.main(list(argv))
            out, err = capsys.readouterr()
            results.append((code, out, err))
        assert taken == [True], f"{argv}: the fast path was not taken"
        taken.clear()
        return results[0], results[1]

    return run


@pytest.mark.parametrize("argv", _cases(), ids=" ".join)
def test_every_parse_error_of_every_command_is_the_same_in_both_paths(
    argv: list[str], run_both: Callable[[list[str]], tuple[Any, Any]]
) -> None:
    fast, whole = run_both(argv)
    assert fast == whole
    code, out, err = fast
    assert code == 2 and "Error:" in err and "Traceback" not in err, (argv, err)
    assert "Usage:" not in err or f"Usage: evidencectl {argv[0]} " in err, err  # the command's own usage line
    if "--json" in argv:
        assert json.loads(out)["code"] == "USAGE"


@pytest.mark.parametrize(
    "argv",
    [
        ["verify", "no-such.evp", "--json"],
        ["inspect", "no-such.evp"],
        ["deposit", "no-such-file", "-o", "out.evp", "--json"],
        ["deposit", "a.txt"],  # no -o: the command's own usage error
        ["deposit", "a.txt", "-o", "out.evp", "--tsa-quorum", "0", "--json"],
        ["report", "no-such.evp", "--json"],
    ],
)
def test_errors_the_commands_raise_are_the_same_in_both_paths(
    argv: list[str], run_both: Callable[[list[str]], tuple[Any, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("a\n")
    fast, whole = run_both(argv)
    assert fast == whole
    code, _out, err = fast
    assert code in (2, 4) and ("evidencectl: error:" in err or "Usage:" in err), fast


def _cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "EVIDENCECTL_LANG"}
    environ.update({"EVIDENCECTL_HOME": str(home), "PYTHONPATH": str(ROOT), "COLUMNS": "100", **env})
    return subprocess.run(
        [sys.executable, "-m", "evidencectl", *args], env=environ, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    ("argv", "lang"),
    [
        (["deposit", "a.txt", "--bogus", "--json"], "en"),
        (["deposit", "a.txt", "--tsa-quorum", "many"], "zh"),
        (["verify"], "en"),
        (["verify"], "zh"),
        (["report", "p.evp", "--sign-tsa"], "en"),
        (["capture", "https://example.org", "-o", "c.evp", "--timeout", "0.5"], "en"),
        (["deposit", "a.txt", "--json"], "zh"),  # the command's own refusal, translated
    ],
)
def test_the_console_command_prints_the_same_with_and_without_a_root_option_first(
    argv: list[str], lang: str, tmp_path: Path
) -> None:
    """Through the real interpreter: ``--lang`` before the command takes the whole tree (and, naming the
    language the environment names, changes nothing else); without it the command is built alone."""
    home = tmp_path / "home"
    fast = _cli(home, *argv, EVIDENCECTL_LANG=lang)
    whole = _cli(home, "--lang", lang, *argv, EVIDENCECTL_LANG=lang)
    assert (fast.returncode, fast.stdout, fast.stderr) == (whole.returncode, whole.stdout, whole.stderr)
    assert fast.returncode == 2 and "Traceback" not in fast.stderr, fast.stderr
    assert ("错误" in fast.stderr or "请给出" in fast.stderr) if lang == "zh" else "Error:" in fast.stderr


def test_a_deposit_through_the_fast_path_verifies(tmp_path: Path) -> None:
    home = tmp_path / "home"
    exhibit = tmp_path / "exhibit.txt"
    exhibit.write_text("the contract, as signed\n")
    done = _cli(home, "deposit", str(exhibit), "-o", str(tmp_path / "e.evp"), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "complete"
    checked = _cli(home, "verify", str(tmp_path / "e.evp"), "--json")
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["verdict"] == "PASSED"
    version = _cli(home, "--version")
    assert version.returncode == 0 and version.stdout.startswith("evidencectl ")


_MODULES_AFTER = """
import sys
from evidencectl.cli.main import main
code = main(sys.argv[1:])
print(sorted(m for m in sys.modules if m.startswith("evidencectl.cli.") and m.endswith("_cmd")))
"""


def test_a_top_level_command_does_not_import_the_command_groups(tmp_path: Path) -> None:
    def modules(*argv: str) -> set[str]:
        environ = {**os.environ, "EVIDENCECTL_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-c", _MODULES_AFTER, *argv], env=environ, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        return set(json.loads(done.stdout.strip().splitlines()[-1].replace("'", '"')))

    groups = {"evidencectl.cli.keys_cmd", "evidencectl.cli.tsa_cmd", "evidencectl.cli.users_cmd"}
    assert not groups & modules("deposit", "--bogus")
    assert not groups & modules("verify")
    assert groups <= modules("tsa", "--bogus")  # a group's command line: every group, as before
    assert groups <= modules("--help")


_GROUP_HELP = """
import contextlib, io, sys
from evidencectl.cli import groups
from evidencectl.cli.main import app, main
if sys.argv[1] == "at-import":
    groups.group_names(app)  # every group imported and escaped now, as they all were before
out = io.StringIO()
with contextlib.redirect_stdout(out):
    main(["--lang", "zh", "keys", "--help"])
print(out.getvalue())
"""


def test_a_group_imported_late_shows_its_help_in_the_language_of_the_rest(tmp_path: Path) -> None:
    """The app's help texts are translated when it is imported (English here); a group imported later, in a
    run that asks for Chinese, has its texts in English too, as it had when every group came at import."""

    def render(when: str) -> str:
        environ = {k: v for k, v in os.environ.items() if k != "EVIDENCECTL_LANG"}
        environ.update({"EVIDENCECTL_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT), "LC_ALL": "C.UTF-8"})
        environ["COLUMNS"] = "100"
        done = subprocess.run(
            [sys.executable, "-c", _GROUP_HELP, when], env=environ, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    late, early = render("late"), render("at-import")
    assert late == early
    assert "Depositor signing keys" in late and "用法" in late  # English texts, click's own words in Chinese


_BEFORE_WORKERS = """
import importlib, json, os, sys
pipeline = importlib.import_module("evidencectl.deposit.pipeline")  # evidencectl.deposit is also a function
from evidencectl.cli.main import main

def stop(*args):
    print(json.dumps(sorted(sys.modules)))
    sys.stdout.flush()
    os._exit(0)

pipeline._start_workers = stop
main(sys.argv[1:])
"""


def test_a_deposit_loads_no_group_toml_or_thread_pool_before_its_workers_start(tmp_path: Path) -> None:
    """What the deposit process imports before it forks its workers is paid in full by every deposit
    (benchmarks/README.md, "Building one command"); these are used by other commands, or later."""
    exhibit = tmp_path / "a.txt"
    exhibit.write_text("a\n")
    home = tmp_path / "home"
    environ = {**os.environ, "EVIDENCECTL_HOME": str(home), "PYTHONPATH": str(ROOT)}

    def before_workers() -> set[str]:
        done = subprocess.run(
            [sys.executable, "-c", _BEFORE_WORKERS, "deposit", str(exhibit), "-o", str(tmp_path / "a.evp")],
            env=environ,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return set(json.loads(done.stdout))

    loaded = before_workers()
    assert "evidencectl.cli.commands" in loaded  # the command ran up to its workers
    unneeded = {"tomllib", "concurrent.futures", "logging", "evidencectl.timestamp.catalogue"}
    assert not loaded & unneeded, loaded & unneeded
    assert not {f"evidencectl.cli.{module}" for _name, module, _extras in GROUPS} & loaded
    home.joinpath("config.toml").write_text("[cli]\nlang = 'en'\n")
    assert "tomllib" in before_workers()  # a configuration is read when there is one
