"""The Chinese command line: catalogs complete and current, the language chosen as documented, Chinese
verdicts, check lines, errors and help, and JSON, exit codes and error codes identical in both languages."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import rewrite_member

from evidencectl import i18n

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import catalog  # noqa: E402  (scripts/catalog.py: Babel's extractor and the catalogs)

PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\([a-z_]+\)[sd]|%[sd]")


@pytest.fixture(autouse=True)
def english_after() -> Iterator[None]:
    """In-process runs in Chinese must not leave the library speaking Chinese to the next test."""
    yield
    i18n.set_language("en", explicit=False)


def run(home: Path, *args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The ``evidencectl`` console script in a fresh process, with a clean language environment."""
    base = {k: v for k, v in os.environ.items() if k not in ("EVIDENCECTL_LANG", "LANG", "LC_ALL", "LC_MESSAGES")}
    script = "from evidencectl.cli.main import run\nrun()"
    return subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        env={**base, "LANG": "C.UTF-8", "EVIDENCECTL_HOME": str(home), "COLUMNS": "100", **(env or {})},
        check=False,
    )


@pytest.fixture
def tampered(cli, sample_dir: Path, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """A package whose first original was changed after the deposit."""
    assert cli("deposit", sample_dir, "-o", tmp_path / "ok.evp").code == 0
    return rewrite_member(
        tmp_path / "ok.evp", tmp_path / "tampered.evp", "evidence/evidence/contract.txt", b"X".__add__
    )


def test_every_message_of_the_sources_is_translated_and_the_mo_is_current() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "catalog.py"), "check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_new_untranslated_or_fuzzy_message_is_caught() -> None:
    po = catalog.read("evidencectl")
    pot = catalog.Catalog()
    for msg in po:
        if msg.id:
            pot.add(msg.id, context=msg.context)
    assert catalog.missing(pot, po) == []
    pot.add("a message nobody translated")
    first = next(m for m in po if m.id and isinstance(m.id, str))
    first.flags.add("fuzzy")
    assert set(catalog.missing(pot, po)) == {first.id, "a message nobody translated"}


def test_babel_extraction_finds_the_marked_messages_and_the_help_texts() -> None:
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog.template() if m.id}
    assert "give the package to write with -o OUT.evp" in ids  # a _() in a command
    assert "no such file or folder" in ids  # a library error
    assert "Record digests only; keep originals out." in ids  # an option's help, declared as a plain string
    assert any(i.startswith("Verify a package: digests") for i in ids)  # a command's docstring
    assert len(ids) > 500


def test_the_committed_mo_files_are_what_the_po_files_compile_to() -> None:
    for domain in ("evidencectl", "click"):
        assert catalog.mo_path(domain).read_bytes() == catalog.compiled(catalog.read(domain)), domain


def test_every_translation_keeps_the_placeholders_of_its_msgid() -> None:
    for domain in ("evidencectl", "click"):
        for msg in catalog.read(domain):
            if not msg.id:
                continue
            ids = [msg.id] if isinstance(msg.id, str) else list(msg.id)
            strings = [msg.string] if isinstance(msg.string, str) else list(msg.string)
            for msgid, msgstr in zip(ids, strings, strict=False):
                assert sorted(PLACEHOLDER.findall(msgstr)) == sorted(PLACEHOLDER.findall(msgid)), (msgid, msgstr)


def test_court_terms_are_the_standard_ones() -> None:
    zh = {m.id: m.string for m in catalog.read("evidencectl") if isinstance(m.id, str)}
    verdicts = {m.string for m in catalog.read("evidencectl") if m.context == "verdict"}
    assert verdicts == {"验证通过", "验证失败", "无法确定"}
    assert "存证人" in zh["Who deposits the evidence."]
    assert "案号" in zh["Case number, e.g. （2026）渝0103民初1234号."]
    assert (
        "保管日志"
        in zh[
            "Show the custody log (append-only, hash-chained), or check it with --verify.\n\n"
            "Example: evidencectl log --verify --against case-42.evp"
        ]
    )
    assert "信任锚" in zh["Trust anchors used:"] and "时间戳" in zh["  timestamp    {timestamp}"]


def test_language_is_chosen_by_option_then_environment_then_config_then_locale(
    monkeypatch: pytest.MonkeyPatch, evidencectl_home: Path
) -> None:
    for var in ("EVIDENCECTL_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    assert i18n.choose([]) == ("en", False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert i18n.choose([]) == ("zh", False)
    monkeypatch.setenv("LC_ALL", "C")  # LC_ALL decides before LANG
    assert i18n.choose([]) == ("en", False)
    evidencectl_home.mkdir(parents=True, exist_ok=True)
    (evidencectl_home / "config.toml").write_text('[cli]\nlang = "zh"\n')
    assert i18n.choose([]) == ("zh", True)
    monkeypatch.setenv("EVIDENCECTL_LANG", "en")
    assert i18n.choose([]) == ("en", True)
    assert i18n.choose(["--lang", "zh", "verify", "x.evp"]) == ("zh", True)
    assert i18n.choose(["verify", "--lang=zh", "x.evp"]) == ("zh", True)
    assert i18n.choose(["deposit", "--", "--lang", "zh"]) == ("en", True)  # after --, a file name


def test_zh_verify_of_a_tampered_package_says_so_in_chinese_and_exits_1(cli, tampered: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli("--lang", "zh", "verify", tampered)
    assert res.code == 1
    assert "结论：验证失败" in res.out
    assert "「contract.txt」在存证后被修改" in res.out  # the report's sentence, not the English detail
    assert "differs from the deposit" not in res.out and "match the deposit" not in res.out
    assert re.search(r"^失败 +digest:evidence/contract.txt: ", res.out, re.M)
    assert "其余 3 项与存证一致" in res.out
    en = cli("verify", tampered)
    assert en.code == 1 and "Verdict: FAILED (" in en.out and "differs from the deposit" in en.out


def test_verify_json_is_the_same_in_both_languages(cli, tampered: Path) -> None:  # type: ignore[no-untyped-def]
    zh = json.loads(cli("verify", tampered, "--json", "--lang", "zh").out)
    en = json.loads(cli("verify", tampered, "--json").out)
    zh.pop("verified_at"), en.pop("verified_at")
    assert zh == en  # keys, check names, reasons, statuses, verdict; the details too (they are the verifier's)


def test_errors_in_chinese_keep_their_exit_code_and_code(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    zh = cli("--lang", "zh", "verify", tmp_path / "missing.evp", "--json")
    en = cli("verify", tmp_path / "missing.evp", "--json")
    assert zh.code == en.code == 4
    zdoc, edoc = json.loads(zh.out), json.loads(en.out)
    assert (zdoc["code"], zdoc["exit_code"]) == (edoc["code"], edoc["exit_code"])
    assert zdoc.keys() == edoc.keys() and zdoc["error"] != edoc["error"]  # only the human line differs
    assert "evidencectl：错误：" in zh.err and "evidencectl: error:" in en.err


def test_click_usage_errors_are_in_chinese(cli) -> None:  # type: ignore[no-untyped-def]
    missing = cli("--lang", "zh", "verify")
    assert missing.code == 2 and "缺少参数" in missing.err and "Missing argument" not in missing.err
    typo = cli("--lang", "zh", "verfy")
    assert typo.code == 2 and "没有命令" in typo.err and "您是否想输入 'verify'" in typo.err
    assert "Did you mean 'verify'?" in cli("verfy").err


def test_env_lang_zh_deposit_errors_in_chinese_with_the_same_exit_code(tmp_path: Path) -> None:
    zh = run(tmp_path, "deposit", env={"EVIDENCECTL_LANG": "zh"})
    en = run(tmp_path, "deposit")
    assert zh.returncode == en.returncode == 2
    assert zh.stderr.strip() == "evidencectl：错误：请给出要存证的文件或文件夹（或 --from-list FILE）"
    assert "give files or folders to deposit" in en.stderr


def test_a_chinese_locale_gives_chinese_help(tmp_path: Path) -> None:
    done = run(tmp_path, "--help", env={"LANG": "zh_CN.UTF-8"})
    assert done.returncode == 0
    assert "用法：" in done.stdout and "选项" in done.stdout and "命令" in done.stdout
    assert "司法存证：以 SM3 与 SHA-256 计算哈希值" in done.stdout
    assert "Usage:" not in done.stdout and "Show this message and exit." not in done.stdout
    assert "Usage:" in run(tmp_path, "--help").stdout


def test_config_cli_lang_gives_chinese_messages(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('[cli]\nlang = "zh"\n')
    done = run(home, "deposit")
    assert done.returncode == 2 and "请给出要存证的文件" in done.stderr


# A help line with four English words in a row is an untranslated sentence; commands, option names and
# metavars are not words here.
_ENGLISH = re.compile(r"(?<![\w./:$'-])[A-Za-z][a-z']+(?: +[A-Za-z][a-z']+){3}(?![\w./:-])")
_HELP_SCRIPT = """
import sys
from evidencectl.cli.main import app
import typer.main, click
root = typer.main.get_command(app)
def walk(cmd, path):
    yield path
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            yield from walk(sub, path + [name])
for path in walk(root, []):
    print("=== " + " ".join(path))
    sys.stdout.flush()
    try:
        app(args=path + ["--help"], prog_name="evidencectl", standalone_mode=False)
    except SystemExit:
        pass
    sys.stdout.flush()
"""


def test_no_command_help_in_chinese_holds_an_untranslated_english_sentence(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _HELP_SCRIPT, "--lang", "zh"],
        capture_output=True,
        text=True,
        env={**os.environ, "EVIDENCECTL_HOME": str(tmp_path), "COLUMNS": "200"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    pages = done.stdout.split("=== ")[1:]
    assert len(pages) > 30  # every command and group
    english = []
    for page in pages:
        name, _, text = page.partition("\n")
        assert "用法：" in text, name
        for line in text.splitlines():
            shown = line.strip(" │╭╮╰╯─")
            if "evidencectl " in shown and ("示例" in shown or "用法" in shown or shown.startswith("evidencectl ")):
                continue  # an example command line
            if _ENGLISH.search(shown):
                english.append(f"{name}: {shown}")
    assert english == []


def test_english_help_is_unchanged(tmp_path: Path) -> None:
    done = run(tmp_path, "deposit", "--help")
    assert "Deposit files as evidence: hash, timestamp, anchor and package them." in done.stdout
    assert "Record digests only; keep originals out." in done.stdout and "用法" not in done.stdout


def test_the_package_data_ships_the_compiled_catalogs() -> None:
    """The wheel carries the .mo files (checked by hand with ``pip wheel . --no-deps``: docs/user-guide.md)."""
    import fnmatch
    import tomllib

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["evidencectl"]
    for domain in ("evidencectl", "click"):
        member = catalog.mo_path(domain).relative_to(ROOT / "evidencectl").as_posix()
        assert any(fnmatch.fnmatch(member, p) for p in patterns), member
