"""The API's OpenAPI 3.1 document, written by hand: the API is fixed, and clients rely on this text."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from .pageapi import add_page_paths
from .problems import TITLES


def _problem(status: int) -> dict[str, Any]:
    return {
        "description": TITLES[next(n for n, (s, _) in TITLES.items() if s == status)][1],
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


_HEX = "^[0-9a-fA-F]{64}$"
_LOOKUP: dict[str, Any] = {
    "type": "object",
    "required": ["algorithm", "digest", "deposits"],
    "properties": {
        "algorithm": {"enum": ["sha256", "sm3"]},
        "digest": {"type": "string"},
        "deposits": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["deposit_id", "case_no", "status", "created", "items"],
                "properties": {
                    "deposit_id": {"type": "string"},
                    "case_no": {"type": ["string", "null"]},
                    "status": {"type": "string"},
                    "created": {"type": "string"},
                    "items": {"type": "array", "items": {"type": "object"}},
                },
            },
        },
    },
}


_TEXT = {"type": "string", "maxLength": 65536}
_DEPOSIT_FORM: dict[str, Any] = {
    "type": "object",
    "required": ["files"],
    "properties": {
        "files": {"type": "array", "minItems": 1, "items": {"type": "string", "format": "binary"}},
        "case": _TEXT,
        "depositor": _TEXT,
        "note": _TEXT,
        "hash_only": {"type": "string", "enum": ["true", "false"]},
    },
    "additionalProperties": False,
}
_URLS = {"package_url": {"type": "string"}, "certificate_url": {"type": "string"}}
_RECORD: dict[str, Any] = {
    "type": "object",
    "required": [
        "deposit_id",
        "status",
        "created",
        "case",
        "depositor",
        "note",
        "owner",
        "items",
        "roots",
        "pending",
        "package",
        "package_url",
        "certificate_url",
    ],  # fmt: skip
    "properties": {
        "deposit_id": {"type": "string"},
        "status": {"enum": ["complete", "pending", "abandoned"]},
        "created": {"type": "string"},
        "case": {"type": ["string", "null"]},
        "depositor": {"type": ["string", "null"]},
        "note": {"type": ["string", "null"]},
        "owner": {"type": ["string", "null"]},
        "items": {"type": "integer"},
        "roots": {"type": "object"},
        "pending": {"type": "array", "items": {"type": "object"}},
        "package": {"type": ["string", "null"]},
        **_URLS,
    },
}
_ID = {"name": "deposit_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _json(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _deposit_paths() -> dict[str, Any]:
    def read(summary: str, op: str, ok: dict[str, Any], extra: tuple[int, ...] = ()) -> dict[str, Any]:
        responses = {"200": ok, **{str(s): _problem(s) for s in (401, 404, *extra, 503)}}
        return {
            "get": {
                "summary": summary,
                "operationId": op,
                "security": [{"bearer": []}],
                "parameters": [_ID],
                "responses": responses,
            }
        }

    def binary(kind: str, what: str) -> dict[str, Any]:
        return {"description": what, "content": {kind: {"schema": {"type": "string", "format": "binary"}}}}

    return {
        "/api/v1/deposits": {
            "post": {
                "summary": "Deposit files (role depositor); the answer is the document of `evidencectl deposit --json`",
                "operationId": "createDeposit",
                "security": [{"bearer": []}],
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _DEPOSIT_FORM}}},
                "responses": {
                    "201": _json("The deposit is complete", "DepositResult"),
                    "202": _json("Pending: a TSA or anchor is down; the server resumes it", "DepositResult"),
                    **{str(s): _problem(s) for s in (401, 403, 408, 413, 415, 422, 503)},
                },
            }
        },
        "/api/v1/deposits/{deposit_id}": read(
            "A deposit's record (its owner, an auditor or an admin)", "getDeposit", _json("The record", "DepositRecord")
        ),
        "/api/v1/deposits/{deposit_id}/package": read(
            "The deposit's package (.evp)", "getPackage", binary(_PACKAGE, "The package"), (409,)
        ),
        "/api/v1/deposits/{deposit_id}/certificate.pdf": read(
            "The deposit certificate (存证证明), rendered from a verification of the package",
            "getCertificate",
            binary("application/pdf", "The certificate"),
            (409,),
        ),
    }


_PACKAGE = "application/vnd.evidencectl.package+zip"


@cache
def openapi_document() -> dict[str, Any]:
    """The document served at ``GET /openapi.json``."""
    from .. import __version__

    verification = json.loads(
        resources.files("evidencectl").joinpath("schemas/verification.schema.json").read_text(encoding="utf-8")
    )
    deposit_result = json.loads(
        resources.files("evidencectl").joinpath("schemas/deposit-result.schema.json").read_text(encoding="utf-8")
    )
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "evidencectl evidence service", "version": __version__},
        "paths": {
            "/api/v1/verify": {
                "post": {
                    "summary": "Verify an evidence package; the answer is the document of `evidencectl verify --json`",
                    "operationId": "verifyPackage",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/vnd.evidencectl.package+zip": {
                                "schema": {"type": "string", "contentMediaType": "application/zip"}
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "The verification report (whatever its verdict)",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/VerificationReport"}}
                            },
                        },
                        **{str(s): _problem(s) for s in (408, 413, 415, 422, 429, 503)},
                    },
                }
            },
            **_deposit_paths(),
            "/api/v1/lookup": {
                "get": {
                    "summary": "The deposits holding an item with this SHA-256 or SM3 digest (a depositor: their own)",
                    "operationId": "lookupDigest",
                    "security": [{"bearer": []}],
                    "parameters": [
                        {"name": n, "in": "query", "required": False, "schema": {"type": "string", "pattern": _HEX}}
                        for n in ("sha256", "sm3")
                    ],
                    "responses": {
                        "200": {
                            "description": "Matching deposits and items (none is an empty list)",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Lookup"}}},
                        },
                        **{str(s): _problem(s) for s in (401, 403, 422, 503)},
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Lookup": _LOOKUP,
                "DepositResult": {
                    # The deposit --json schema (closed: additionalProperties false) with the two URLs.
                    **{k: v for k, v in deposit_result.items() if k not in ("$schema", "$id")},
                    "required": [*deposit_result["required"], *_URLS],
                    "properties": {**deposit_result["properties"], **_URLS},
                },
                "DepositRecord": _RECORD,
                "VerificationReport": verification,
                "Problem": {
                    "type": "object",
                    "description": "RFC 9457 problem details",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {
                        "type": {"type": "string", "format": "uri"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "instance": {"type": "string"},
                    },
                },
            },
        },
    }
    add_page_paths(doc, _problem)  # /v/{id} and verify?deposit= (pageapi.py)
    return doc
