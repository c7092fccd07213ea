"""The OpenAPI document: derived from the model, per actor, cached per (version, role set)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from test_api_support import API, CSRF, Harness, assert_problem, extended_b2c, serve

from portalis.engine.deploy.validator import Checker


@pytest.fixture
def api(database_url: str, tmp_path: Path, portalis_checker: Checker) -> Iterator[Harness]:
    with serve(database_url, tmp_path, portalis_checker, extended_b2c(tmp_path)) as harness:
        yield harness


def document(api: Harness, email: str | None) -> dict[str, Any]:
    response = api.client(email).get(f"{API}/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    return body


def test_openapi_per_actor(api: Harness) -> None:
    nina = document(api, "nina@globex.test")
    assert nina["openapi"].startswith("3.1")
    assert nina["servers"] == [{"url": API}]
    schemas = nina["components"]["schemas"]
    ticket = schemas["ticket"]["properties"]
    assert "assignee" not in ticket
    assert {"id", "subject", "status", "account", "version", "created_at"} <= set(ticket)
    update = schemas["ticket.update"]["properties"]
    assert set(update) == {"subject", "body", "tags", "due", "attachment", "version"}
    create = schemas["ticket.create"]
    assert "assignee" not in create["properties"] and "status" not in create["properties"]
    assert create["required"] == ["subject"]  # account is filled in for customers
    assert create["additionalProperties"] is False
    paths = nina["paths"]
    assert set(paths["/ticket"]) == {"get", "post"}
    # the extended blueprint lets customers delete their own tickets; messages stay read/create
    assert set(paths["/ticket/{id}"]) == {"parameters", "get", "patch", "delete"}
    assert set(paths["/message/{id}"]) == {"parameters", "get"}
    assert "/note" not in paths and "note" not in schemas  # agents only
    sort = next(p for p in paths["/ticket"]["get"]["parameters"] if p.get("name") == "sort")
    assert "assignee" not in sort["schema"]["enum"] and "-updated_at" in sort["schema"]["enum"]
    filters = {p.get("name") for p in paths["/ticket"]["get"]["parameters"]}
    assert {"priority", "status"} <= filters and "assignee" not in filters

    sam = document(api, "sam@support.test")
    assert "assignee" in sam["components"]["schemas"]["ticket"]["properties"]
    assert "post" not in sam["paths"]["/ticket"]  # agents do not create tickets
    assert "assignee" in sam["components"]["schemas"]["ticket.update"]["properties"]
    assert "/note" in sam["paths"] and "delete" in sam["paths"]["/message/{id}"]

    anonymous = document(api, None)
    # visitors read the help centre (published articles and their categories), nothing else
    assert set(anonymous["paths"]) == {
        "/article",
        "/article/{id}",
        "/article/{id}/transitions",
        "/category",
        "/category/{id}",
    }
    for operations in anonymous["paths"].values():
        assert set(operations) - {"parameters"} == {"get"}
    assert "status" not in anonymous["components"]["schemas"]["article"]["properties"]


def test_openapi_schemas_describe_real_responses(api: Harness) -> None:
    for email in ("ben@acme.test", "sam@support.test"):
        doc = document(api, email)
        schemas = doc["components"]["schemas"]
        for schema in schemas.values():
            Draft202012Validator.check_schema(schema)
        client = api.client(email)
        for path in doc["paths"]:
            if "{id}" in path or path.endswith("/bulk"):  # bulk: a POST, tested with bulk
                continue
            entity = path.strip("/")
            page = client.get(f"{API}{path}").get_json()
            page_schema = {**schemas[f"{entity}.page"], "properties": {
                **schemas[f"{entity}.page"]["properties"], "items": {"type": "array"}}}  # fmt: skip
            Draft202012Validator(page_schema).validate(page)
            for item in page["items"]:
                Draft202012Validator(schemas[entity]).validate(item)


def test_openapi_write_schemas_accept_what_the_api_accepts(api: Harness) -> None:
    doc = document(api, "ben@acme.test")
    create = Draft202012Validator(doc["components"]["schemas"]["ticket.create"])
    body = {"subject": "From the schema", "priority": "low", "tags": ["a"], "due": None}
    create.validate(body)
    assert not create.is_valid({"subject": "x", "status": "closed"})
    response = api.client("ben@acme.test").post(f"{API}/ticket", json=body, headers=CSRF)
    assert response.status_code == 201


def test_openapi_cached_per_role_set(api: Harness) -> None:
    runtime = api.runtime_portal()
    keys = lambda: {k for k in runtime.cache if isinstance(k, tuple) and k[0] == "api:openapi"}  # noqa: E731
    document(api, "ben@acme.test")
    document(api, "ben@acme.test")
    assert len(keys()) == 1
    same = document(api, "ben@acme.test")
    document(api, "anna@acme.test")  # account_admin: another role set
    document(api, None)
    assert len(keys()) == 3
    assert all(k[1] == runtime.version for k in keys())
    assert document(api, "ben@acme.test") == same


def test_openapi_conditional_get(api: Harness) -> None:
    client = api.client("ben@acme.test")
    first = client.get(f"{API}/openapi.json")
    etag = first.headers["ETag"]
    again = client.get(f"{API}/openapi.json", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert "private" in first.headers["Cache-Control"]


def test_openapi_states_the_values_the_store_accepts(api: Harness) -> None:
    """Money amounts and currencies, `user.locale` and refs: what the write schemas call
    valid is accepted, what they refuse the store refuses too."""
    doc = document(api, "ben@acme.test")
    schemas = doc["components"]["schemas"]
    ben = api.client("ben@acme.test")
    amount = Draft202012Validator(schemas["ticket.create"]["properties"]["amount"])
    for text in ("12.50", "-0", ".5", "+7", "1.", "0012.345", "99999999999999.99"):
        value = {"amount": text, "currency": "EUR"}
        assert amount.is_valid(value), text
        created = ben.post(f"{API}/ticket", json={"subject": "m", "amount": value}, headers=CSRF)
        assert created.status_code == 201, (text, created.get_json())
    for value in (
        {"amount": "", "currency": "EUR"},
        {"amount": "1e3", "currency": "EUR"},
        {"amount": "12,50", "currency": "EUR"},
        {"amount": "99999999999999.995", "currency": "EUR"},  # rounds to 15 digits
        {"amount": "100000000000000", "currency": "EUR"},
        {"amount": "1", "currency": "USD"},  # the field takes the portal currency only
    ):
        assert not amount.is_valid(value), value
        refused = ben.post(f"{API}/ticket", json={"subject": "m", "amount": value}, headers=CSRF)
        assert_problem(refused, 422)
    # responses may hold what a request may no longer send
    assert "enum" not in schemas["ticket"]["properties"]["amount"]["properties"]["currency"]

    me = f"{API}/user/{api.user_id('ben@acme.test')}"
    locale = Draft202012Validator(schemas["user.update"]["properties"]["locale"])
    assert schemas["user"]["properties"]["locale"]["type"] == ["string", "null"]
    assert "enum" not in schemas["user"]["properties"]["locale"]
    for value in ("de", "", None):
        assert locale.is_valid(value)
        assert ben.patch(me, json={"locale": value}, headers=CSRF).status_code == 200
    assert not locale.is_valid("it")
    assert_problem(ben.patch(me, json={"locale": "it"}, headers=CSRF), 422)

    # JSON Schema's integer includes 2.0: refs and versions read integral numbers as ints
    ticket = api.ticket("t2")
    assert Draft202012Validator(schemas["message.create"]).is_valid({"ticket": 2.0, "body": "x"})
    message = ben.post(f"{API}/message", json={"ticket": float(ticket), "body": "x"}, headers=CSRF)
    assert message.status_code == 201 and message.get_json()["ticket"] == ticket
    refused = ben.post(f"{API}/message", json={"ticket": ticket + 0.5, "body": "x"}, headers=CSRF)
    assert_problem(refused, 422)
