"""Every command has --help text and a documented example in docs/user-guide.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer.main

from evidencectl.cli.main import app

GUIDE = (Path(__file__).parent.parent / "docs" / "user-guide.md").read_text(encoding="utf-8")


def _commands() -> list[tuple[str, Any]]:
    root: Any = typer.main.get_command(app)
    out: list[tuple[str, Any]] = []
    for name, cmd in root.commands.items():
        if hasattr(cmd, "commands"):
            out.extend((f"{name} {sub}", subcmd) for sub, subcmd in cmd.commands.items())
        else:
            out.append((name, cmd))
    return out


def test_every_command_has_help_and_an_example(cli) -> None:  # type: ignore[no-untyped-def]
    commands = _commands()
    assert len(commands) >= 20
    for name, cmd in commands:
        assert (cmd.help or "").strip(), f"{name} has no help text"
        res = cli(*name.split(), "--help")
        assert res.code == 0 and "Usage" in res.out, name
        assert f"evidencectl {name}" in GUIDE, f"docs/user-guide.md has no example of 'evidencectl {name}'"
