"""The OpenAPI document is exact: schemathesis finds no request it calls valid that the server
refuses, no response that breaks it, no server error and no `Allow` that disagrees with it.

The starter blueprint is served over HTTP on 127.0.0.1 (SQLite and PostgreSQL) and
schemathesis' engine — the same as its CLI — runs its coverage, fuzzing and stateful phases
against the document a signed-in customer gets, with the checks `not_a_server_error`,
`response_schema_conformance`, `content_type_conformance`, `positive_data_acceptance` and
`allow_header_conformance`. The run is seeded and deterministic, and bounded in examples.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, from_schema
from schemathesis.engine.events import EngineFinished, FatalError, ScenarioFinished
from test_api_support import API, Harness, serve
from werkzeug.serving import make_server

from portalis.engine.validator import Checker

CHECKS = [
    "not_a_server_error",
    "response_schema_conformance",
    "content_type_conformance",
    "positive_data_acceptance",
    "allow_header_conformance",
]
SEED = 20261207
MAX_EXAMPLES = 5


@pytest.fixture
def served(
    database_url: str, tmp_path: Path, portalis_checker: Checker
) -> Iterator[tuple[Harness, str]]:
    with serve(database_url, tmp_path, portalis_checker) as harness:
        server = make_server("127.0.0.1", 0, harness.app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield harness, f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)


def signed_in(harness: Harness, email: str) -> dict[str, str]:
    """Cookie and X-CSRF-Token headers of a session of `email` (the token as the API hands
    it out: a GET with `X-CSRF-Token: fetch`)."""
    client = harness.client(email)
    token = client.get(f"{API}/openapi.json", headers={"X-CSRF-Token": "fetch"}).headers[
        "X-CSRF-Token"
    ]
    cookie = client.get_cookie(harness.app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return {"Cookie": f"{cookie.key}={cookie.value}", "X-CSRF-Token": token}


def run_schemathesis(base: str, document: dict[str, Any], headers: dict[str, str]) -> list[str]:
    """Every failed check of one seeded run, described."""
    config = SchemathesisConfig(seed=SEED)
    schema = schemathesis.openapi.from_dict(document, config=config)
    project = schema.config
    project.update(base_url=f"{base}{API}", headers=headers)
    project.checks.update(included_check_names=CHECKS)
    project.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)
    failures: list[str] = []
    for event in from_schema(schema).execute():
        if isinstance(event, FatalError):
            raise AssertionError(f"schemathesis could not run: {event.exception!r}")
        if isinstance(event, ScenarioFinished) and event.status == Status.FAILURE:
            for case_id, nodes in event.recorder.checks.items():
                for node in nodes:
                    if node.status == Status.FAILURE:
                        case = event.recorder.cases[case_id].value
                        failures.append(f"{node.name}: {case.method} {case.formatted_path} "
                                        f"{node.failure_info!r}")  # fmt: skip
        if isinstance(event, EngineFinished):
            break
    return failures


@pytest.mark.xfail(
    strict=True,
    reason="not exact yet: blank/amount/currency/ref values, transition responses, user.locale",
)
def test_openapi_document_is_exact_for_a_customer(served: tuple[Harness, str]) -> None:
    harness, base = served
    headers = signed_in(harness, "ben@acme.test")
    document = requests.get(f"{base}{API}/openapi.json", headers=headers, timeout=30).json()
    assert document["paths"], "the customer's document lists operations"
    failures = run_schemathesis(base, document, headers)
    assert failures == [], "\n".join(failures)
