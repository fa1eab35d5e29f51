"""``evidencectl users``: the service's users, their roles and API tokens (in the configured registry)."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..context import Context
from ..i18n import _
from .render import console, print_json

if TYPE_CHECKING:
    from ..registry import IssuedToken, Registry

app = typer.Typer(help="Users of the evidence service: roles and API tokens.", no_args_is_help=True)

JSON_OPT = typer.Option(False, "--json", help="Print one JSON document.")


@contextmanager
def _registry() -> Iterator[Registry]:
    from ..registry import Registry

    registry = Registry.open(Context.default())
    try:
        yield registry
    finally:
        registry.close()


def _actor() -> str:
    # Who changed the users, for the custody log: at the command line, the local account that ran it.
    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):
        return "local:?"


def _show_token(issued: IssuedToken, as_json: bool, what: str) -> None:
    if as_json:
        print_json(
            {"user": issued.user.name, "role": issued.user.role, "token_id": issued.token_id, "token": issued.token}
        )
        return
    # The token alone on stdout (T=$(evidencectl users add …) keeps it); the explanation on stderr.
    sys.stderr.write(
        _(
            "{what} {name!r} ({role}). Its API token follows; it is shown only now and stored only as "
            "a hash, so keep it safe:\n"
        ).format(what=what, name=issued.user.name, role=issued.user.role)
    )
    sys.stdout.write(issued.token + "\n")


@app.command("add")
def add_cmd(
    name: str = typer.Argument(..., help="The user's name, e.g. 张律师."),
    role: str = typer.Option(..., "--role", help="depositor, auditor or admin."),
    key: Path | None = typer.Option(None, "--key", help="The user's own signing key (PEM) for their deposits."),
    as_json: bool = JSON_OPT,
) -> None:
    """Add a user with a role and print its API token once.

    Example: evidencectl users add 张律师 --role depositor --key zhang.key.pem
    """
    with _registry() as registry:
        issued = registry.add_user(name, role, actor=_actor())
        if key is not None:
            _set_key(registry, issued.user.name, key=key, generate=False, unencrypted=False)
    _show_token(issued, as_json, "Added")


def _set_key(registry: Registry, name: str, *, key: Path | None, generate: bool, unencrypted: bool) -> str | None:
    from ..registry import set_sign_key
    from .user_keys import generate_key, install_key

    if registry.user(name) is None:
        from ..errors import UsageError

        raise UsageError(f"no user {name!r}")
    ctx = Context.default()
    path = generate_key(ctx, name, unencrypted=unencrypted) if generate else None
    if key is not None:
        path = install_key(ctx, name, key)
    set_sign_key(registry, name, path, actor=_actor())
    return path


@app.command("key")
def key_cmd(
    name: str = typer.Argument(..., help="An existing user."),
    key: Path | None = typer.Option(None, "--key", help="Use this signing key (PEM; its .cert.pem beside it)."),
    generate: bool = typer.Option(False, "--generate", help="Make a new SM2 key with a self-signed certificate."),
    remove: bool = typer.Option(False, "--remove", help="Sign this user's deposits with no key of their own."),
    unencrypted: bool = typer.Option(False, "--unencrypted", help="With --generate: store it without a passphrase."),
) -> None:
    """Give a user a signing key of their own: deposits they make through the service are signed with it.

    An encrypted key is opened with the passphrase in the environment variable that config.toml's
    [service] key_passphrase_env names. Example: evidencectl users key 张律师 --generate
    """
    from ..errors import UsageError
    from ..registry import user_name

    if (key is not None) + generate + remove != 1:
        raise UsageError("give exactly one of --key FILE, --generate or --remove")
    with _registry() as registry:
        path = _set_key(registry, user_name(name), key=key, generate=generate, unencrypted=unencrypted)
    if path is None:
        sys.stderr.write(f"{name}'s deposits are no longer signed with a key of their own\n")
    else:
        sys.stderr.write(f"{name}'s deposits are signed with {path} (in the data directory)\n")


@app.command("token")
def token_cmd(
    name: str = typer.Argument(..., help="An existing user."),
    as_json: bool = JSON_OPT,
) -> None:
    """Issue another API token for a user (e.g. for a second machine); printed once.

    Example: evidencectl users token 张律师
    """
    with _registry() as registry:
        issued = registry.issue_token(name, actor=_actor())
    _show_token(issued, as_json, "New token for")


@app.command("list")
def list_cmd(as_json: bool = JSON_OPT) -> None:
    """List the users and their roles (never their tokens).

    Example: evidencectl users list --json
    """
    with _registry() as registry:
        users = registry.users()
    if as_json:
        print_json(
            {"users": [{"name": u.name, "role": u.role, "created": u.created, "sign_key": u.sign_key} for u in users]}
        )
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table("user", "role", "added", "own key")
    for u in users:
        table.add_row(escape(u.name), u.role, u.created, "yes" if u.sign_key else "-")
    console().print(table)


@app.command("remove")
def remove_cmd(
    name: str = typer.Argument(..., help="The user to remove."),
    as_json: bool = JSON_OPT,
) -> None:
    """Remove a user and revoke every token of theirs; the custody log keeps what they did.

    Example: evidencectl users remove 张律师
    """
    with _registry() as registry:
        user = registry.remove_user(name, actor=_actor())
    if as_json:
        print_json({"removed": user.name, "role": user.role})
    else:
        from rich.markup import escape

        console().print(
            _("Removed {name} ({role}); their tokens no longer work.").format(name=escape(user.name), role=user.role)
        )
