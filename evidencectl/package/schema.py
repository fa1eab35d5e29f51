"""JSON Schemas shipped with the package (``schemas/``) and validation against them."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A schema from ``evidencectl/schemas/<name>.schema.json``."""
    text = resources.files("evidencectl").joinpath("schemas", f"{name}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate(instance: Any, name: str) -> str | None:
    """None when ``instance`` follows schema ``name``, else the first problem in one line."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema(name))
    error = next(iter(sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(top)"
    return f"at {where}: {error.message[:200]}"


@cache
def _manifest_validator() -> Any:
    import fastjsonschema

    # The manifest schema uses only draft-07 keywords; fastjsonschema compiles it to Python code, about
    # twenty times faster than interpreting it, which matters for a manifest of 200,000 items.
    schema = dict(load_schema("manifest"), **{"$schema": "http://json-schema.org/draft-07/schema#"})
    return fastjsonschema.compile(schema)


def validate_manifest(manifest: Any) -> str | None:
    """Schema check of a parsed manifest.json: None, or the first problem in one line."""
    import fastjsonschema

    try:
        _manifest_validator()(manifest)
    except fastjsonschema.JsonSchemaException as exc:
        return " ".join(str(exc).split())[:300]
    return None


@cache
def item_validator() -> Any:
    """The compiled schema of one item record (cached)."""
    import fastjsonschema

    schema = load_schema("manifest")
    item = dict(schema["properties"]["items"]["items"])
    # Its references ("#/$defs/…") resolve against the manifest schema's $id, which this document takes.
    return fastjsonschema.compile(
        {"$schema": "http://json-schema.org/draft-07/schema#", "$id": schema["$id"], "$defs": schema["$defs"], **item}
    )


def validate_manifest_frame(manifest: Any) -> str | None:
    """:func:`validate_manifest` of everything but the item records (checked by :func:`validate_items`,
    which worker processes can share out); the whole manifest when ``items`` is not even a list."""
    if not isinstance(manifest, dict) or not isinstance(manifest.get("items"), list):
        return validate_manifest(manifest)
    return validate_manifest({**manifest, "items": []})


def validate_items(items: Any, start: int) -> str | None:
    """Schema check of item records ``start``, ``start + 1``…: None, or the first problem in one line,
    worded as :func:`validate_manifest` words it."""
    import fastjsonschema

    check = item_validator()
    for index, item in enumerate(items, start):
        try:
            check(item)
        except fastjsonschema.JsonSchemaException as exc:
            text = " ".join(str(exc).split())
            if text.startswith("data"):
                text = f"data.items[{index}]" + text[4:]
            return text[:300]
    return None
