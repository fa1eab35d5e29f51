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
                        **{str(s): _problem(s) for s in (408, 413, 415, 422, 503)},
                    },
                }
            }
        },
        "components": {
            "schemas": {
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
            }
        },
    }
