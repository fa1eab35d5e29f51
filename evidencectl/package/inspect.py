"""Reading a package's manifest without verifying it (``evidencectl inspect``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .private import schema_refusal
from .reader import PackageReader
from .schema import validate_manifest


def read_manifest(path: Path) -> tuple[dict[str, Any], list[str]]:
    """The schema-checked manifest and the names of every member of a package, in archive order."""
    with PackageReader(path) as reader:
        manifest = reader.read_json("manifest.json")
        problem = validate_manifest(manifest)
        if problem:
            raise schema_refusal(manifest, problem, path)
        reader.check_version(manifest["version"])
        return manifest, reader.names()


def other_members(manifest: dict[str, Any], members: list[str]) -> list[str]:
    """The members that are no item's original (``mimetype``, the manifest, proofs, certificates, the
    signature, and anything the package holds that no item lists), in archive order: what ``inspect``
    lists after the items, so that it shows every member."""
    listed = {i.get("path") for i in manifest["items"]}
    return [m for m in members if m not in listed]


def _covered_by(name: str, listed: dict[str, int]) -> str:
    """What check covers member ``name`` (docs/format.md §1); ``nothing`` for what verify refuses."""
    if name in listed:
        return "item"
    if name == "mimetype":
        return "format"
    if name == "manifest.json":
        return "roots"
    if name in ("manifest.sig", "certs/depositor.pem"):
        return "signature"
    if name.startswith("proofs/timestamps/") and name.endswith(".tsr"):
        return "timestamp"
    if name.startswith("proofs/anchors/") and name.endswith(".json"):
        return "anchor"
    if name.startswith("certs/") and name.endswith(".pem"):
        return "chain-building"
    return "nothing"


def member_table(path: Path, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Every member of the package in archive order, as ``inspect --json`` lists it: name, size (bytes in
    the archive and extracted: the profile allows only stored members), method, CRC-32 and what covers it
    (``item`` with the item's id, ``roots``, ``timestamp``, ``anchor``, ``signature``, ``chain-building``,
    ``format``, or ``nothing``: a member verify refuses as NOT_COVERED)."""
    listed = {i["path"]: i["id"] for i in manifest["items"] if i.get("path")}
    out: list[dict[str, Any]] = []
    with PackageReader(path) as reader:
        for name, member in reader.infos.items():
            row: dict[str, Any] = {
                "name": name,
                "size": member.size,
                "compressed_size": member.size,
                "method": "stored",
                "crc32": f"{member.crc:08x}",
                "covered_by": _covered_by(name, listed),
            }
            if name in listed:
                row["item"] = listed[name]
            out.append(row)
    return out
