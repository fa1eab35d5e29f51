"""Public RFC 3161 TSAs usable by name (``deposit --tsa freetsa``), with the roots evidencectl ships for them.

A third-party TSA is what makes a deposit's time prove something to someone else: the embedded TSA is the
depositor's own (docs/security.md). The roots in ``timestamp/roots/`` are trusted for role ``tsa`` only, as
third-party anchors, on every installation; each is the root a real token of that TSA chains to (the tokens
are in tests/assets/tsr and tests/test_timestamp_catalogue.py verifies them against these files). Where no
real token was at hand the entry ships no root: verify its tokens with ``--public-tsa-roots``.

A URL can be overridden per installation, e.g. to a mirror or a test server on loopback:
``[tsa.freetsa] url = "…"`` in config.toml, or the environment variable ``EVIDENCECTL_TSA_FREETSA_URL``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CatalogueTSA:
    """One public time-stamping authority."""

    name: str
    """The name given to ``--tsa``."""
    url: str
    """Where RFC 3161 requests are POSTed."""
    operator: str
    """Who runs it."""
    hashes: tuple[str, ...]
    """Imprint hash algorithms it accepts (sm3 is accepted by none of them)."""
    roots: tuple[str, ...]
    """Files in ``evidencectl/timestamp/roots/`` its tokens chain to (may be empty)."""
    source: str
    """Where the shipped root was taken from, and its licence."""
    note: str = ""
    """Anything a user should know (limits, staging, roots not shipped)."""
    trusted: bool = True
    """Whether its shipped roots are trusted (role ``tsa``, third-party) on every installation. False for a
    staging or test service: it is nobody's qualified third party, its keys may be shared or change, so its
    root ships for those who add it knowingly (``--trust tsa:FILE``) and vouches for nothing by default."""

    def to_json(self) -> dict[str, Any]:
        """Form used by ``tsa list --json``."""
        return {
            "name": self.name,
            "url": self.url,
            "operator": self.operator,
            "hashes": list(self.hashes),
            "roots": list(self.roots),
            "source": self.source,
            "note": self.note,
            "trusted": self.trusted,
        }


_CORPUS = "a real token of this TSA in tests/assets/tsr"
CATALOGUE: dict[str, CatalogueTSA] = {
    entry.name: entry
    for entry in (
        CatalogueTSA(
            "freetsa",
            "https://freetsa.org/tsr",
            "FreeTSA (freetsa.org, Germany)",
            ("sha256", "sha384", "sha512"),
            ("freetsa-root-ca.pem",),
            f"{_CORPUS} (01_freetsa_2017, dotnet/corefx test data, MIT); root published at freetsa.org",
            "free, no account; fair-use limits",
        ),
        CatalogueTSA(
            "digicert",
            "http://timestamp.digicert.com",
            "DigiCert, Inc.",
            ("sha256", "sha384", "sha512"),
            ("digicert-assured-id-root-ca.pem",),
            f"{_CORPUS} (03_digicert_2018, dotnet/corefx test data, MIT)",
            "newer responders chain to DigiCert Trusted Root G4: verify those with --public-tsa-roots",
        ),
        CatalogueTSA(
            "sectigo",
            "https://timestamp.sectigo.com",
            "Sectigo Limited",
            ("sha256", "sha384", "sha512"),
            (),
            "no root shipped: no real token was at hand to check one against",
            "asks for at most one request every 15 seconds; verify with --public-tsa-roots",
        ),
        CatalogueTSA(
            "globalsign",
            "http://timestamp.globalsign.com/tsa/r6advanced1",
            "GlobalSign nv-sa",
            ("sha256", "sha384", "sha512"),
            (),
            "no root shipped: the real token at hand chains to a root outside the public stores",
            "verify with --public-tsa-roots",
        ),
        CatalogueTSA(
            "sigstore-staging",
            "https://timestamp.sigstage.dev/api/v1/timestamp",
            "Sigstore (OpenSSF), staging",
            ("sha256", "sha384", "sha512"),
            ("sigstore-staging-tsa-root.pem",),
            f"{_CORPUS} (06_sigstage_2025, trailofbits/rfc3161-client fixtures, Apache-2.0)",
            "a staging service, for trials: its keys may change without notice; its root is shipped but not "
            "trusted (add it knowingly: verify --trust tsa:FILE)",
            trusted=False,
        ),
    )
}
"""Every TSA usable by name, in the order ``tsa list`` shows them."""


def env_name(name: str) -> str:
    """The environment variable overriding an entry's URL: ``EVIDENCECTL_TSA_<NAME>_URL``."""
    return f"EVIDENCECTL_TSA_{name.upper().replace('-', '_')}_URL"


def catalogue_url(entry: CatalogueTSA) -> str:
    """The entry's URL, or the one its environment variable gives."""
    return os.environ.get(env_name(entry.name)) or entry.url


def shipped_roots() -> list[tuple[str, bytes]]:
    """``(label, PEM bytes)`` of every shipped root trusted by default (not those of staging services),
    labelled ``catalogue <name>: <file>``."""
    folder = resources.files("evidencectl.timestamp") / "roots"
    out: list[tuple[str, bytes]] = []
    for entry in CATALOGUE.values():
        if not entry.trusted:
            continue
        for file in entry.roots:
            out.append((f"catalogue {entry.name}: {file}", (folder / file).read_bytes()))
    return out


def roots_folder() -> Path:
    """The folder holding the shipped roots (for documentation and ``tsa list``)."""
    return Path(str(resources.files("evidencectl.timestamp") / "roots"))


def embedded_only_hint(tsas: list[str], anchors: list[str]) -> str | None:
    """The warning for a deposit for a case whose time would rest on the depositor's own services only."""
    if any(t != "local" for t in tsas) or any(a != "local" for a in anchors):
        return None
    return (
        "warning: this deposit's time is attested only by your own embedded TSA and ledger, which prove nothing "
        "to the other party or the court. Add a third-party TSA: --tsa local --tsa freetsa "
        "(see 'evidencectl tsa list')."
    )
