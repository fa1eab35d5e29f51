"""Where the library keeps its state: the data directory and its configuration, as one object.

Every command of an installation reads and writes one data directory (registry, embedded TSA and ledger,
trust store, ``config.toml``). The public functions take a :class:`Context` (or, as before, the
directory's path); :meth:`Context.default` is ``$EVIDENCECTL_HOME`` or the platform's data directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .config import Config, home, load_config


@dataclass(frozen=True)
class Context:
    """The data directory ``base`` and its configuration (``config.toml``, read once, when first asked)."""

    base: Path
    """The data directory."""
    _config: list[Config] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def default(cls) -> Context:
        """The context of ``$EVIDENCECTL_HOME`` (or the platform's data directory), created if missing."""
        return cls(home())

    @classmethod
    def of(cls, where: Context | Path | str | None) -> Context:
        """``where`` as a context: a context itself, a data directory's path, or None for :meth:`default`."""
        if isinstance(where, Context):
            return where
        return cls.default() if where is None else cls(Path(where))

    @property
    def config(self) -> Config:
        """The configuration of the data directory (an empty one when there is no ``config.toml``)."""
        if not self._config:
            self._config.append(load_config(self.base))
        return self._config[0]
