"""Users, roles and API tokens: on both registry backends, and through ``evidencectl users``."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CliResult
from postgres_server import PostgresServer, Target

from evidencectl.errors import UsageError
from evidencectl.registry import connect

ROOT = Path(__file__).resolve().parent.parent


def test_a_token_authenticates_its_own_user_and_nothing_else(target: Target) -> None:
    reg = target.open()
    lawyer = reg.add_user("张律师", "depositor")
    court = reg.add_user("法院审计", "auditor")
    assert reg.authenticate(lawyer.token) == lawyer.user and lawyer.user.role == "depositor"
    assert reg.authenticate(court.token) == court.user
    flipped = lawyer.token[:-1] + ("A" if lawyer.token[-1] != "A" else "B")
    other_id = f"evd_{court.token_id}_{lawyer.token.split('_', 2)[2]}"  # one user's id, another's secret
    for wrong in (flipped, other_id, "", "evd_", "Bearer " + lawyer.token, lawyer.token + "x", "x" * 64):
        assert reg.authenticate(wrong) is None, wrong
    reg.close()


def test_only_a_hash_of_the_token_is_stored(target: Target) -> None:
    reg = target.open()
    issued = reg.add_user("张律师", "depositor")
    reg.close()
    secret = issued.token.split("_", 2)[2]
    rows = target.raw("SELECT token_id, user_name, token_hash FROM tokens")
    assert rows == [(issued.token_id, "张律师", hashlib.sha256(issued.token.encode()).hexdigest())]
    assert all(
        secret not in str(r) for table in ("custody", "users", "tokens") for r in target.raw(f"SELECT * FROM {table}")
    )
    if target.kind == "sqlite":  # nor anywhere in the file or its write-ahead log
        for path in target.base.glob("registry.sqlite*"):
            assert secret.encode() not in path.read_bytes()


def test_a_removed_user_can_no_longer_authenticate_and_the_log_keeps_it(target: Target) -> None:
    reg = target.open()
    first = reg.add_user("张律师", "depositor", actor="local:admin")
    second = reg.issue_token("张律师", actor="local:admin")
    assert reg.authenticate(first.token) == reg.authenticate(second.token) == first.user  # both valid
    removed = reg.remove_user("张律师", actor="王管理员")
    assert removed == first.user and reg.users() == []
    assert reg.authenticate(first.token) is None and reg.authenticate(second.token) is None
    log = [(e["event"], e["actor"], e["detail"].get("user")) for e in reg.custody()]
    assert log == [
        ("user-add", "local:admin", "张律师"),
        ("token-issue", "local:admin", "张律师"),
        ("user-remove", "王管理员", "张律师"),
    ]
    assert reg.verify_custody().ok
    # Added again, the same name gets a new token; the old ones stay dead.
    again = reg.add_user("张律师", "auditor")
    assert reg.authenticate(first.token) is None and reg.authenticate(again.token) == again.user
    reg.close()


def test_two_spellings_of_one_name_are_one_user(target: Target) -> None:
    reg = target.open()
    reg.add_user("Zoé", "depositor")  # é precomposed (NFC)
    with pytest.raises(UsageError, match="exists already"):
        reg.add_user("Zoe\u0301", "admin")  # e + combining acute (NFD): the same name to a reader
    assert [u.name for u in reg.users()] == ["Zoé"]
    reg.close()


@pytest.mark.parametrize(
    "name",
    ["", " 张律师", "张律师\n(admin)", "admin\u202egnp.exe", "zero\u200bwidth", "x" * 101],
)
def test_a_name_that_would_mislead_in_the_log_is_refused(target: Target, name: str) -> None:
    reg = target.open()
    with pytest.raises(UsageError):
        reg.add_user(name, "depositor")
    assert reg.users() == [] and reg.custody() == []
    reg.close()


def test_a_role_outside_the_three_is_refused(target: Target) -> None:
    reg = target.open()
    with pytest.raises(UsageError, match="depositor, auditor, admin"):
        reg.add_user("root", "superuser")
    with pytest.raises(UsageError, match="no user"):
        reg.remove_user("nobody-here")
    assert reg.custody() == []
    reg.close()


def test_users_add_prints_the_token_alone_on_stdout(evidencectl_home: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EVIDENCECTL_HOME": str(evidencectl_home)}
    run = [sys.executable, "-m", "evidencectl", "users", "add", "张律师", "--role", "depositor"]
    done = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert done.stdout == token + "\n" and "shown only now" in done.stderr
    reg = connect("", evidencectl_home)
    user = reg.authenticate(token)
    assert user is not None and (user.name, user.role) == ("张律师", "depositor")
    reg.close()


def test_users_commands_list_remove_and_log_who_did_it(cli: CliResult) -> None:
    added = cli("users", "add", "张律师", "--role", "depositor", "--json")
    assert added.code == 0, added.err
    doc = json.loads(added.out)
    assert (doc["user"], doc["role"]) == ("张律师", "depositor") and doc["token"].startswith("evd_")
    assert json.loads(cli("users", "list", "--json").out)["users"][0]["name"] == "张律师"
    assert "[bold]" in cli("users", "add", "[bold]x", "--role", "auditor").err  # shown as written
    assert "[bold]x" in cli("users", "list").out
    dup = cli("users", "add", "张律师", "--role", "admin")
    assert dup.code == 2 and dup.err.count("\n") == 1 and "exists already" in dup.err
    assert cli("users", "remove", "张律师").code == 0
    gone = cli("users", "remove", "张律师")
    assert gone.code == 2 and "no user" in gone.err
    log = json.loads(cli("log", "--json").out)["entries"]
    assert [e["event"] for e in log] == ["user-add", "user-add", "user-remove"]
    assert all(e["actor"].startswith("local:") for e in log)
    assert cli("log", "--verify").code == 0


def test_the_whole_cli_runs_on_a_postgres_registry_from_config(
    cli: CliResult, evidencectl_home: Path, postgres: PostgresServer, sample_dir: Path, tmp_path: Path
) -> None:
    url = postgres.new_database()
    evidencectl_home.mkdir(parents=True, exist_ok=True)
    (evidencectl_home / "config.toml").write_text(f'[registry]\nurl = "{url}"\n', encoding="utf-8")
    assert cli("users", "add", "张律师", "--role", "depositor").code == 0
    out = tmp_path / "case.evp"
    dep = cli("deposit", sample_dir, "-o", out, "--case", "（2026）渝0103民初1234号", "--json")
    assert dep.code == 0, dep.err
    assert cli("verify", out).code == 0
    assert [d["status"] for d in json.loads(cli("cases", "--json").out)["deposits"]] == ["complete"]
    assert cli("log", "--verify").code == 0
    assert not (evidencectl_home / "registry.sqlite").exists()  # nothing went to the embedded file
    reg = connect(url, evidencectl_home)
    assert [e["event"] for e in reg.custody()] == ["user-add", "deposit", "verify"]
    assert reg.deposit(json.loads(dep.out)["deposit_id"]) is not None
    reg.close()


def test_users_key_takes_exactly_one_of_key_generate_remove_and_a_known_user(tmp_path: Path) -> None:
    from service_server import run_cli

    home = tmp_path / "home"
    assert run_cli(home, "users", "add", "张律师", "--role", "depositor").returncode == 0
    for args in ((), ("--generate", "--remove")):
        done = run_cli(home, "users", "key", "张律师", *args)
        assert done.returncode == 2 and "exactly one" in done.stderr, done.stderr
    done = run_cli(home, "users", "key", "无此人", "--generate", "--unencrypted")
    assert done.returncode == 2 and "no user" in done.stderr, done.stderr
    done = run_cli(home, "users", "key", "张律师", "--generate")  # no passphrase configured: said, not prompted
    assert done.returncode == 2 and "key_passphrase_env" in done.stderr, done.stderr
    assert run_cli(home, "users", "key", "张律师", "--generate", "--unencrypted").returncode == 0
    listed = run_cli(home, "users", "list", "--json")
    assert json.loads(listed.stdout)["users"][0]["sign_key"].startswith("service/keys/")
    assert run_cli(home, "users", "key", "张律师", "--remove").returncode == 0
    assert json.loads(run_cli(home, "users", "list", "--json").stdout)["users"][0]["sign_key"] is None
