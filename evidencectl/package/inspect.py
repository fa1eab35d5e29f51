"""Reading a package's manifest without verifying it (``evidencectl inspect``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import MalformedPackageError
from ..i18n import _
from .reader import PackageReader
from .schema import validate_manifest


def read_manifest(path: Path) -> tuple[dict[str, Any], list[str]]:
    """The schema-checked manifest and the names of every member of a package, in archive order."""
    with PackageReader(path) as reader:
        manifest = reader.read_json("manifest.json")
        problem = validate_manifest(manifest)
        if problem:
            raise MalformedPackageError(
                _("manifest.json does not follow its schema: {problem}").format(problem=problem), path=path
            )
        reader.check_version(manifest["version"])
        return manifest, reader.names()


def other_members(manifest: dict[str, Any], members: list[str]) -> list[str]:
    """The members that are no item's original (``mimetype``, the manifest, proofs, certificates, the
    signature, and anything the package holds that no item lists), in archive order: what ``inspect``
    lists after the items, so that it shows every member."""
    listed = {i.get("path") for i in manifest["items"]}
    return [m for m in members if m not in listed]
