"""Compile once, serve many: the API builds its marshmallow schemas and OpenAPI documents on
the first requests of a published version, never per request."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from apispec import APISpec
from flask.testing import FlaskClient
from marshmallow import Schema
from marshmallow.schema import SchemaMeta
from test_api_support import API, CSRF, Harness

ROUNDS = 3


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts of marshmallow schema classes, schema instances and apispec documents made
    while the test runs (the real constructors still run)."""
    counts: Counter[str] = Counter()
    new_class = SchemaMeta.__new__
    init_schema = Schema.__init__
    init_spec = APISpec.__init__

    def counting_class(mcs: type, name: str, bases: tuple[type, ...], attrs: dict[str, Any]) -> Any:
        counts["schema class"] += 1
        return new_class(mcs, name, bases, attrs)  # type: ignore[arg-type]

    def counting_schema(self: Schema, *args: Any, **kwargs: Any) -> None:
        counts["schema instance"] += 1
        init_schema(self, *args, **kwargs)

    def counting_spec(self: APISpec, *args: Any, **kwargs: Any) -> None:
        counts["OpenAPI document"] += 1
        init_spec(self, *args, **kwargs)

    monkeypatch.setattr(SchemaMeta, "__new__", staticmethod(counting_class))
    monkeypatch.setattr(Schema, "__init__", counting_schema)
    monkeypatch.setattr(APISpec, "__init__", counting_spec)
    return counts


def every_operation(api: Harness, client: FlaskClient, ticket: int, round_no: int) -> None:
    """One request of each kind a customer makes on their own `ticket`: document, list, read,
    create (also with an idempotency key, and refused), change, workflow, OPTIONS."""
    assert client.get(f"{API}/openapi.json").status_code == 200
    assert client.get(f"{API}/ticket?sort=-subject&priority=high").status_code == 200
    assert client.get(f"{API}/ticket/{ticket}").status_code == 200
    body = {"subject": f"Round {round_no}", "amount": "12.50", "tags": ["a"]}
    assert client.post(f"{API}/ticket", json=body, headers=CSRF).status_code == 201
    keyed = {**CSRF, "Idempotency-Key": f"key-{ticket}-{round_no}"}
    assert client.post(f"{API}/ticket", json=body, headers=keyed).status_code == 201
    assert client.post(f"{API}/ticket", json={"status": "x"}, headers=CSRF).status_code == 422
    patch = client.patch(f"{API}/ticket/{ticket}", json={"body": f"r{round_no}"}, headers=CSRF)
    assert patch.status_code == 200
    message = {"ticket": ticket, "body": "hello"}
    assert client.post(f"{API}/message", json=message, headers=CSRF).status_code == 201
    assert client.get(f"{API}/ticket/{ticket}/transitions").status_code == 200
    closed = client.post(f"{API}/ticket/{ticket}/transitions/close", json={}, headers=CSRF)
    assert closed.status_code == 403  # the ticket is open: not available
    assert client.options(f"{API}/ticket").status_code == 204


def test_no_schema_or_document_is_built_per_request(api: Harness, built: Counter[str]) -> None:
    ben = api.client("ben@acme.test")
    every_operation(
        api, ben, api.ticket("t2"), 0
    )  # warm-up: the version's schemas and ben's document
    assert built["schema class"] > 0 and built["OpenAPI document"] == 1, built
    built.clear()
    nina = api.client("nina@globex.test")  # another customer: the same role set
    for round_no in range(1, ROUNDS + 1):
        every_operation(api, ben, api.ticket("t2"), round_no)
        every_operation(api, nina, api.ticket("t3"), round_no)
    assert built == Counter(), f"built per request after warm-up: {dict(built)}"
