"""The art. 17 section (四要素) of 《人民法院在线诉讼规则》, filled only from facts the tool knows.

(一) operator and qualification: ``[report]`` issuer, operator, filing and licence numbers, "未声明 / none
declared" where the configuration says nothing; (二) party–platform relation: every timestamp and anchor
service with its operator, depositor-operated ones disclosed; (三) system: tool and dependency versions, a
SHA-256 of the installed program anyone can recompute with coreutils, the capture's environment checks;
(四) process: the steps of the deposit with the standard each follows and whether it was done here.
"""

from __future__ import annotations

import hashlib
import platform
import ssl
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..checks import Status, VerificationReport
from .answer import attester_of
from .model import Block, Cell, Fields, Heading, Table, t
from .sentences import sentence

DEPENDENCIES = ("cryptography", "asn1crypto", "pyhanko-certvalidator", "tongsuopy", "reportlab", "segno", "requests")
"""Libraries whose versions decide how digests, signatures, paths and reports are computed."""


@lru_cache(maxsize=1)
def distribution_sha256() -> str:
    """SHA-256 of ``sha256sum`` lines of every ``.py`` file of the installed evidencectl, sorted by path:
    the same value as ``find evidencectl -name '*.py' -type f | LC_ALL=C sort | xargs sha256sum | sha256sum``
    run in the folder that holds the package."""
    root = Path(__file__).resolve().parent.parent
    paths = sorted(
        (p for p in root.rglob("*.py") if p.is_file()), key=lambda p: p.relative_to(root.parent).as_posix().encode()
    )
    lines = b"".join(
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(root.parent).as_posix()}\n".encode()
        for p in paths
    )
    return hashlib.sha256(lines).hexdigest()


def dependency_versions() -> list[str]:
    """``name version`` of each library in :data:`DEPENDENCIES` (``not installed`` when absent), Python, OpenSSL."""
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in DEPENDENCIES:
        try:
            out.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            out.append(f"{name} —")
    out.append(f"Python {platform.python_version()}")
    out.append(ssl.OPENSSL_VERSION)
    return out


def _qualification(settings: dict[str, str], L: dict[str, str]) -> Fields:
    def value(key: str) -> Cell:
        text = settings.get(key, "")
        return [t(text)] if text else [t(L["undeclared"], bold=True)]

    return Fields(
        [
            (L["a17_issuer"], value("issuer")),
            (L["a17_operator"], value("operator")),
            (L["a17_filing"], value("filing")),
            (L["a17_licence"], value("licence")),
        ]
    )


def _relation(report: VerificationReport, L: dict[str, str]) -> list[Block]:
    rows: list[list[Cell]] = []
    seen = set()
    for c in report.checks:
        if not c.check.startswith(("timestamp:", "anchor:")):
            continue
        a = attester_of(c)
        if (a.name, a.kind) in seen:
            continue
        seen.add((a.name, a.kind))
        kind = L["tsa"] if a.kind == "timestamp" else L["anchors"]
        rows.append([[t(a.name)], [t(kind)], [t(L["op_own" if a.own else "op_third"], bold=a.own)]])
    blocks: list[Block] = [Heading(L["a17_2"])]
    if rows:
        blocks.append(Table([L["a17_services"], L["anchor_type"], L["a17_operator"]], rows, [0.5, 0.2, 0.3]))
    notes = [L["a17_third_note"]]
    if any(r[2][0].bold for r in rows):
        notes.insert(0, L["a17_own_note"])
    blocks.append(Fields([(L["note"], [t(n) for n in notes])]))
    return blocks


def _system(report: VerificationReport, L: dict[str, str], capture: Any) -> Fields:
    st = (report.manifest or {}).get("statement") or {}
    env: Cell
    checks = [c for c in report.checks if c.check.startswith("capture:")]
    if capture is None and not checks:
        env = [t(L["a17_env_none"])]
    else:
        env = []
        for c in checks:
            text, _ = sentence(c, L["lang"], L)
            env.append(t(f"{L[c.status.value]}{L['list_sep']}{text}", bold=c.status is not Status.PASSED))
            env += [t(str(note)) for note in c.facts.get("notes") or []]
        env = env or [t(L["none"])]
    return Fields(
        [
            (L["a17_tool"], [t(str(st.get("tool") or "—")), t(report.tool)]),
            (L["a17_deps"], [t(", ".join(dependency_versions()))]),
            (L["a17_dist"], [t(distribution_sha256(), mono=True), t(L["a17_dist_how"])]),
            (L["a17_env"], env),
        ]
    )


def _done(report: VerificationReport, prefix: str) -> bool:
    return any(
        c.check.startswith(prefix) and c.status is not Status.FAILED for c in report.checks if c.check != "anchor"
    )


def _process(report: VerificationReport, L: dict[str, str]) -> Table:
    signed = _done(report, "signature:")
    sig = next((c for c in report.checks if c.check.startswith("signature:")), None)
    sm2 = sig is not None and sig.facts.get("algorithm") == "sm2"
    steps = [
        ("s_collect", "SF/T 0076-2020 §6", True),
        ("s_fix", "GB/T 32905-2016 (SM3), FIPS 180-4 (SHA-256)", True),
        ("s_tree", "RFC 9162 §2.1", _done(report, "inclusion:")),
        ("s_sign", "GB/T 32918-2016 (SM2)" if sm2 or sig is None else str(sig.facts.get("algorithm", "")), signed),
        ("s_ts", "RFC 3161, RFC 5816", _done(report, "timestamp:")),
        ("s_anchor", "RFC 9162 (ledger), EVM log (chain)", _done(report, "anchor:")),
        ("s_seal", "SF/T 0076-2020 §6; ETSI EN 319 102-1", True),
    ]
    rows: list[list[Cell]] = [
        [[t(L[key])], [t(std)], [t(L["o_done"] if done else L["o_not"], bold=not done)]] for key, std, done in steps
    ]
    return Table([L["step"], L["standard"], L["outcome"]], rows, [0.5, 0.32, 0.18])


def art17_blocks(
    report: VerificationReport, L: dict[str, str], settings: dict[str, str], capture: Any = None
) -> list[Block]:
    """The art. 17 section: four headed parts, each from facts (or "none declared")."""
    blocks: list[Block] = [Heading(L["a17"]), Heading(L["a17_1"]), _qualification(settings, L)]
    blocks += _relation(report, L)
    blocks += [Heading(L["a17_3"]), _system(report, L, capture)]
    blocks += [Heading(L["a17_4"]), _process(report, L)]
    return blocks
