"""What a new user meets in the first hour: typos, help, the registry listing, errors scripts can read.

Issue 19 ("Everyday use"). Screen-width and missing-module cases run as real subprocesses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema

from evidencectl.package.schema import load_schema

EXAMPLES = Path(__file__).parent.parent / "examples"


def run(home: Path, *args: str | Path, env: dict[str, str] | None = None, code: str | None = None):  # type: ignore[no-untyped-def]
    """``evidencectl ARGS`` in a fresh interpreter (``code`` runs first, e.g. to hide a module)."""
    prelude = (code or "") + "\nfrom evidencectl.cli.main import main\nimport sys\nsys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", prelude, *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "EVIDENCECTL_HOME": str(home), **(env or {})},
        check=False,
    )


def test_mistyped_command_suggests_verify_once(cli) -> None:  # type: ignore[no-untyped-def]
    res = cli("verfy")
    assert res.code == 2 and (res.out + res.err).count("Did you mean 'verify'?") == 1
    sub = cli("keys", "genrate")
    assert sub.code == 2 and (sub.out + sub.err).count("Did you mean 'generate'?") == 1


def test_extract_item_without_its_folder_lists_close_names(cli, sample_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    case = tmp_path / "case1"
    case.mkdir()
    (case / "合同.pdf").write_bytes(b"%PDF-1.4 contract")
    (case / "photo.png").write_bytes(b"not really a png")
    package = tmp_path / "c.evp"
    assert cli("deposit", case, "-o", package).code == 0
    res = cli("extract", package, "--item", "合同.pdf", "-o", tmp_path / "one.evp")
    assert res.code == 2 and res.err.count("\n") == 1
    assert "did you mean 'case1/合同.pdf'" in res.err


def test_help_keeps_config_section_names_in_brackets(cli) -> None:  # type: ignore[no-untyped-def]
    deploy = run(Path("/nonexistent"), "chain", "deploy", "--help", env={"COLUMNS": "200"})
    assert "[evm]" in deploy.stdout, deploy.stdout
    verify = run(Path("/nonexistent"), "verify", "--help", env={"COLUMNS": "200"})
    assert "[trust]" in verify.stdout


def test_root_help_names_evidencectl_home_and_config_toml(cli) -> None:  # type: ignore[no-untyped-def]
    res = cli("--help")
    assert res.code == 0 and "EVIDENCECTL_HOME" in res.out and "config.toml" in res.out


def test_shell_completion_is_offered_and_completes_commands(tmp_path: Path) -> None:
    """``--show-completion`` prints the script of the shell typer finds among the process's ancestors (ten at
    most, through /proc; the argument is not read): the test asks from a bash, as a user types it, instead of
    depending on whether the test runner happened to be started from one (it failed with "Shell  not
    supported." when pytest ran under a process with no shell within ten ancestors)."""
    prelude = "from evidencectl.cli.main import main\nimport sys\nsys.exit(main(sys.argv[1:]))"
    shown = subprocess.run(
        # Two commands, so bash stays the parent instead of exec-ing the last one.
        ["bash", "-c", '"$@"; exit $?', "bash", sys.executable, "-c", prelude, "--show-completion", "bash"],
        capture_output=True,
        text=True,
        env={**os.environ, "EVIDENCECTL_HOME": str(tmp_path), "SHELL": "/bin/bash"},
        check=False,
    )
    assert shown.returncode == 0 and "_evidencectl_completion" in shown.stdout, shown.stderr
    assert "complete -o default -F _evidencectl_completion evidencectl" in shown.stdout
    env = {"_EVIDENCECTL_COMPLETE": "complete_bash", "COMP_WORDS": "evidencectl ver", "COMP_CWORD": "1"}
    done = run(tmp_path, env=env)
    assert done.stdout.split() == ["verify"]


def test_config_show_names_data_dir_tsas_anchors_and_trust(
    cli, evidencectl_home: Path, sample_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    evidencectl_home.mkdir(parents=True, exist_ok=True)
    (evidencectl_home / "config.toml").write_text(
        '[tsa.office]\nurl = "https://tsa.example.com/tsr"\npassword_env = "OFFICE_PASS"\npassword = "oops"\n'
    )
    assert cli("deposit", sample_dir, "-o", tmp_path / "p.evp").code == 0  # makes the embedded TSA and ledger
    doc = json.loads(cli("config", "show", "--json").out)
    assert doc["data_dir"] == str(evidencectl_home) and doc["data_dir_from"] == "EVIDENCECTL_HOME"
    assert doc["config_file_exists"] is True
    office = next(t for t in doc["tsas"] if t["name"] == "office")
    assert office["url"] == "https://tsa.example.com/tsr" and office["password"] == "(hidden)"
    assert doc["anchors"]["local"]["ready"] is True
    assert {a["role"] for a in doc["trust_anchors"]} >= {"tsa", "ledger"}
    text = cli("config", "show").out
    assert str(evidencectl_home) in text and "office" in text and "oops" not in text


def test_doctor_says_ok_or_missing_with_how_to_install(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "openssl").symlink_to("/usr/bin/openssl")  # only openssl on PATH: the rest is missing
    res = run(tmp_path / "home", "doctor", env={"PATH": str(bin_dir)})
    assert res.returncode == 0, res.stderr
    lines = {line.split()[1]: line for line in res.stdout.splitlines()}
    assert lines["openssl"].startswith("ok") and "SM3" in lines["openssl"]
    assert lines["7z"].startswith("missing") and "apt-get install p7zip-full" in lines["7z"]
    assert lines["bsdtar"].startswith("missing") and "libarchive-tools" in lines["bsdtar"]
    blocked = run(tmp_path / "home", "doctor", "--json", code="import sys; sys.modules['web3'] = None")
    web3 = next(c for c in json.loads(blocked.stdout)["checks"] if c["name"] == "web3")
    assert web3["ok"] is False and web3["install"] == "pip install 'evidencectl[chain]'"


def test_chain_deploy_without_web3_names_the_chain_extra(tmp_path: Path) -> None:
    res = run(tmp_path, "chain", "deploy", "--rpc", "http://127.0.0.1:9", code="import sys; sys.modules['web3'] = None")
    assert res.returncode == 4, res.stderr
    assert res.stderr.strip().splitlines() == [
        "evidencectl: error: EVM chains need the optional module web3, which is not installed: "
        "pip install 'evidencectl[chain]'"
    ]


def test_evm_deposit_without_web3_is_refused_before_any_work(tmp_path: Path, sample_dir: Path) -> None:
    out = tmp_path / "e.evp"
    args = ("deposit", sample_dir, "-o", out, "--anchor", "evm:http://127.0.0.1:9", "--json")
    res = run(tmp_path / "home", *args, code="import sys; sys.modules['web3'] = None")
    assert res.returncode == 4 and json.loads(res.stdout)["code"] == "MISSING_DEPENDENCY"
    assert not out.exists()


def test_cases_at_80_columns_never_cuts_the_deposit_id(tmp_path: Path, sample_dir: Path) -> None:
    home = tmp_path / "home"
    made = run(home, "deposit", sample_dir, "-o", tmp_path / "p.evp", "--case", "（2026）渝0103民初1234号", "--json")
    deposit_id = json.loads(made.stdout)["deposit_id"]
    for width in ("80", "60", "200"):
        listed = run(home, "cases", env={"COLUMNS": width})
        assert listed.returncode == 0 and deposit_id in listed.stdout, listed.stdout


def test_empty_registry_says_so_in_a_sentence(cli) -> None:  # type: ignore[no-untyped-def]
    res = cli("cases")
    assert res.code == 0 and res.out.startswith("No deposits recorded yet") and "evidencectl deposit" in res.out
    assert json.loads(cli("cases", "--json").out) == {"deposits": []}


def test_cases_does_not_call_an_overwritten_package_complete(cli, sample_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    package = tmp_path / "p.evp"
    first = json.loads(cli("deposit", sample_dir, "-o", package, "--json").out)["deposit_id"]
    second = json.loads(cli("deposit", sample_dir, "-o", package, "--force", "--json").out)["deposit_id"]
    other = tmp_path / "q.evp"
    third = json.loads(cli("deposit", sample_dir, "-o", other, "--json").out)["deposit_id"]
    other.unlink()
    status = {d["deposit_id"]: d["status"] for d in json.loads(cli("cases", "--json").out)["deposits"]}
    assert status == {first: "overwritten", second: "complete", third: "missing"}


def test_tsa_quorum_above_the_tsas_given_says_how_many(cli, sample_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli("deposit", sample_dir, "-o", tmp_path / "p.evp", "--tsa-quorum", "2")
    assert res.code == 2 and "--tsa-quorum 2 needs at least 2 --tsa; 1 given" in res.err


def test_log_of_an_unknown_deposit_exits_4_in_one_line(cli) -> None:  # type: ignore[no-untyped-def]
    res = cli("log", "--deposit", "EVD-NOPE")
    assert res.code == 4 and res.err.count("\n") == 1 and "EVD-NOPE" in res.err and res.out == ""


def test_report_and_extract_are_in_the_custody_log(cli, sample_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    package = tmp_path / "p.evp"
    deposit_id = json.loads(cli("deposit", sample_dir, "-o", package, "--json").out)["deposit_id"]
    item = json.loads(cli("inspect", package, "--json").out)["items"][0]["name"]
    assert cli("report", package, "-o", tmp_path / "c.html").code == 0
    assert cli("extract", package, "--item", item, "-o", tmp_path / "one.evp").code == 0
    events = json.loads(cli("log", "--deposit", deposit_id, "--json").out)["entries"]
    kinds = [e["event"] for e in events]
    assert "report" in kinds and "extract" in kinds
    extract = next(e for e in events if e["event"] == "extract")
    assert extract["detail"]["items"][0] == item
    assert cli("log", "--verify").code == 0


def test_passphrase_typed_as_env_name_is_not_echoed(cli) -> None:  # type: ignore[no-untyped-def]
    res = cli("keys", "generate", "--name", "a", "--passphrase-env", "correct horse 律师")
    assert res.code == 2 and "not a valid variable name" in res.err
    assert "horse" not in res.err and "律师" not in res.err and "horse" not in res.out


def test_one_character_key_passphrase_is_refused(cli, monkeypatch, evidencectl_home: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PW", "x")
    res = cli("keys", "generate", "--name", "a", "--passphrase-env", "PW")
    assert res.code == 2 and "at least 8 characters" in res.err
    assert not list((evidencectl_home / "keys").glob("*.pem"))
    monkeypatch.setenv("PW", "eight ch")
    assert cli("keys", "generate", "--name", "a", "--passphrase-env", "PW").code == 0


def test_error_json_carries_a_stable_code(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    schema = load_schema("error")
    bad = tmp_path / "bad.evp"
    bad.write_bytes(b"PK\x03\x04 not a package")
    cases = {
        "NOT_FOUND": cli("log", "--deposit", "EVD-NOPE", "--json"),
        "MALFORMED_PACKAGE": cli("verify", bad, "--json"),
        "USAGE": cli("verify", bad, "--online", "--offline", "--json"),
        "BAD_INPUT": cli("timestamp", "info", tmp_path / "missing.tsr", "--json"),
        "MALFORMED_TOKEN": cli("timestamp", "info", bad, "--json"),
    }
    for code, res in cases.items():
        doc = json.loads(res.out)
        jsonschema.validate(doc, schema)
        assert doc["code"] == code, (code, doc)
        assert doc["exit_code"] == res.code


def test_verify_by_hand_without_an_item_name_prints_usage(cli, sample_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    package = tmp_path / "p.evp"
    assert cli("deposit", sample_dir, "-o", package).code == 0
    script = str(EXAMPLES / "verify_by_hand.py")
    res = subprocess.run([sys.executable, script, str(package)], capture_output=True, text=True, check=False)
    assert res.returncode == 2 and res.stderr.startswith("usage:") and "Traceback" not in res.stderr
    wrong = subprocess.run([sys.executable, script, str(package), "nope"], capture_output=True, text=True, check=False)
    assert wrong.returncode == 2 and "no item named 'nope'" in wrong.stderr and "Traceback" not in wrong.stderr
