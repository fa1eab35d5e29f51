"""Where verification trust comes from besides ``<home>/trust/``: ``--trust ROLE:FILE``, config.toml and chains.

Every source names the role it is trusted for. A bare file is refused: a TSA root given "for everything"
once let a certificate minted with that root's key pass as a depositor's signature.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadInputError, UsageError
from ..i18n import _

if TYPE_CHECKING:
    from ..config import Config
    from ..context import Context

TRUST_ROLES: tuple[str, ...] = ("tsa", "ledger", "chain", "signer")
"""Roles an anchor can be trusted for: TSA roots, ledger node keys, chains (registry contracts and the
nodes that answer for them), and signers (a depositor's certificate or key, or a CA that certifies them)."""
ROLES_HELP = "tsa:FILE, signer:FILE, ledger:FILE or chain:FILE"
"""How the roles of ``--trust`` are spelled, for messages."""
SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
"""The operating system's bundle of public roots (Debian, Ubuntu, Alpine)."""
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
CHAIN_OPERATORS = ("third-party", "depositor", "own")
"""Values of a ``[chain.NAME]`` entry's ``operator``: who runs the chain's nodes."""


@dataclass(frozen=True)
class TrustedChain:
    """A chain the verifier trusts for anchors: which registry contract on which chain, and whom to ask."""

    name: str
    """Name of the entry (``[chain.NAME]``), or the URL of a ``--rpc`` node."""
    chain_id: int | None
    """EIP-155 chain id the registry lives on; None for a bare ``--rpc`` node (it says its own)."""
    contract: str | None
    """Address of the trusted EvidenceRegistry; None for a bare ``--rpc`` node."""
    rpc: str | None
    """JSON-RPC endpoint the verifier chose to ask online, if any."""
    senders: tuple[str, ...] = ()
    """Accounts whose anchors are trusted; empty: any sender (the facts then say so)."""
    source: str = ""
    """Where the entry was read from."""
    operator: str = "third-party"
    """``own`` for a registry this installation deployed; ``depositor`` for an entry marked
    ``operator = "depositor"`` (a chain the depositor runs, e.g. the lawyer's own Anvil or Besu node);
    ``third-party`` otherwise. Only a third-party chain makes an anchor's time independent."""

    def pins(self, chain_id: int, contract: str) -> bool:
        """True when this entry vouches for registry ``contract`` on chain ``chain_id``."""
        return self.chain_id == chain_id and (self.contract or "").lower() == contract.lower()


def parse_trust_spec(spec: str) -> tuple[str, Path]:
    """``"ROLE:FILE"`` -> (role, path); a bare file or an unknown role is a usage error naming the roles."""
    role, sep, file = str(spec).partition(":")
    if not sep or role not in TRUST_ROLES or not file:
        raise UsageError(
            _("--trust {spec}: say what the file is trusted for: {ROLES_HELP}").format(spec=spec, ROLES_HELP=ROLES_HELP)
        )
    return role, Path(file).expanduser()


def _spec_in_config(value: Any, where: str, config: Config, default_role: str | None) -> tuple[str, Path]:
    """A config ``trust`` value: ``"ROLE:FILE"``, or a bare file where the table implies the role."""
    if not isinstance(value, str) or not value:
        raise BadInputError(_('{where} must be a string "ROLE:FILE"').format(where=where), path=config.path)
    role, sep, _file = value.partition(":")
    try:
        return parse_trust_spec(value)
    except UsageError:
        if default_role is None or (sep and role.isalpha() and len(role) > 1):
            raise BadInputError(
                _("{where} = {value!r}: give the role ({ROLES_HELP})").format(
                    where=where, value=value, ROLES_HELP=ROLES_HELP
                ),
                path=config.path,
            ) from None
        return default_role, Path(value).expanduser()


def configured_specs(config: Config) -> list[tuple[str, Path]]:
    """The ``trust`` entries of config.toml, each with its role.

    ``[tsa.NAME] trust = "FILE"`` is the root of that TSA (``"tsa:FILE"`` says the same; another role is
    refused). ``[trust] anchors = ["signer:FILE", "ledger:FILE", …]`` must give each role.
    """
    specs: list[tuple[str, Path]] = []
    for name, settings in config.section("tsa").items():
        if isinstance(settings, dict) and settings.get("trust"):
            role, path = _spec_in_config(settings["trust"], f"[tsa.{name}] trust", config, "tsa")
            if role != "tsa":
                raise BadInputError(
                    _("[tsa.{name}] trust names role {role!r}: a TSA's root is a tsa root").format(
                        name=name, role=role
                    ),
                    path=config.path,
                )
            specs.append((role, path))
    anchors = config.section("trust").get("anchors", [])
    if not isinstance(anchors, list):
        raise BadInputError(_('[trust] anchors must be a list of "ROLE:FILE"'), path=config.path)
    for value in anchors:
        specs.append(_spec_in_config(value, "[trust] anchors", config, None))
    return specs


def public_bundle(config: Config) -> Path:
    """The public roots for ``--public-tsa-roots``: ``[trust] public_tsa_bundle``, else the operating system's
    bundle, else certifi's (which has dropped some roots that old TSA certificates chain to)."""
    configured = config.section("trust").get("public_tsa_bundle")
    if configured:
        return Path(str(configured)).expanduser()
    if SYSTEM_BUNDLE.is_file():
        return SYSTEM_BUNDLE
    import certifi

    return Path(certifi.where())


def _chain_entry(name: str, table: Mapping[str, Any], source: str, operator: str) -> TrustedChain:
    """One ``[chain.NAME]`` table checked for shape."""
    chain_id, contract, rpc = table.get("chain_id"), table.get("contract"), table.get("rpc")
    senders = table.get("senders", [])
    where = f"[chain.{name}]"
    if not isinstance(chain_id, int) or isinstance(chain_id, bool) or chain_id < 0:
        raise BadInputError(_("{where} chain_id must be a whole number").format(where=where), path=source)
    if not isinstance(contract, str) or not _ADDRESS.fullmatch(contract):
        raise BadInputError(
            _("{where} contract must be a 0x-prefixed 20-byte address").format(where=where), path=source
        )
    if rpc is not None and (not isinstance(rpc, str) or not rpc.startswith(("http://", "https://"))):
        raise BadInputError(_("{where} rpc must be an http(s):// URL").format(where=where), path=source)
    if not isinstance(senders, list) or not all(isinstance(a, str) and _ADDRESS.fullmatch(a) for a in senders):
        raise BadInputError(
            _("{where} senders must be a list of 0x-prefixed addresses").format(where=where), path=source
        )
    declared = table.get("operator", "third-party")
    if declared not in CHAIN_OPERATORS:
        raise BadInputError(
            _("{where} operator must be one of {names}").format(where=where, names=", ".join(CHAIN_OPERATORS)),
            path=source,
        )
    # The stricter word wins: an entry cannot make a chain this installation deployed a third party's.
    if operator == "third-party":
        operator = declared
    return TrustedChain(name, chain_id, contract, rpc, tuple(senders), source, operator)


def chains_of(data: Mapping[str, Any], source: str, operator: str) -> list[TrustedChain]:
    """The ``[chain.NAME]`` tables of a parsed TOML document."""
    section = data.get("chain", {})
    if not isinstance(section, dict):
        raise BadInputError(_("[chain] must hold [chain.NAME] tables"), path=source)
    return [_chain_entry(name, table, source, operator) for name, table in section.items() if isinstance(table, dict)]


def load_chain_file(path: Path, *, operator: str) -> list[TrustedChain]:
    """The chains of a ``chain:FILE`` trust file: TOML with ``[chain.NAME]`` tables (at least one)."""
    import tomllib  # here: every command imports this module, few read a chain file (~2.5 ms of start-up)

    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInputError(_("cannot read trust file: {value}").format(value=exc.strerror or exc), path=path) from exc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadInputError(_("not a TOML file of [chain.NAME] tables: {exc}").format(exc=exc), path=path) from exc
    chains = chains_of(data, str(path), operator)
    if not chains:
        raise BadInputError(_("no [chain.NAME] table (chain_id, contract, rpc) found"), path=path)
    return chains


def store_chain_file(path: Path, folder: Path) -> list[TrustedChain]:
    """Copy a ``chain:FILE`` into the trust store's ``chain`` folder (named by its SHA-256); its chains."""
    import hashlib

    from .files import write_new_file

    chains = load_chain_file(path, operator="third-party")
    data = Path(path).read_bytes()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{hashlib.sha256(data).hexdigest()[:32]}.toml"
    if not target.exists():
        write_new_file(target, data, mode=0o644)
    return chains


def configured_chains(ctx: Context) -> list[TrustedChain]:
    """``[chain.NAME]`` entries of config.toml, and the registries this installation deployed itself."""
    config = ctx.config
    chains = chains_of(config.data, str(config.path), "third-party")
    deployed = ctx.chains_path  # where `chain deploy` remembers the registries it deployed
    if deployed.is_file():
        try:
            records = json.loads(deployed.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BadInputError(_("cannot read the chain registry: {exc}").format(exc=exc), path=deployed) from exc
        for url, record in records.items() if isinstance(records, dict) else []:
            if isinstance(record, dict) and {"chain_id", "contract"} <= set(record):
                # Deployed here: a registry on a node of this machine (Anvil, a dev Besu) is this installation's
                # own chain, never independent; on a node elsewhere only the contract is ours, not the chain.
                record = {k: v for k, v in record.items() if k != "operator"}
                chains.append(_chain_entry(url, {**record, "rpc": url}, str(deployed), _deployed_operator(url)))
    return chains


def _deployed_operator(url: str) -> str:
    """``own`` for a registry deployed through a node on this machine (loopback), else ``third-party``."""
    import ipaddress
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return "own"
    try:
        return "own" if ipaddress.ip_address(host).is_loopback else "third-party"
    except ValueError:
        return "third-party"


def rpc_chains(urls: Sequence[str]) -> list[TrustedChain]:
    """The nodes given with ``verify --rpc URL``: asked online, pinning nothing by themselves."""
    out = []
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise UsageError(_("--rpc {url}: expected an http(s):// URL of a JSON-RPC node you chose").format(url=url))
        out.append(TrustedChain(url, None, None, url, (), "--rpc", "third-party"))
    return out
