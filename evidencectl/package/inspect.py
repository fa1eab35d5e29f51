"""Reading a package's manifest without verifying it (``evidencectl inspect``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import MalformedPackageError
from .reader import PackageReader
from .schema import validate_manifest


def read_manifest(path: Path) -> tuple[dict[str, Any], list[str]]:
    """The schema-checked manifest and the member names of a package."""
    with PackageReader(path) as reader:
        manifest = reader.read_json("manifest.json")
        problem = validate_manifest(manifest)
        if problem:
            raise MalformedPackageError(f"manifest.json does not follow its schema: {problem}", path=path)
        return manifest, reader.names()
