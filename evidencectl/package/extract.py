"""Selective disclosure: a package holding some items of a deposit with their proofs (``extract``)."""

from __future__ import annotations

import collections
from pathlib import Path

from ..errors import MalformedPackageError, UsageError
from .canonical import canonical_json
from .inspect import read_manifest
from .manifest import attach_proofs, check_complete, leaf_records
from .reader import PackageReader
from .writer import PackageWriter, check_output


def extract_items(package: Path, names: list[str], out: Path, *, force: bool = False) -> list[str]:
    """Write ``out`` disclosing the items called ``names`` (and the parts derived from them).

    The statement, roots, timestamps and anchors are copied unchanged; the other items are left out, and
    their salted leaves mean the sibling hashes in the proofs reveal nothing about them.
    """
    manifest, members = read_manifest(package)
    check_output(out, force)
    by_name = {i["name"]: i for i in manifest["items"]}
    missing = [n for n in names if n not in by_name]
    if missing:
        from .names import no_such_item

        raise UsageError(no_such_item(missing[0], by_name), path=package)
    counts = collections.Counter(i["name"] for i in manifest["items"])
    twice = [n for n in names if counts[n] > 1]
    if twice:  # a package made before names were kept distinct: the name does not say which item is meant
        raise UsageError(f"two items of this deposit are called {twice[0]!r}: the name does not pick one", path=package)
    chosen = {by_name[n]["id"] for n in names}
    changed = True
    while changed:  # attachments of a disclosed mail go with it
        changed = False
        for item in manifest["items"]:
            if item["parent"] in chosen and item["id"] not in chosen:
                chosen.add(item["id"])
                changed = True
    items = [i for i in manifest["items"] if i["id"] in chosen]
    if "disclosure" not in manifest:
        # A complete package stores no proofs (its whole tree is rebuilt); the disclosed records need theirs.
        problem = check_complete(manifest)
        if problem:
            raise MalformedPackageError(f"cannot disclose from a package that does not verify: {problem}", path=package)
        attach_proofs([manifest["statement"], *items], leaf_records(manifest))
    elif any("proof" not in r for r in [manifest["statement"], *items]):
        raise MalformedPackageError("a disclosure package without inclusion proofs", path=package)
    disclosed = dict(manifest)
    disclosed["items"] = items
    disclosed["disclosure"] = {"items": [i["name"] for i in items]}
    writer = PackageWriter(out)
    try:
        with PackageReader(package) as reader:
            for item in items:
                if item["path"]:
                    if item["path"] not in reader.infos:
                        raise MalformedPackageError(f"member {item['path']} is missing", path=package)
                    with reader.open_member(item["path"]) as src:
                        writer.add_original(item["path"], src)  # type: ignore[arg-type]
            writer.add_bytes("manifest.json", canonical_json(disclosed))
            for name in sorted(members):
                if (name.startswith("proofs/") or name.startswith("certs/")) and name != "certs/depositor.pem":
                    writer.add_bytes(name, reader.read(name))
        writer.commit(force=force)
    except BaseException:
        writer.abort()
        raise
    return [i["name"] for i in items]


__all__ = ["extract_items"]
