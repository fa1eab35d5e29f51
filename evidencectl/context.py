"""Where the library keeps its state: the data directory and its configuration, as one object.

Every command of an installation reads and writes one data directory (registry, embedded TSA and ledger,
trust store, ``config.toml``). The public functions take a :class:`Context` (or, as before, the
directory's path); :meth:`Context.default` is ``$EVIDENCECTL_HOME`` or the platform's data directory.

The layout of the data directory is written here once, as the named places below; the library asks the
context for a place (``ctx.keys_dir``, ``ctx.ledger_db``) instead of joining names to ``ctx.base``, so that
moving a file is one line. A place is only named, never created: whoever writes there creates it (with the
mode it needs, such as 0700 for keys).
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

    def __post_init__(self) -> None:
        # ``Context("/srv/evidence")``: a str or os.PathLike is a path too (docs/library.md), and every user of
        # ``base`` joins names to it.
        if not isinstance(self.base, Path):
            from .pathargs import as_path

            object.__setattr__(self, "base", as_path(self.base))

    @classmethod
    def default(cls) -> Context:
        """The context of ``$EVIDENCECTL_HOME`` (or the platform's data directory), created if missing."""
        return cls(home())

    @classmethod
    def of(cls, where: Context | Path | str | None) -> Context:
        """``where`` as a context: a context itself, a data directory's path (str or os.PathLike too), or None
        for :meth:`default`."""
        if isinstance(where, Context):
            return where
        return cls.default() if where is None else cls(Path(where))

    @property
    def config(self) -> Config:
        """The configuration of the data directory (an empty one when there is no ``config.toml``)."""
        if not self._config:
            self._config.append(load_config(self.base))
        return self._config[0]

    # -- the named places of the data directory ----------------------------------------------------------

    @property
    def registry_path(self) -> Path:
        """``registry.sqlite``: the embedded registry (unless ``[registry] url`` names PostgreSQL)."""
        return self.base / "registry.sqlite"

    @property
    def keys_dir(self) -> Path:
        """``keys/``: the depositor keys (``crypto/keystore.py``)."""
        return self.base / "keys"

    @property
    def service_dir(self) -> Path:
        """``service/``: the evidence service's own files: uploads, packages, certificates (``service/``)."""
        return self.base / "service"

    @property
    def user_keys_dir(self) -> Path:
        """``service/keys/``: the evidence service's per-user signing keys (``cli/user_keys.py``)."""
        return self.service_dir / "keys"

    @property
    def trust_dir(self) -> Path:
        """``trust/``: the trust store, one folder per role (``crypto/trust.py``)."""
        return self.base / "trust"

    def trust_folder(self, role: str) -> Path:
        """``trust/<role>/``: the anchors trusted for ``role`` (``tsa``, ``ledger``, ``signer``, ``chain``)."""
        return self.trust_dir / role

    @property
    def tsa_dir(self) -> Path:
        """``tsa/``: the embedded TSA, one folder per signature algorithm (``timestamp/authority.py``)."""
        return self.base / "tsa"

    @property
    def ledger_dir(self) -> Path:
        """``ledger/``: the embedded ledger's database and node key (``anchor/ledger.py``)."""
        return self.base / "ledger"

    @property
    def ledger_db(self) -> Path:
        """``ledger/ledger.sqlite``: the embedded ledger's blocks."""
        return self.ledger_dir / "ledger.sqlite"

    @property
    def chains_path(self) -> Path:
        """``chains.json``: the registry contracts ``chain deploy`` made, per RPC URL (``anchor/evm.py``)."""
        return self.base / "chains.json"

    @property
    def installation_id_path(self) -> Path:
        """``installation-id``: this installation's id, named by its embedded services' certificates."""
        return self.base / "installation-id"

    @property
    def seal_dir(self) -> Path:
        """``report/``: this installation's report seal key and certificate (``report/seal.py``)."""
        return self.base / "report"

    @property
    def resume_locks_dir(self) -> Path:
        """``resume-locks/``: one lock file per pending deposit being resumed (``deposit/resuming.py``)."""
        return self.base / "resume-locks"
