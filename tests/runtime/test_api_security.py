"""REST API security checks named after SECURITY.md (ASVS IDs and R5)."""

from __future__ import annotations

from typing import Any

import pytest
from test_api_support import (
    API,
    CSRF,
    Harness,
    assert_problem,
)

from portalis.engine.data.permissions import Actor
from portalis.engine.data.tables import USER_AUTH_COLUMNS
from portalis.engine.definition.model import SYSTEM_COLUMNS
from portalis.testing.portals import actor_for

USERS = ("anna@acme.test", "ben@acme.test", "nina@globex.test", "sam@support.test")


# -- 8.2.2 IDOR -------------------------------------------------------------------------
def test_asvs_8_2_2_idor_api_get(api: Harness) -> None:
    nina = api.client("nina@globex.test")
    for key in ("t1", "t2"):
        body = assert_problem(nina.get(f"{API}/ticket/{api.ticket(key)}"), 404, "not-found")
        assert "subject" not in body and "Invoice" not in str(body)
    message = api.id_of("message", "body", "Please check line 3.")
    assert_problem(nina.get(f"{API}/message/{message}"), 404, "not-found")
    acme = api.id_of("account", "name", "Acme GmbH")
    assert_problem(nina.get(f"{API}/account/{acme}"), 404, "not-found")
    assert_problem(nina.get(f"{API}/user/{api.user_id('ben@acme.test')}"), 404, "not-found")
    # the same id is visible to its own account
    assert api.client("ben@acme.test").get(f"{API}/ticket/{api.ticket('t1')}").status_code == 200


def test_asvs_8_2_2_idor_api_list(api: Harness) -> None:
    nina = api.client("nina@globex.test")
    tickets = nina.get(f"{API}/ticket").get_json()
    assert {t["id"] for t in tickets["items"]} == {api.ticket("t3"), api.ticket("t4")}
    assert tickets["total"] == 2
    acme = api.id_of("account", "name", "Acme GmbH")
    filtered = nina.get(f"{API}/ticket?account={acme}").get_json()
    assert filtered["items"] == [] and filtered["total"] == 0
    searched = nina.get(f"{API}/ticket?q=invoice").get_json()
    assert searched["items"] == []
    messages = nina.get(f"{API}/message?page_size=200").get_json()["items"]
    assert {m["ticket"] for m in messages} == {api.ticket("t4")}
    by_ticket = nina.get(f"{API}/message?ticket={api.ticket('t1')}").get_json()
    assert by_ticket["items"] == [] and by_ticket["total"] == 0
    users = nina.get(f"{API}/user").get_json()["items"]
    assert [u["email"] for u in users] == ["nina@globex.test"]


def test_asvs_8_2_2_idor_api_patch(api: Harness) -> None:
    nina = api.client("nina@globex.test")
    for key in ("t1", "t2"):
        ticket = api.ticket(key)
        before = api.row("ticket", ticket)
        response = nina.patch(
            f"{API}/ticket/{ticket}", json={"subject": "pwned"}, headers={**CSRF, "If-Match": '"1"'}
        )
        assert_problem(response, 404, "not-found")
        assert api.row("ticket", ticket) == before
    # nor can nina move her own ticket into another account
    response = nina.patch(
        f"{API}/ticket/{api.ticket('t3')}", json={"account": api.id_of("account", "name", "Acme GmbH")},
        headers=CSRF,
    )  # fmt: skip
    assert_problem(response, 422, "invalid")


def test_asvs_8_2_2_idor_api_delete(api_ext: Harness) -> None:
    nina = api_ext.client("nina@globex.test")
    t2 = api_ext.ticket("t2")
    assert_problem(nina.delete(f"{API}/ticket/{t2}", headers=CSRF), 404, "not-found")
    assert api_ext.row("ticket", t2) is not None
    message = api_ext.id_of("message", "body", "Please check line 3.")
    assert_problem(nina.delete(f"{API}/message/{message}", headers=CSRF), 404, "not-found")
    assert api_ext.row("message", message) is not None
    # inside the account but not own: visible, so 403 rather than 404
    ben = api_ext.client("ben@acme.test")
    assert_problem(ben.delete(f"{API}/ticket/{api_ext.ticket('t1')}", headers=CSRF), 403)


# -- 8.2.3 / 15.3.1 fields ----------------------------------------------------------------
def test_asvs_8_2_3_api_restricted_fields_absent(api: Harness) -> None:
    for email in ("ben@acme.test", "anna@acme.test", "nina@globex.test"):
        client = api.client(email)
        items = client.get(f"{API}/ticket").get_json()["items"]
        assert items and all("assignee" not in t for t in items)
        one = client.get(f"{API}/ticket/{items[0]['id']}").get_json()
        assert "assignee" not in one
        assert_problem(client.get(f"{API}/ticket?sort=assignee"), 400, "bad-query")
        assert_problem(client.get(f"{API}/ticket?assignee={api.user_id('sam@support.test')}"), 400)
    nina = api.client("nina@globex.test")
    response = nina.patch(
        f"{API}/ticket/{api.ticket('t3')}",
        json={"assignee": api.user_id("nina@globex.test")},
        headers=CSRF,
    )
    assert assert_problem(response, 422)["errors"]["assignee"][0]["code"] == "not-writable"
    sam = api.client("sam@support.test").get(f"{API}/ticket/{api.ticket('t4')}").get_json()
    assert sam["assignee"] == api.user_id("sam@support.test")


def test_asvs_15_3_1_api_only_readable_fields(api: Harness) -> None:
    runtime = api.runtime_portal()
    policy = runtime.compiled.policy
    for email in USERS:
        actor: Actor = actor_for(api.engine, api.portal, email)
        client = api.client(email)
        for entity in runtime.compiled.model.entities:
            response = client.get(f"{API}/{entity}?page_size=200")
            if not policy.grants_for(actor, entity, "read"):
                assert_problem(response, 404)
                continue
            allowed = policy.field_mask(actor, entity, "read") | set(SYSTEM_COLUMNS)
            items: list[dict[str, Any]] = response.get_json()["items"]
            for item in items:
                assert set(item) <= allowed, (email, entity, set(item) - allowed)
                assert not set(item) & set(USER_AUTH_COLUMNS)
                single = client.get(f"{API}/{entity}/{item['id']}").get_json()
                assert single == item


# -- 15.3.3 mass assignment ---------------------------------------------------------------
def test_asvs_15_3_3_api_mass_assignment(api: Harness) -> None:
    ben = api.client("ben@acme.test")
    globex = api.id_of("account", "name", "Globex Ltd")
    before = api.count("ticket")
    attempts: list[tuple[dict[str, Any], str, str]] = [
        ({"id": 4242}, "id", "not-writable"),
        ({"created_by": api.user_id("sam@support.test")}, "created_by", "not-writable"),
        ({"version": 7}, "version", "not-writable"),
        ({"created_at": "2020-01-01T00:00:00Z"}, "created_at", "not-writable"),
        ({"status": "closed"}, "status", "not-writable"),
        ({"assignee": api.user_id("ben@acme.test")}, "assignee", "not-writable"),
        ({"account": globex}, "account", "not-found"),
        ({"is_admin": True}, "is_admin", "unknown-field"),
    ]
    for extra, field, code in attempts:
        response = ben.post(f"{API}/ticket", json={"subject": "sneaky", **extra}, headers=CSRF)
        body = assert_problem(response, 422, "invalid")
        assert body["errors"][field][0]["code"] == code, (extra, body)
    assert api.count("ticket") == before
    t2 = api.ticket("t2")
    before_row = api.row("ticket", t2)
    for extra in ({"id": 1}, {"created_by": 1}, {"status": "closed"}, {"account": globex}):
        response = ben.patch(f"{API}/ticket/{t2}", json={"subject": "x", **extra}, headers=CSRF)
        assert_problem(response, 422, "invalid")
    assert api.row("ticket", t2) == before_row
    # the built-in user entity: a user may rename themselves but never change roles or e-mail
    me = api.user_id("ben@acme.test")
    for extra in ({"roles": ["agent"]}, {"email": "x@acme.test"}, {"password_hash": "x"}):
        response = ben.patch(f"{API}/user/{me}", json=extra, headers=CSRF)
        assert_problem(response, 422, "invalid")
    renamed = ben.patch(f"{API}/user/{me}", json={"name": "Benjamin"}, headers=CSRF)
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Benjamin"


# -- 1.2.4 sort and filter names ------------------------------------------------------------
BAD_QUERIES = (
    "sort=id;drop",
    "sort=id;DROP TABLE x",
    "sort=subject,id",
    "sort=--id",
    "sort=nope",
    "nope=1",
    "subject%3Bdrop=1",
    "body=x",  # text is not filterable
    "sort=priority&sort=id",
    "page=0",
    "page=abc",
    "page=-1",
    "page_size=0",
    "page_size=1e3",
    "q=" + "x" * 201,
)


def test_asvs_1_2_4_sort_injection_400(api: Harness) -> None:
    sam = api.client("sam@support.test")
    for query in BAD_QUERIES:
        body = assert_problem(sam.get(f"{API}/ticket?{query}"), 400, "bad-query")
        assert "Traceback" not in str(body) and "SELECT" not in str(body).upper(), query


def test_asvs_1_2_4_auth_columns_not_sortable(api: Harness) -> None:
    sam = api.client("sam@support.test")
    for query in ("sort=password_hash", "sort=-roles", "password_hash=x", "is_active=true"):
        assert_problem(sam.get(f"{API}/user?{query}"), 400, "bad-query")
    assert sam.get(f"{API}/user?sort=email").status_code == 200


# -- 4.1 content types ------------------------------------------------------------------------
NOT_JSON: tuple[tuple[str | None, str], ...] = (
    ("text/plain", '{"subject": "x"}'),
    ("application/x-www-form-urlencoded", f"subject=x&csrf_token={CSRF['X-CSRF-Token']}"),
    ("multipart/form-data; boundary=b",
     '--b\r\nContent-Disposition: form-data; name="subject"\r\n\r\nx\r\n--b--\r\n'),
    (None, '{"subject": "x"}'),
    ("application/json; charset=latin-1", '{"subject": "x"}'),
    ("application/xml", "<subject>x</subject>"),
)  # fmt: skip
MALFORMED_JSON = (
    b"{bad", b"", b"[]", b'"x"', b"null", b'{"subject": "a", "subject": "b"}',
    b'{"subject": NaN}', b'{"subject": Infinity}', b"\xff\xfe{}", b"[" * 100_000,
)  # fmt: skip


def test_asvs_4_1_content_type_415(api: Harness) -> None:
    ben = api.client("ben@acme.test")
    before = api.count("ticket")
    t2 = api.ticket("t2")
    for content_type, data in NOT_JSON:
        kwargs: dict[str, Any] = {"data": data.encode(), "headers": CSRF}
        if content_type is not None:
            kwargs["content_type"] = content_type
        response = ben.post(f"{API}/ticket", **kwargs)
        assert_problem(response, 415, "unsupported-media-type")
        response = ben.patch(f"{API}/ticket/{t2}", **kwargs)
        assert_problem(response, 415, "unsupported-media-type")
    assert api.count("ticket") == before
    assert api.row("ticket", t2)["version"] == 1  # type: ignore[index]


def test_asvs_4_1_malformed_json_400(api: Harness) -> None:
    ben = api.client("ben@acme.test")
    for data in MALFORMED_JSON:
        response = ben.post(
            f"{API}/ticket", data=data, content_type="application/json", headers=CSRF
        )
        assert_problem(response, 400, "malformed-json")


def test_asvs_4_1_1_api_content_types(api: Harness) -> None:
    ben = api.client("ben@acme.test")
    ok = ben.get(f"{API}/ticket")
    assert ok.headers["Content-Type"] == "application/json"
    problem = ben.get(f"{API}/nothing")
    assert problem.headers["Content-Type"] == "application/problem+json"
    for response in (ok, problem):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    utf8 = ben.post(
        f"{API}/ticket",
        data='{"subject": "Grüße"}'.encode(),
        content_type="application/json; charset=utf-8",
        headers=CSRF,
    )
    assert utf8.status_code == 201 and utf8.get_json()["subject"] == "Grüße"


# -- 3.5 CSRF ---------------------------------------------------------------------------------
def test_asvs_3_5_api_csrf_required(api_ext: Harness) -> None:
    ben = api_ext.client("ben@acme.test")
    before = api_ext.count("ticket")
    t2 = api_ext.ticket("t2")
    for headers in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": ""}):
        response = ben.post(f"{API}/ticket", json={"subject": "x"}, headers=headers)
        assert_problem(response, 403, "csrf")
        response = ben.patch(f"{API}/ticket/{t2}", json={"subject": "x"}, headers=headers)
        assert_problem(response, 403, "csrf")
        assert_problem(ben.delete(f"{API}/ticket/{t2}", headers=headers), 403, "csrf")
    assert api_ext.count("ticket") == before
    assert api_ext.row("ticket", t2)["version"] == 1  # type: ignore[index]
    # the token can be fetched by the same origin with a GET
    fetched = ben.get(f"{API}/ticket", headers={"X-CSRF-Token": "fetch"})
    token = fetched.headers["X-CSRF-Token"]
    assert "no-store" in fetched.headers["Cache-Control"]
    assert "X-CSRF-Token" not in ben.get(f"{API}/ticket").headers
    created = ben.post(f"{API}/ticket", json={"subject": "x"}, headers={"X-CSRF-Token": token})
    assert created.status_code == 201
    assert ben.post(f"{API}/ticket", json={"subject": "x"}, headers=CSRF).status_code == 201


def test_asvs_3_5_api_get_changes_nothing(api: Harness) -> None:
    ben = api.client("ben@acme.test")
    t2 = api.ticket("t2")
    before = api.row("ticket", t2)
    ben.get(f"{API}/ticket/{t2}?subject=changed&_method=PATCH")
    assert api.row("ticket", t2) == before


# -- 16.5 generic errors --------------------------------------------------------------------------
def test_asvs_16_5_api_generic_500(api: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    api.app.config["PROPAGATE_EXCEPTIONS"] = False
    runtime = api.runtime_portal()

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("SELECT secret FROM p_acme_support__ticket")

    monkeypatch.setattr(runtime.store, "list", explode)
    body = assert_problem(api.client("ben@acme.test").get(f"{API}/ticket"), 500, "internal-error")
    assert "secret" not in str(body) and "Traceback" not in str(body)


# -- R5 optimistic locking --------------------------------------------------------------------
def test_r5_api_stale_version_409(api_ext: Harness) -> None:
    ben = api_ext.client("ben@acme.test")
    url = f"{API}/ticket/{api_ext.ticket('t2')}"
    first = ben.patch(url, json={"subject": "one"}, headers={**CSRF, "If-Match": '"1"'})
    assert first.status_code == 200 and first.get_json()["version"] == 2
    stale = ben.patch(url, json={"subject": "two"}, headers={**CSRF, "If-Match": '"1"'})
    assert assert_problem(stale, 409, "stale")["current_version"] == 2
    stale_body = ben.patch(url, json={"subject": "two", "version": 1}, headers=CSRF)
    assert_problem(stale_body, 409, "stale")
    assert ben.get(url).get_json()["subject"] == "one"
    disagree = ben.patch(
        url, json={"subject": "x", "version": 2}, headers={**CSRF, "If-Match": '"1"'}
    )
    # the record cannot be at both versions: the answer a stale version gets
    assert_problem(disagree, 409, "stale")
    assert ben.get(url).get_json()["subject"] == "one"
    integral = ben.patch(url, json={"subject": "three", "version": 2.0}, headers=CSRF)
    assert integral.status_code == 200 and integral.get_json()["version"] == 3
    assert_problem(ben.patch(url, json={"version": 3.5}, headers=CSRF), 422)
    garbage = ben.patch(url, json={"subject": "x"}, headers={**CSRF, "If-Match": "yesterday"})
    assert_problem(garbage, 400, "bad-if-match")
    bad_version = ben.patch(url, json={"subject": "x", "version": "2"}, headers=CSRF)
    assert assert_problem(bad_version, 422)["errors"]["version"][0]["code"] == "type"
    assert_problem(ben.delete(url, headers={**CSRF, "If-Match": '"1"'}), 409, "stale")
    assert ben.delete(url, headers={**CSRF, "If-Match": '"3"'}).status_code == 204
