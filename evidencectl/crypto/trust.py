"""The user's trust store: certificates and bare public keys trusted for a role.

Layout: ``<home>/trust/<role>/*.pem``, each file holding certificates and/or ``PUBLIC KEY`` blocks, and
``<home>/trust/chain/*.toml`` for trusted chains. Verification trusts only what is here (plus files named
with ``verify --trust ROLE:FILE`` and the ``trust`` entries of config.toml), never a certificate merely
because an evidence package carries it, and a file trusted for one role is never used for another.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..errors import BadInputError, UsageError
from ..i18n import _
from .anchors import TrustAnchor, parse_anchors, select_for_role
from .trust_sources import TRUST_ROLES

if TYPE_CHECKING:
    from ..context import Context
    from .trust_sources import TrustedChain

TrustRole = Literal["tsa", "ledger", "chain", "signer"]
LEGACY_FOLDERS = {"depositor": "signer", "ca": "signer"}
"""Folders of older data directories, read as the role they became."""
OWN_PREFIXES = ("own-", "ledger-node-")
"""File-name prefixes of anchors the embedded services installed (operator ``own``)."""


def _check_role(role: str) -> None:
    """Refuse a role name the store does not know."""
    if role not in TRUST_ROLES:
        raise UsageError(
            _("unknown trust role {role!r} (use one of {join})").format(role=role, join=", ".join(TRUST_ROLES))
        )


def _anchor_key(anchor: TrustAnchor) -> tuple[str, bytes]:
    """What identifies an anchor for bookkeeping: its role and key."""
    return anchor.role, anchor.spki_der


def _pem_blocks(data: bytes) -> list[bytes]:
    """Each ``-----BEGIN …-----`` block of a PEM bundle on its own."""
    out, current = [], []
    for line in data.splitlines(keepends=True):
        if line.startswith(b"-----BEGIN"):
            current = [line]
        elif current:
            current.append(line)
            if line.startswith(b"-----END"):
                out.append(b"".join(current))
                current = []
    return out


class TrustStore:
    """The anchors of ``ctx.trust_dir/<role>/``, of the ``--trust ROLE:FILE`` files and of config.toml."""

    def __init__(self, context: Context, anchors: list[TrustAnchor], chains: Sequence[TrustedChain] = ()) -> None:
        """Use :meth:`load` or :meth:`for_verification` rather than this constructor."""
        self.context = context
        """The data directory whose store this is (``add_file`` and ``remove`` change it)."""
        self._anchors = anchors
        self._chains = list(chains)
        self._used: dict[tuple[str, bytes], None] = {}
        self.expect_signer: str | None = None
        """``verify --expect-signer``: the one signer (fingerprint or name) this verification accepts."""

    @classmethod
    def load(
        cls,
        context: Context | Path | str | None,
        extra: Sequence[str | tuple[str, Path]] = (),
        *,
        system_tsa: Path | None = None,
        catalogue: bool = True,
    ) -> TrustStore:
        """Read every ``trust/<role>/*.pem`` (and ``trust/chain/*.toml``) of the data directory ``context`` (a
        :class:`~evidencectl.context.Context` or its path; None: the default one) plus the ``extra`` files.

        ``extra`` entries are ``"ROLE:FILE"`` (as ``verify --trust`` takes them) or ``(role, path)``; each
        counts for its role only. ``system_tsa`` names a bundle of public roots (the operating system's or
        certifi's) trusted as TSA roots only: public timestamp authorities chain to them, but they must
        never vouch for a depositor or a ledger. The roots of the public TSAs in
        :mod:`evidencectl.timestamp.catalogue` are trusted (unless ``catalogue`` is False) for role ``tsa``
        only, as third-party anchors.
        """
        from ..context import Context
        from .trust_sources import load_chain_file, parse_trust_spec

        ctx = Context.of(context)
        anchors: list[TrustAnchor] = []
        chains: list[TrustedChain] = []
        if system_tsa is not None:
            for block in _pem_blocks(_read(Path(system_tsa))):
                try:
                    anchors.extend(parse_anchors(block, "tsa", f"system bundle {system_tsa}"))
                except BadInputError:
                    continue  # one unusable certificate in a public bundle must not make the rest unusable
        from ..timestamp.catalogue import shipped_roots

        for label, data in shipped_roots() if catalogue else ():  # public TSAs: TSA roots only, third-party
            anchors.extend(parse_anchors(data, "tsa", label))
        for folder_name in (*TRUST_ROLES, *LEGACY_FOLDERS):
            role = LEGACY_FOLDERS.get(folder_name, folder_name)
            folder = ctx.trust_folder(folder_name)
            if not folder.is_dir():
                continue
            if role == "chain":
                for path in sorted(folder.glob("*.toml")):
                    chains.extend(load_chain_file(path, operator="third-party"))
                continue
            for path in sorted(folder.glob("*.pem")):
                own = path.name.startswith(OWN_PREFIXES)
                anchors.extend(
                    replace(a, operator="own") if own else a for a in parse_anchors(_read(path), role, str(path))
                )
        for entry in extra:
            # A path alone (no role) is refused like a bare --trust FILE.
            role, path = (entry[0], Path(entry[1])) if isinstance(entry, tuple) else parse_trust_spec(str(entry))
            _check_role(role)
            if role == "chain":
                chains.extend(load_chain_file(path, operator="third-party"))
                continue
            kept, _left_out = select_for_role(parse_anchors(_read(path), role, str(path)), role)
            anchors.extend(kept)
        return cls(ctx, anchors, chains)

    @classmethod
    def for_verification(
        cls,
        context: Context | Path | str | None,
        trust_specs: Sequence[str] = (),
        *,
        public_tsa_roots: bool = False,
        rpc: Sequence[str] = (),
        expect_signer: str | None = None,
    ) -> TrustStore:
        """The trust a verification uses, the same for ``verify``, ``report`` and every library caller.

        The store of the data directory ``context`` (a :class:`~evidencectl.context.Context` or its path);
        the ``trust`` files of config.toml (``[tsa.NAME] trust`` counts as a
        TSA root, ``[trust] anchors = ["ROLE:FILE", …]`` for its role); ``[chain.NAME]`` entries and the
        chains this installation deployed to; ``trust_specs`` (``ROLE:FILE``, from ``--trust``); with
        ``public_tsa_roots`` the public bundle (``[trust] public_tsa_bundle``, else the system's, else
        certifi's) as TSA roots only; ``rpc`` (``--rpc``) nodes the verifier chose, asked online;
        ``expect_signer`` (``--expect-signer``) the one signer accepted.
        """
        from ..context import Context
        from .trust_sources import configured_chains, configured_specs, public_bundle, rpc_chains

        ctx = Context.of(context)
        config = ctx.config
        specs: list[str | tuple[str, Path]] = [*configured_specs(config), *trust_specs]
        store = cls.load(ctx, specs, system_tsa=public_bundle(config) if public_tsa_roots else None)
        store._chains.extend(configured_chains(ctx))
        store._chains.extend(rpc_chains(rpc))
        store.expect_signer = expect_signer
        return store

    def add_file(self, path: Path, role: str, *, operator: str = "third-party") -> list[TrustAnchor]:
        """Copy the anchors in ``path`` into ``trust/<role>/``, one PEM per anchor named by fingerprint.

        Only what :func:`select_for_role` keeps is stored (the root of a TSA chain file); adding an anchor
        already trusted for the role is a no-op. Returns the anchors stored; :meth:`left_out` says what a
        file held that was not stored. A ``chain`` file (TOML ``[chain.NAME]`` tables) is copied whole.
        ``operator="own"`` (the embedded services only) stores it as ``own-<fingerprint>.pem``.
        """
        from .files import write_new_file  # here: most commands store nothing (and it loads hashlib)

        _check_role(role)
        folder = self.context.trust_folder(role)
        if role == "chain":
            from .trust_sources import store_chain_file

            self._chains.extend(store_chain_file(Path(path), folder))
            return []  # chains are not certificates: no anchor to return
        folder.mkdir(parents=True, exist_ok=True)
        added: list[TrustAnchor] = []
        kept, self._left_out = select_for_role(parse_anchors(_read(Path(path)), role, str(path)), role)
        for anchor in kept:
            plain = folder / f"{anchor.fingerprint[:32]}.pem"
            target = folder / f"own-{plain.name}" if operator == "own" else plain
            if operator == "own" and plain.exists() and not target.exists():
                plain.rename(target)  # installed by an older version, before anchors had an operator
            if not target.exists():
                write_new_file(target, anchor.pem(), mode=0o644)
            stored = TrustAnchor(role, anchor.subject, anchor.fingerprint, str(target), anchor.der, operator)
            if stored not in self._anchors:
                self._anchors.append(stored)
            added.append(stored)
        return added

    def left_out(self) -> list[TrustAnchor]:
        """What the last :meth:`add_file` found in its file but did not store (e.g. a TSA's own certificate)."""
        return list(getattr(self, "_left_out", []))

    def remove(self, fingerprint: str) -> list[TrustAnchor]:
        """Delete every stored anchor whose fingerprint starts with ``fingerprint`` (at least 8 hex digits).

        Raises :class:`UsageError` if the prefix is too short or matches nothing. A file holding several
        anchors is rewritten without the removed one. Anchors of config.toml or ``--trust`` are not stored
        here and cannot be removed.
        """
        from .files import write_new_file

        prefix = fingerprint.strip().lower().replace(":", "")
        if len(prefix) < 8:
            raise UsageError(_("give at least 8 hex digits of the fingerprint"))
        trust_dir = self.context.trust_dir
        gone = [
            a for a in self._anchors if a.fingerprint.startswith(prefix) and Path(a.source).parent.parent == trust_dir
        ]
        if not gone:
            raise UsageError(_("no trusted anchor has fingerprint {prefix}").format(prefix=prefix))
        for source in {a.source for a in gone}:
            keep = [a for a in self._anchors if a.source == source and a not in gone]
            if keep:
                write_new_file(Path(source), b"".join(a.pem() for a in keep), mode=0o644, replace=True)
            else:
                Path(source).unlink(missing_ok=True)
        self._anchors = [a for a in self._anchors if a not in gone]
        return gone

    def anchors(self, role: str | None = None) -> list[TrustAnchor]:
        """Anchors trusted for ``role``, or all anchors when ``role`` is None."""
        if role is None:
            return list(self._anchors)
        _check_role(role)
        return [a for a in self._anchors if a.role == role]

    def chains(self) -> list[TrustedChain]:
        """The chains trusted for anchors: registry contracts, their chain ids and the nodes to ask."""
        return list(self._chains)

    def certificates(self, role: str | None = None) -> list[bytes]:
        """DER certificates usable as roots for ``role``."""
        return _unique(a.der for a in self.anchors(role) if a.is_certificate)

    def public_keys(self, role: str | None = None) -> list[bytes]:
        """SPKI DER of the trusted keys and of the trusted certificates' keys for ``role``."""
        return _unique(a.spki_der for a in self.anchors(role))

    def trusts_key(self, spki_der: bytes, role: str) -> bool:
        """True when the public key (bare, or in a trusted certificate) is trusted for ``role``."""
        return spki_der in self.public_keys(role)

    def note_used(self, role: str, der: bytes) -> None:
        """Record that the anchor of ``role`` with this certificate (or SPKI) DER validated a check."""
        for anchor in self.anchors(role):
            if der == anchor.der or der == anchor.spki_der:
                self._used.setdefault(_anchor_key(anchor), None)

    def used(self) -> list[TrustAnchor]:
        """The anchors that validated something since the store was loaded, in store order."""
        seen: set[tuple[str, str]] = set()
        out: list[TrustAnchor] = []
        for anchor in self._anchors:
            if _anchor_key(anchor) in self._used and (anchor.role, anchor.fingerprint) not in seen:
                seen.add((anchor.role, anchor.fingerprint))
                out.append(anchor)
        return out


def _unique(items: Iterable[bytes]) -> list[bytes]:
    """Distinct byte strings, first occurrence first."""
    seen: dict[bytes, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


def _read(path: Path) -> bytes:
    """Read a trust file, mapping OS errors to :class:`BadInputError`."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BadInputError(_("cannot read trust file: {value}").format(value=exc.strerror or exc), path=path) from exc
