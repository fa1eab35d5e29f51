"""What a deposit is asked to do, in the three parts its stages read, and what it produced.

:class:`DepositOptions` keeps the flat form callers build; each stage is handed only its part:
:class:`StatementOptions` (who deposits what, and the signing key), :class:`SourceOptions` (which inputs
and how to read them, :class:`AnalyzeSettings` for the analysers) and :class:`ServiceOptions` (TSAs, quorum,
anchors). ``capture`` builds the statement and service parts the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class StatementOptions:
    """What the deposit statement (leaf 0) says about the deposit, and who signs manifest.json."""

    case: str | None = None
    """Case number (案号) the evidence belongs to."""
    depositor: str | None = None
    """Who deposits it."""
    note: str | None = None
    """Free text recorded in the statement."""
    sign_key: Any = None
    """A crypto.keys.SigningKey to sign manifest.json with, or None."""
    sign_cert_der: bytes | None = None
    """The signer's certificate (DER), stored in certs/depositor.pem."""
    sign_chain_der: tuple[bytes, ...] = ()
    """Certificates above the signer's (intermediates of a CA-issued one), stored after it."""


@dataclass(frozen=True)
class ServiceOptions:
    """The TSAs and anchors that prove the roots, and how many TSAs make a deposit complete."""

    tsas: tuple[str, ...] = ("local",)
    """TSA specs: ``local`` or URLs."""
    anchors: tuple[str, ...] = ("local",)
    """Anchor specs: ``local`` or ``evm:RPC-URL``."""
    tsa_quorum: int = 1
    """How many TSAs must answer for the deposit to be complete."""
    contract: str | None = None
    """EvidenceRegistry address for ``evm:`` anchors, instead of the one remembered for the RPC URL."""

    def check(self) -> None:
        """Raise UsageError (exit 2) for a quorum the TSAs cannot meet."""
        if self.tsa_quorum < 1 or self.tsa_quorum > max(len(self.tsas), 1):
            from ..errors import UsageError

            quorum, given = self.tsa_quorum, len(self.tsas)
            raise UsageError(
                "--tsa-quorum must be at least 1"
                if quorum < 1
                else f"--tsa-quorum {quorum} needs at least {quorum} --tsa; {given} given"
            )


@dataclass(frozen=True)
class AnalyzeSettings:
    """What the analysers (collect/analyze.py) are told, in the deposit process and in its workers."""

    strict: bool = False
    """Refuse inputs whose content cannot be fully read."""
    offline: bool = False
    """No network lookups (DKIM keys only from ``keys``)."""
    keys: Mapping[str, bytes] | None = None
    """DKIM key records loaded from ``--dkim-keys``."""


@dataclass(frozen=True)
class SourceOptions:
    """Which inputs a deposit takes and how they are read."""

    inputs: tuple[str, ...] = ()
    """Files, folders and ``-`` (stdin)."""
    from_list: Path | None = None
    """A file listing paths (or ``sha256sum`` lines)."""
    follow_symlinks: bool = False
    """Follow symbolic links inside folders."""
    hash_only: bool = False
    """Record digests only; keep the originals out of the package."""
    strict: bool = False
    """Refuse inputs whose content cannot be fully read (malformed mail, image metadata)."""
    offline: bool = False
    """No network lookups while analysing (DKIM keys only from ``dkim_keys``)."""
    dkim_keys: Path | None = None
    """Zone-file style DKIM key records for offline checks."""
    max_size: int = 4 << 30
    """Most bytes read from standard input (``--max-size``): more is refused, nothing is written."""

    def analyze_settings(self) -> AnalyzeSettings:
        """The analysers' settings, with the DKIM key file loaded (a bad file is exit 4)."""
        keys = None
        if self.dkim_keys is not None:
            from ..collect.mailauth import load_dkim_keys

            keys = load_dkim_keys(self.dkim_keys)
        return AnalyzeSettings(strict=self.strict, offline=self.offline, keys=keys)


@dataclass
class DepositOptions:
    """Everything a deposit can be asked to do (flat, as the CLI and scripts build it)."""

    inputs: list[str]
    """Files, folders and ``-`` (stdin) to deposit."""
    out: Path
    """Where the ``.evp`` package goes."""
    case: str | None = None
    """Case number (案号) the evidence belongs to."""
    depositor: str | None = None
    """Who deposits it."""
    note: str | None = None
    """Free text recorded in the statement."""
    tsas: list[str] = field(default_factory=lambda: ["local"])
    """TSA specs: ``local`` or URLs."""
    anchors: list[str] = field(default_factory=lambda: ["local"])
    """Anchor specs: ``local`` or ``evm:RPC-URL``."""
    tsa_quorum: int = 1
    """How many TSAs must answer for the deposit to be complete."""
    hash_only: bool = False
    """Record digests only; keep the originals out of the package."""
    force: bool = False
    """Replace an existing output."""
    from_list: Path | None = None
    """A file listing paths (or ``sha256sum`` lines)."""
    follow_symlinks: bool = False
    """Follow symbolic links inside folders."""
    strict: bool = False
    """Refuse inputs whose content cannot be fully read (malformed mail, image metadata)."""
    offline: bool = False
    """No network lookups while analysing (DKIM keys only from ``dkim_keys``)."""
    dkim_keys: Path | None = None
    """Zone-file style DKIM key records for offline checks."""
    sign_key: Any = None
    """A crypto.keys.SigningKey to sign manifest.json with, or None."""
    sign_cert_der: bytes | None = None
    """The signer's certificate (DER), stored in certs/depositor.pem."""
    sign_chain_der: tuple[bytes, ...] = ()
    """Certificates above the signer's (intermediates of a CA-issued one), stored after it."""
    contract: str | None = None
    """EvidenceRegistry address for ``evm:`` anchors, instead of the one remembered for the RPC URL."""
    max_size: int = 4 << 30
    """Most bytes read from standard input (``--max-size``): more is refused, nothing is written."""

    @classmethod
    def of(
        cls,
        out: Path,
        sources: SourceOptions,
        statement: StatementOptions,
        services: ServiceOptions,
        *,
        force: bool = False,
    ) -> DepositOptions:
        """The options made of their three parts (what ``capture`` does)."""
        return cls(
            inputs=list(sources.inputs),
            out=out,
            case=statement.case,
            depositor=statement.depositor,
            note=statement.note,
            tsas=list(services.tsas),
            anchors=list(services.anchors),
            tsa_quorum=services.tsa_quorum,
            hash_only=sources.hash_only,
            force=force,
            from_list=sources.from_list,
            follow_symlinks=sources.follow_symlinks,
            strict=sources.strict,
            offline=sources.offline,
            dkim_keys=sources.dkim_keys,
            sign_key=statement.sign_key,
            sign_cert_der=statement.sign_cert_der,
            sign_chain_der=statement.sign_chain_der,
            contract=services.contract,
            max_size=sources.max_size,
        )

    @property
    def statement(self) -> StatementOptions:
        """The statement part."""
        return StatementOptions(
            self.case, self.depositor, self.note, self.sign_key, self.sign_cert_der, self.sign_chain_der
        )

    @property
    def sources(self) -> SourceOptions:
        """The inputs part."""
        return SourceOptions(
            tuple(self.inputs),
            self.from_list,
            self.follow_symlinks,
            self.hash_only,
            self.strict,
            self.offline,
            self.dkim_keys,
            self.max_size,
        )

    @property
    def services(self) -> ServiceOptions:
        """The services part."""
        return ServiceOptions(tuple(self.tsas), tuple(self.anchors), self.tsa_quorum, self.contract)


@dataclass
class DepositResult:
    """What a deposit produced."""

    deposit_id: str
    """The deposit number."""
    package: Path
    """The package path (final, or the staging file while pending)."""
    status: str
    """``complete`` or ``pending``."""
    items: int
    """Number of items (files and derived parts)."""
    roots: dict[str, str]
    """Merkle roots per algorithm."""
    timestamps: list[str] = field(default_factory=list)
    """Package members of the timestamp responses obtained."""
    anchors: list[str] = field(default_factory=list)
    """Package members of the anchor receipts obtained."""
    pending: list[dict[str, str]] = field(default_factory=list)
    """Services that failed: ``{"kind": "tsa"|"anchor", "spec": ..., "error": ...}``."""
    warnings: list[str] = field(default_factory=list)
    """What was passed over or could not be read."""
    staging: Path | None = None
    """While pending: the staging file that keeps what was done (``deposit --resume`` finishes it)."""

    def pending_message(self) -> str:
        """One line for a pending deposit: its number, the failed services, the staging file, what to do."""
        failed = "; ".join(f"{p['kind']} {p['spec']}: {p['error']}" for p in self.pending)
        return (
            f"deposit {self.deposit_id} is pending ({failed}); what was done is kept in {self.staging}; "
            "run 'evidencectl deposit --resume' when the service is back"
        )

    def to_json(self) -> dict[str, Any]:
        """JSON form (schemas/deposit-result.schema.json)."""
        return {
            "deposit_id": self.deposit_id,
            "package": str(self.package),
            "status": self.status,
            "items": self.items,
            "roots": self.roots,
            "timestamps": self.timestamps,
            "anchors": self.anchors,
            "pending": self.pending,
            "warnings": self.warnings,
            "staging": None if self.staging is None else str(self.staging),
        }
