"""The API's OpenAPI 3.1 document, written by hand: the API is fixed, and clients rely on this text."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

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


@cache
def openapi_document() -> dict[str, Any]:
    """The document served at ``GET /openapi.json``."""
    from .. import __version__

    verification = json.loads(
        resources.files("evidencectl").joinpath("schemas/verification.schema.json").read_text(encoding="utf-8")
    )
    return {
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
            "/api/v1/lookup": {
                "get": {
                    "summary": "The deposits holding an item with this SHA-256 or SM3 digest (auditor or admin)",
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
