"""What ``evidencectl doctor`` checks: the tools and optional modules evidencectl works with, each found or
not, with how to install what is missing.

Only Python's own SM3 is required (every deposit hashes with it). The rest serve one purpose each: the
by-hand checks (openssl), web capture (Chromium), EVM chains (web3; Anvil as a local test node), and the
independent ZIP readers that show a package extracts everywhere (unzip, 7z, bsdtar).
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .i18n import N_, _

SM3_OF_EMPTY = "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"
"""SM3 of the empty string (GB/T 32905-2016), to check an SM3 implementation gives the right answer."""

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _result(name: str, ok: bool, detail: str, install: str, required: bool = False) -> dict[str, Any]:
    return {"name": name, "ok": ok, "detail": detail, "install": install, "required": required}


def _run(argv: list[str], data: bytes = b"") -> str | None:
    """The stdout of a short command, or None when it cannot run or fails."""
    try:
        done = subprocess.run(argv, input=data, capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else None


def _python_sm3() -> dict[str, Any]:
    try:
        ok = hashlib.new("sm3", b"").hexdigest() == SM3_OF_EMPTY
    except ValueError:
        ok = False
    detail = _("hashlib (OpenSSL) computes SM3") if ok else _("Python's OpenSSL has no SM3")
    return _result("python SM3", ok, detail, _("a Python built against OpenSSL 1.1.1 or 3"), required=True)


def _openssl() -> dict[str, Any]:
    install = _("apt-get install openssl (OpenSSL 3; brew install openssl@3 on macOS)")
    path = shutil.which("openssl")
    if path is None:
        return _result("openssl", False, _("not on PATH (needed for the by-hand checks)"), install)
    version = (_run([path, "version"]) or "").strip()
    sm3 = _run([path, "dgst", "-sm3"])
    if sm3 is None or SM3_OF_EMPTY not in sm3:
        detail = _("{version} has no SM3 (openssl dgst -sm3 fails)").format(version=version or path)
        return _result("openssl", False, detail, install)
    ts = _run([path, "ts", "-help"]) is not None or _run([path, "list", "-commands"]) is not None
    detail = _("{version}, with SM3 and ts") if ts else _("{version}, with SM3")
    return _result("openssl", True, detail.format(version=version), install)


def _which(name: str, commands: tuple[str, ...], purpose: str, install: str) -> dict[str, Any]:
    for command in commands:
        path = shutil.which(command)
        if path is not None:
            return _result(name, True, f"{path} ({_(purpose)})", install)
    return _result(name, False, _("not found ({purpose})").format(purpose=_(purpose)), install)


def _anvil() -> dict[str, Any]:
    install = _("npm install @foundry-rs/anvil (or Foundry's foundryup)")
    local = Path("node_modules/.bin/anvil")
    path = shutil.which("anvil") or (str(local.resolve()) if local.exists() else None)
    if path is None:
        return _result("anvil", False, _("not found (a local Ethereum node for trying --anchor evm:)"), install)
    return _result(
        "anvil", True, _("{path} (a local Ethereum node for trying --anchor evm:)").format(path=path), install
    )


def _web3() -> dict[str, Any]:
    ok = importlib.util.find_spec("web3") is not None
    detail = _("installed (EVM anchors, chain deploy, verify --online)") if ok else _("not installed (EVM anchors)")
    return _result("web3", ok, detail, "pip install 'evidencectl[chain]'")


def run_checks() -> list[dict[str, Any]]:
    """Every check, in a fixed order: name, ok, detail, install, required."""
    return [
        _python_sm3(),
        _openssl(),
        _which("chromium", BROWSERS, "evidencectl capture", _("apt-get install chromium (scripts/install-browser.sh)")),
        _web3(),
        _anvil(),
        _which("unzip", ("unzip",), N_("an independent reader of packages"), "apt-get install unzip"),
        _which("7z", ("7z", "7zz"), N_("an independent reader of packages"), "apt-get install p7zip-full"),
        _which("bsdtar", ("bsdtar",), N_("an independent reader of packages"), "apt-get install libarchive-tools"),
    ]
