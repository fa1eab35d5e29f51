"""The API against its own OpenAPI document (schemathesis), on a real ``evidencectl serve``.

Schemathesis reads ``GET /openapi.json``, makes requests from it (valid and invalid ones) and checks each
answer: no 5xx, a status code and a content type the document lists, a body that matches its schema.
Bounded (a few examples an operation) so that it takes well under a minute here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from service_server import Server, run_cli, start_server

_STATE: dict[str, str] = {}


@schemathesis.serializer("application/vnd.evidencectl.package+zip")
def _package_bytes(ctx: object, value: object) -> bytes:
    # The examples are whatever the schema allows (any bytes): each must be answered, 200 or 422.
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A service with a depositor (whose token the examples carry) and one deposit of theirs."""
    home = tmp_path_factory.mktemp("contract") / "home"
    home.mkdir()
    done = run_cli(home, "users", "add", "契约测试", "--role", "depositor", "--json")
    assert done.returncode == 0, done.stderr
    _STATE["token"] = json.loads(done.stdout)["token"]
    srv = start_server(home, "--verify-rate", "0", "--max-upload", "4")
    answer = requests.post(
        f"{srv.url}/api/v1/deposits",
        headers={"Authorization": f"Bearer {_STATE['token']}"},
        files=[("files", ("seed.txt", b"seed\n"))],
        timeout=60,
    )
    assert answer.status_code == 201, answer.text
    _STATE["deposit_id"] = answer.json()["deposit_id"]
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def api_schema(api_server: Server) -> schemathesis.BaseSchema:
    """The document the server serves."""
    return schemathesis.openapi.from_url(f"{api_server.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_as_the_openapi_document_says(case: schemathesis.Case) -> None:
    if case.path_parameters and "deposit_id" in case.path_parameters and case.path_parameters["deposit_id"] == "":
        case.path_parameters["deposit_id"] = _STATE["deposit_id"]
    # Not positive_data_acceptance: bytes the schema allows are not all packages, nor every string a file
    # name the service accepts (those are refused 422, as they must be).
    case.call_and_validate(
        headers={"Authorization": f"Bearer {_STATE['token']}"}, excluded_checks=[positive_data_acceptance]
    )


def test_the_document_describes_every_route_the_server_has(api_server: Server) -> None:
    from evidencectl import Context
    from evidencectl.service.app import create_app
    from evidencectl.service.settings import ServiceSettings

    document = requests.get(f"{api_server.url}/openapi.json", timeout=30).json()
    app = create_app(ServiceSettings(ctx=Context(Path(api_server.home))))
    routes = {(r.path, m.lower()) for r in app.routes for m in getattr(r, "methods", ()) if m != "HEAD"}  # type: ignore[attr-defined]
    described = {(p, m) for p, ops in document["paths"].items() for m in ops}
    assert routes - {("/openapi.json", "get")} == described
