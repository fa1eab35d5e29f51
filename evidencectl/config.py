"""Data directory, configuration file (TOML) and environment.

The library reads ``config.toml`` through :attr:`evidencectl.context.Context.config`, once per context; the
readers of single settings below take that :class:`Config`, never a path, so that asking for a setting
never reads the file again."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BadInputError
from .i18n import _

HOME_ENV = "EVIDENCECTL_HOME"


def home() -> Path:
    """The data directory: ``$EVIDENCECTL_HOME`` or the platform's user data directory."""
    env = os.environ.get(HOME_ENV)
    if env:
        path = Path(env).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("evidencectl", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class Config:
    """Settings read from ``config.toml`` in the data directory (all optional)."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        """A top-level table of the configuration, or an empty dict."""
        value = self.data.get(name, {})
        return value if isinstance(value, dict) else {}


def load_config(base: Path) -> Config:
    """Read ``config.toml`` from the data directory ``base``; a missing file is an empty configuration.

    The one reader of the file, and the one function here that takes the directory's path: it is what
    :attr:`Context.config <evidencectl.context.Context.config>` calls (this module sits below
    ``context.py``, which imports it). Everyone else asks a ``Context`` for its ``config``."""
    path = base / "config.toml"
    if not path.exists():
        return Config(path=path)
    import tomllib  # here: a data directory without config.toml does not load it (~2.5 ms of start-up)

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadInputError(_("cannot read configuration: {exc}").format(exc=exc), path=path) from exc
    return Config(path=path, data=data)


def require_independent_default(config: Config) -> bool:
    """``[verify] require_independent = true`` in config.toml (a court's default): verifications whose time
    rests only on depositor-operated services are INDETERMINATE."""
    value = config.section("verify").get("require_independent", False)
    if not isinstance(value, bool):
        raise BadInputError(_("[verify] require_independent must be true or false"), path=config.path)
    return value


def registry_url(config: Config) -> str:
    """``[registry] url`` of the configuration (``postgresql://…``), or "" for the embedded SQLite file."""
    url = config.section("registry").get("url", "")
    if not isinstance(url, str):
        raise BadInputError(_("[registry] url must be a string"), path=config.path)
    return url


REPORT_KEYS = ("issuer", "operator", "filing", "licence", "verify_url")


def report_settings(config: Config) -> dict[str, str]:
    """``[report]`` of config.toml: ``issuer`` (installation or platform named under the title), ``operator``,
    ``filing`` and ``licence`` (qualification numbers) and ``verify_url`` (QR link template); absent keys are
    "" (docs/reports.md)."""
    section = config.section("report")
    out: dict[str, str] = {}
    for key in REPORT_KEYS:
        value = section.get(key, "")
        if not isinstance(value, str):
            raise BadInputError(_("[report] {key} must be a string").format(key=key), path=config.path)
        out[key] = value.strip()
    return out
