"""The OpenAPI description of the verification page and of the file check (``verify?deposit=``)."""

from __future__ import annotations

from typing import Any

_HEX = "^[0-9a-fA-F]{64}$"
_HTML = {"text/html": {"schema": {"type": "string"}}}
_M = {
    "name": "m",
    "in": "query",
    "description": "SM3 of the deposit's manifest.json, as the certificate's QR code carries it",
    "schema": {"type": "string"},
}
_FILE_CHECK: dict[str, Any] = {
    "type": "object",
    "required": ["deposit_id", "file", "belongs", "matches"],
    "properties": {
        "deposit_id": {"type": "string"},
        "file": {
            "type": "object",
            "required": ["size", "sm3", "sha256"],
            "properties": {
                "size": {"type": "integer"},
                "sm3": {"type": "string", "pattern": _HEX},
                "sha256": {"type": "string", "pattern": _HEX},
            },
        },
        "belongs": {"type": "boolean", "description": "some item of the deposit has this SM3 and SHA-256"},
        "matches": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["item_id", "name", "kind", "size"],
                "properties": {
                    "item_id": {"type": "integer"},
                    "name": {"type": "string"},
                    "kind": {"type": "string"},
                    "size": {"type": "integer"},
                },
            },
        },
    },
}
_FORM = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "properties": {
                "package": {"type": "string", "format": "binary", "description": "an evidence package to verify"},
                "file": {"type": "string", "format": "binary", "description": "one file to look for in the deposit"},
            },
        }
    }
}


def add_page_paths(doc: dict[str, Any], problem: Any) -> None:
    """Describe ``/v/{deposit_id}`` and the ``deposit``/``m`` form of ``POST /api/v1/verify`` in ``doc``;
    ``problem(status)`` is the document's response object for a problem of that status."""
    params = [{"name": "deposit_id", "in": "path", "required": True, "schema": {"type": "string"}}, _M]
    params.append({"name": "lang", "in": "query", "schema": {"enum": ["zh", "en"]}})
    no_match = {"description": "No deposit matches the number and m (the same page for both)", "content": _HTML}
    doc["paths"]["/v/{deposit_id}"] = {
        "get": {
            "summary": "The verification page a certificate's QR code opens (HTML, zh or en)",
            "operationId": "verificationPage",
            "parameters": params,
            "responses": {
                "200": {"description": "The deposit's status and proven time", "content": _HTML},
                "404": no_match,
            },  # fmt: skip
        },
        "post": {
            "summary": "The page with the result of checking an uploaded package or file",
            "operationId": "verificationPageCheck",
            "parameters": params,
            "requestBody": {"required": True, "content": _FORM},
            "responses": {
                "200": {"description": "The page with the result", "content": _HTML},
                "404": no_match,
                **{
                    str(s): {"description": "The upload was refused", "content": _HTML}
                    for s in (408, 413, 415, 422, 429)
                },
            },
        },
    }
    verify = doc["paths"]["/api/v1/verify"]["post"]
    deposit = {"name": "deposit", "in": "query", "description": "check one file against this deposit instead",
               "schema": {"type": "string"}}  # fmt: skip
    verify["parameters"] = [deposit, _M]
    verify["description"] = (
        "With `deposit` and `m`, the body is one file (or a multipart form holding it) and the answer says "
        "which of that deposit's items have its SM3 and SHA-256 (a FileCheck); 404 unless `m` is the SM3 of "
        "that deposit's manifest.json."
    )
    verify["requestBody"]["content"].update({"application/octet-stream": {}, **_FORM})
    ok = verify["responses"]["200"]["content"]["application/json"]
    ok["schema"] = {"oneOf": [ok["schema"], {"$ref": "#/components/schemas/FileCheck"}]}
    verify["responses"]["404"] = problem(404)
    doc["components"]["schemas"]["FileCheck"] = _FILE_CHECK
