"""REST API: functional CRUD over tickets and messages, paging, errors (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta

from test_api_support import API, CSRF, Harness, assert_problem


# -- reading ----------------------------------------------------------------------------
def test_list_tickets_as_customer(api: Harness) -> None:
    response = api.client("ben@acme.test").get(f"{API}/ticket")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    body = response.get_json()
    assert set(body) == {"items", "page", "page_size", "total", "total_exact", "has_next"}
    assert (body["page"], body["page_size"], body["total"]) == (1, 25, 2)
    assert body["total_exact"] is True and body["has_next"] is False
    assert {t["id"] for t in body["items"]} == {api.ticket("t1"), api.ticket("t2")}
    item = next(t for t in body["items"] if t["id"] == api.ticket("t1"))
    assert item["subject"] == "Invoice 2026-114 is wrong"
    assert item["amount"] == {"amount": "129.00", "currency": "EUR"}
    assert item["tags"] == ["billing"]
    assert item["status"] == "open" and item["version"] == 1
    assert item["created_by"] == api.user_id("anna@acme.test")
    assert item["created_at"].endswith("+00:00")


def test_list_paging_sort_filter_search(api: Harness) -> None:
    sam = api.client("sam@support.test")
    first = sam.get(f"{API}/ticket?page_size=3&sort=subject").get_json()
    assert first["total"] == 4 and first["has_next"] is True and len(first["items"]) == 3
    subjects = [t["subject"] for t in first["items"]]
    assert subjects == sorted(subjects)
    second = sam.get(f"{API}/ticket?page_size=3&sort=subject&page=2").get_json()
    assert len(second["items"]) == 1 and second["has_next"] is False
    desc = sam.get(f"{API}/ticket?sort=-subject").get_json()["items"]
    assert [t["subject"] for t in desc] == sorted((t["subject"] for t in desc), reverse=True)
    urgent = sam.get(f"{API}/ticket?priority=urgent").get_json()["items"]
    assert [t["id"] for t in urgent] == [api.ticket("t4")]
    found = sam.get(f"{API}/ticket?q=OUTAGE").get_json()["items"]
    assert [t["id"] for t in found] == [api.ticket("t4")]
    capped = sam.get(f"{API}/ticket?page_size=5000").get_json()
    assert capped["page_size"] == 200


def test_get_ticket_as_agent_has_assignee_and_etag(api: Harness) -> None:
    response = api.client("sam@support.test").get(f"{API}/ticket/{api.ticket('t4')}")
    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
    body = response.get_json()
    assert body["assignee"] == api.user_id("sam@support.test")
    assert body["status"] == "in_progress"


def test_user_and_account_entities_show_only_the_actors_own(api: Harness) -> None:
    ben = api.client("ben@acme.test")
    users = ben.get(f"{API}/user").get_json()["items"]
    assert [u["email"] for u in users] == ["ben@acme.test"]
    assert set(users[0]) == {
        "id", "email", "name", "account", "locale",
        "created_at", "updated_at", "created_by", "version",
    }  # fmt: skip
    accounts = ben.get(f"{API}/account").get_json()["items"]
    assert [a["name"] for a in accounts] == ["Acme GmbH"]


# -- writing ----------------------------------------------------------------------------
def test_create_ticket(api: Harness) -> None:
    ben = api.client("ben@acme.test")
    due = (date.today() + timedelta(days=3)).isoformat()
    response = ben.post(
        f"{API}/ticket",
        json={"subject": "Printer on fire", "priority": "high", "tags": ["hw"], "due": due},
        headers=CSRF,
    )
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert response.headers["Location"] == f"{API}/ticket/{created['id']}"
    assert response.headers["ETag"] == '"1"'
    acme = api.id_of("account", "name", "Acme GmbH")
    assert created["account"] == acme  # customers create inside their own account
    assert created["status"] == "open" and created["version"] == 1
    assert created["created_by"] == api.user_id("ben@acme.test")
    assert created["due"] == due and created["tags"] == ["hw"]
    assert "assignee" not in created
    again = ben.get(response.headers["Location"])
    assert again.status_code == 200 and again.get_json() == created


def test_create_ticket_field_errors_422(api: Harness) -> None:
    ben = api.client("ben@acme.test")
    before = api.count("ticket")
    response = ben.post(f"{API}/ticket", json={"body": "no subject"}, headers=CSRF)
    body = assert_problem(response, 422, "invalid")
    assert body["errors"]["subject"] == [{"code": "required", "message": "this field is required"}]
    past = (date.today() - timedelta(days=3)).isoformat()
    response = ben.post(f"{API}/ticket", json={"subject": "x", "due": past}, headers=CSRF)
    body = assert_problem(response, 422, "invalid")
    assert body["errors"]["__all__"][0]["code"] == "rule"
    response = ben.post(f"{API}/ticket", json={"subject": 5, "priority": "meh"}, headers=CSRF)
    errors = assert_problem(response, 422)["errors"]
    assert errors["subject"][0]["code"] == "type" and errors["priority"][0]["code"] == "choice"
    assert api.count("ticket") == before


def test_update_own_ticket(api: Harness) -> None:
    ben = api.client("ben@acme.test")
    url = f"{API}/ticket/{api.ticket('t2')}"
    response = ben.patch(
        url, json={"subject": "Contract PDF broken"}, headers={**CSRF, "If-Match": '"1"'}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["subject"] == "Contract PDF broken" and body["version"] == 2
    assert response.headers["ETag"] == '"2"'
    response = ben.patch(url, json={"body": "still broken", "version": 2}, headers=CSRF)
    assert response.status_code == 200 and response.get_json()["version"] == 3


def test_update_field_outside_grant_422(api: Harness) -> None:
    response = api.client("ben@acme.test").patch(
        f"{API}/ticket/{api.ticket('t2')}", json={"priority": "urgent"}, headers=CSRF
    )
    body = assert_problem(response, 422, "invalid")
    assert body["errors"]["priority"][0]["code"] == "not-writable"
    assert api.row("ticket", api.ticket("t2"))["priority"] == "normal"  # type: ignore[index]


def test_update_visible_but_not_own_ticket_403(api: Harness) -> None:
    # ben sees anna's ticket (same account) but may only change his own
    response = api.client("ben@acme.test").patch(
        f"{API}/ticket/{api.ticket('t1')}", json={"subject": "mine now"}, headers=CSRF
    )
    assert_problem(response, 403, "forbidden")
    # agents read tickets but have no grant to create them
    response = api.client("sam@support.test").post(
        f"{API}/ticket", json={"subject": "x"}, headers=CSRF
    )
    assert_problem(response, 403, "forbidden")


def test_agent_updates_assignee(api: Harness) -> None:
    sam_id = api.user_id("sam@support.test")
    response = api.client("sam@support.test").patch(
        f"{API}/ticket/{api.ticket('t3')}", json={"assignee": sam_id}, headers=CSRF
    )
    assert response.status_code == 200 and response.get_json()["assignee"] == sam_id


def test_messages_create_and_list(api: Harness) -> None:
    ben = api.client("ben@acme.test")
    t1 = api.ticket("t1")
    response = ben.post(f"{API}/message", json={"ticket": t1, "body": "Any news?"}, headers=CSRF)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["ticket"] == t1
    listed = ben.get(f"{API}/message?ticket={t1}&sort=created_at").get_json()
    assert [m["body"] for m in listed["items"]] == [
        "Please check line 3.",
        "Thanks, we are looking into it.",
        "Any news?",
    ]
    reply = api.client("sam@support.test").post(
        f"{API}/message", json={"ticket": api.ticket("t3"), "body": "On it."}, headers=CSRF
    )
    assert reply.status_code == 201


def test_message_on_other_accounts_ticket_422(api: Harness) -> None:
    before = api.count("message")
    response = api.client("ben@acme.test").post(
        f"{API}/message", json={"ticket": api.ticket("t3"), "body": "hi globex"}, headers=CSRF
    )
    body = assert_problem(response, 422, "invalid")
    assert body["errors"]["ticket"][0]["code"] == "not-found"
    assert api.count("message") == before


def test_delete_without_grant_403(api: Harness) -> None:
    response = api.client("ben@acme.test").delete(f"{API}/ticket/{api.ticket('t2')}", headers=CSRF)
    assert_problem(response, 403, "forbidden")
    assert api.row("ticket", api.ticket("t2")) is not None


def test_delete_own_ticket_204(api_ext: Harness) -> None:
    ben = api_ext.client("ben@acme.test")
    t2 = api_ext.ticket("t2")
    response = ben.delete(f"{API}/ticket/{t2}", headers={**CSRF, "If-Match": '"1"'})
    assert response.status_code == 204 and response.data == b""
    assert "Content-Type" not in response.headers
    assert_problem(ben.get(f"{API}/ticket/{t2}"), 404, "not-found")
    assert api_ext.row("ticket", t2) is None


# -- errors -----------------------------------------------------------------------------
def test_unknown_entity_and_record_404(api: Harness) -> None:
    ben = api.client("ben@acme.test")
    assert_problem(ben.get(f"{API}/nothing"), 404, "not-found")
    assert_problem(ben.get(f"{API}/ticket/999999"), 404, "not-found")
    assert_problem(ben.get(f"{API}/ticket/abc"), 404)
    assert_problem(ben.post(f"{API}/nothing", json={}, headers=CSRF), 404, "not-found")


def test_method_not_allowed_405(api: Harness) -> None:
    ben = api.client("ben@acme.test")
    response = ben.put(f"{API}/ticket/{api.ticket('t2')}", json={}, headers=CSRF)
    assert_problem(response, 405)
    assert_problem(ben.delete(f"{API}/ticket", headers=CSRF), 405)


def test_anonymous_gets_401_for_existing_entities_404_for_unknown(api: Harness) -> None:
    anon = api.client()
    for response in (
        anon.get(f"{API}/ticket"),
        anon.get(f"{API}/ticket/{api.ticket('t1')}"),
        anon.post(f"{API}/ticket", json={"subject": "x"}, headers=CSRF),
        anon.get(f"{API}/user"),
    ):
        assert_problem(response, 401, "unauthenticated")
        assert response.headers["WWW-Authenticate"] == "Session"
    assert_problem(anon.get(f"{API}/nothing"), 404, "not-found")


def test_entity_without_read_grant_404_signed_in_401_anonymous(api_ext: Harness) -> None:
    assert_problem(api_ext.client("ben@acme.test").get(f"{API}/note"), 404, "not-found")
    assert_problem(
        api_ext.client("ben@acme.test").post(f"{API}/note", json={"text": "x"}, headers=CSRF),
        404,
        "not-found",
    )
    assert_problem(api_ext.client().get(f"{API}/note"), 401, "unauthenticated")
    sam = api_ext.client("sam@support.test")
    created = sam.post(f"{API}/note", json={"text": "internal"}, headers=CSRF)
    assert created.status_code == 201
    assert sam.get(f"{API}/note").get_json()["total"] == 1
