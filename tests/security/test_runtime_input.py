"""SECURITY A.26 (ASVS 2.2.1) and A.27 (ASVS 2.3.3): hostile input and all-or-nothing writes.

Hypothesis posts random values for every field of the new-ticket form and of the ticket API
(create and update): the answer is never a 5xx, and whatever is accepted satisfies the
definition's constraints (required, max_length, choice options, the due-date rule, the
account scope, workflow-owned status). A create or transition whose rule fails writes nothing.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_runtime_support import SUBJECTS, deploy, table_rows

from portalis.testing.databases import postgres_available, postgres_database, sqlite_database
from portalis.testing.pytest_plugin import require_service
from portalis.testing.web import PDF, WebPortal

FUZZ = settings(
    max_examples=int(os.environ.get("PORTALIS_FUZZ_EXAMPLES", "60")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PRIORITIES = {"low", "normal", "high", "urgent"}
TRICKY = (
    "", " ", "\x00", "0", "-1", "1e309", "NaN", "Infinity", "9999-99-99", "2026-02-30",
    "0001-01-01", "<script>alert(1)</script>", "' OR 1=1 --", "normal", "urgent", "NORMAL",
    "a,b,,c", "\u202e\u0000", "🙂" * 70, "x" * 201, "x" * 10_000, "%00", "../../etc/passwd",
    "{{ 7*7 }}", "${jndi:ldap://x}", "[]", "{}", "null", "true",
)  # fmt: skip
form_value = st.one_of(
    st.sampled_from(TRICKY),
    st.text(max_size=40),
    st.text(min_size=195, max_size=210),
    st.integers().map(str),
    st.dates().map(date.isoformat),
)
upload = st.one_of(
    st.none(),
    st.tuples(
        st.one_of(st.just(PDF), st.binary(max_size=64), st.text(max_size=30).map(str.encode)),
        st.sampled_from(["a.pdf", "a.txt", "a.png", "a.exe", "../x.pdf", "A.PDF", "x", ".pdf"]),
    ),
)
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(TRICKY),
    st.dates().map(date.isoformat),
)
json_value = st.recursive(
    json_scalar,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=2)
    ),
    max_leaves=6,
)
TICKET_FIELDS = (
    "subject", "body", "priority", "tags", "account", "assignee", "amount", "due",
    "attachment", "status", "resolution",
)  # fmt: skip
json_ticket = st.dictionaries(
    st.one_of(st.sampled_from(TICKET_FIELDS), st.text(max_size=8)), json_value, max_size=6
)


class Served(WebPortal):
    """The fuzzed portal, with a short repr for Hypothesis' failure reports."""

    def __repr__(self) -> str:
        return f"<served {self.slug}>"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def web(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebPortal]:
    """One deployment per database for every fuzz test of this module."""
    folder = tmp_path_factory.mktemp("fuzz")
    if request.param == "postgresql":
        require_service(postgres_available())
    databases = sqlite_database(folder) if request.param == "sqlite" else postgres_database()
    with databases as url:
        deployed = deploy(url, folder / "instance")
        portal = Served(deployed.app, deployed.compiled)
        portal.app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash must show as a 500
        yield portal
        portal.close()


def ticket_row(web: WebPortal, ticket: int) -> dict[str, Any]:
    table = web.compiled.tables["ticket"]
    with web.engine.connect() as conn:
        return dict(conn.execute(sa.select(table).where(table.c.id == ticket)).mappings().one())


def ticket_count(web: WebPortal) -> int:
    table = web.compiled.tables["ticket"]
    with web.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def assert_valid_ticket(web: WebPortal, row: dict[str, Any], account: int) -> None:
    """What the definition promises about every stored ticket of a customer."""
    assert isinstance(row["subject"], str) and row["subject"].strip(), row
    assert len(row["subject"]) <= 200, row
    assert row["priority"] in PRIORITIES | {None}, row  # optional: empty means none
    assert row["account"] == account, row
    assert row["status"] in {"open", "in_progress", "resolved", "closed"}, row
    assert row["assignee"] is None, row  # customers may not write it
    due = row["due"]
    if due is not None:
        assert due >= date.today() - timedelta(days=1), row  # the rule: not in the past


@given(
    subject=form_value,
    body=form_value,
    priority=form_value,
    tags=form_value,
    due=form_value,
    attachment=upload,
    extra=st.dictionaries(st.sampled_from(["account", "status", "assignee", "id"]), form_value),
)
@FUZZ
def test_asvs_2_2_1_form_fuzz(
    web: WebPortal,
    subject: str,
    body: str,
    priority: str,
    tags: str,
    due: str,
    attachment: tuple[bytes, str] | None,
    extra: dict[str, str],
) -> None:
    ben = web.client("ben@acme.test")
    account = web.record_id("account", name="Acme GmbH")
    data: dict[str, Any] = {
        **extra,
        "_block": "0",
        "subject": subject,
        "body": body,
        "priority": priority,
        "tags": tags,
        "due": due,
    }
    if attachment is not None:
        data["attachment"] = (io.BytesIO(attachment[0]), attachment[1])
    before = ticket_count(web)
    response = ben.post("/tickets/new", data, content_type="multipart/form-data")
    assert response.status_code in (303, 400, 413, 422), (response.status_code, data)
    if response.status_code != 303:
        assert ticket_count(web) == before
        return
    match = re.search(r"/tickets/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    row = ticket_row(web, int(match.group(1)))
    assert_valid_ticket(web, row, account)
    assert row["status"] == "open"
    assert len(row["subject"]) <= 200 and ticket_count(web) == before + 1


@given(body=json_ticket)
@FUZZ
def test_asvs_2_2_1_api_fuzz(web: WebPortal, body: dict[str, Any]) -> None:
    ben = web.client("ben@acme.test")
    account = web.record_id("account", name="Acme GmbH")
    headers = {"X-CSRF-Token": ben.csrf}
    before = ticket_count(web)
    response = ben.client.post(ben.url("/api/v1/ticket"), json=body, headers=headers)
    assert response.status_code in (201, 400, 403, 422), (response.status_code, body)
    assert response.mimetype in ("application/json", "application/problem+json")
    if response.status_code != 201:
        assert ticket_count(web) == before
        return
    row = ticket_row(web, int(response.json["id"]))
    assert_valid_ticket(web, row, account)
    assert row["status"] == "open"


@given(body=json_ticket)
@FUZZ
def test_asvs_2_2_1_api_update_fuzz(web: WebPortal, body: dict[str, Any]) -> None:
    ben = web.client("ben@acme.test")
    account = web.record_id("account", name="Acme GmbH")
    ticket = web.record_id("ticket", subject=SUBJECTS["t2"])
    before = ticket_row(web, ticket)
    headers = {"X-CSRF-Token": ben.csrf, "If-Match": f'"{before["version"]}"'}
    response = ben.client.patch(ben.url(f"/api/v1/ticket/{ticket}"), json=body, headers=headers)
    assert response.status_code in (200, 400, 403, 409, 422), (response.status_code, body)
    after = ticket_row(web, ticket)
    if response.status_code != 200:
        assert after == before
        return
    assert_valid_ticket(web, after, account)
    assert after["status"] == before["status"]  # only transitions change it
    assert after["version"] == before["version"] + 1
    if after["subject"] != SUBJECTS["t2"]:  # keep finding t2 by its subject
        table = web.compiled.tables["ticket"]
        with web.engine.begin() as conn:
            conn.execute(table.update().where(table.c.id == ticket).values(subject=SUBJECTS["t2"]))


#: Characters without NUL (NUL bytes have their own deterministic test below) and without
#: lone surrogates (no URL can carry one: the test client would fail before the application).
no_nul = st.characters(exclude_characters="\x00", exclude_categories=("Cs",))
query_value = st.one_of(
    st.sampled_from([t for t in TRICKY if "\x00" not in t]),
    st.text(alphabet=no_nul, max_size=30),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["-subject", "subject", "-updated_at", "due", "--x", "id;drop", "assignee"]),
)
QUERY_KEYS = (
    "q", "sort", "page", "page_size", "status", "priority", "account", "due", "updated_at",
    "tags", "limit", "id", "lang", "subject", "f_page", "assignee", "amount", "created_by",
)  # fmt: skip
QUERY_PATHS = (
    "/tickets", "/_export/tickets/0.csv", "/_ac/ticket", "/_ac/user", "/api/v1/ticket",
    "/api/v1/message", "/account/users", "/dashboard",
)  # fmt: skip


@given(
    path=st.sampled_from(QUERY_PATHS),
    query=st.dictionaries(st.sampled_from(QUERY_KEYS), query_value, max_size=4),
)
@FUZZ
def test_asvs_2_2_1_query_fuzz(web: WebPortal, path: str, query: dict[str, str]) -> None:
    anna = web.client("anna@acme.test")
    response = anna.get(path, query_string=query)
    response.get_data()  # a streamed export must finish, too
    assert response.status_code < 500, (path, query, response.status_code)
    assert response.status_code in (200, 302, 400, 403, 404), (path, query)


def nul_byte_failures(web: WebPortal) -> list[str]:
    """Requests carrying NUL bytes that answer 5xx (they must be refused with 4xx)."""
    sam, ben, anonymous = web.client("sam@support.test"), web.client("ben@acme.test"), web.client()
    anonymous.sync_csrf()
    web.app.config["PROPAGATE_EXCEPTIONS"] = False
    attempts = {
        "GET /tickets?q=": lambda: sam.get("/tickets", query_string={"q": "a\x00b"}),
        "GET /api/v1/ticket?q=": lambda: sam.get("/api/v1/ticket", query_string={"q": "\x00"}),
        "GET export ?q=": lambda: sam.get("/_export/tickets/0.csv", query_string={"q": "\x00"}),
        "GET /_ac/ticket?q=": lambda: sam.get("/_ac/ticket", query_string={"q": "\x00"}),
        "GET /_ac/user?q=": lambda: sam.get("/_ac/user", query_string={"q": "\x00"}),
        "POST /login email": lambda: anonymous.post(
            "/login", {"email": "ben\x00@acme.test", "password": "correct horse 44"}
        ),
        "POST /profile name": lambda: ben.post(
            "/profile", {"action": "details", "name": "Ben\x00"}
        ),
        "POST /tickets/new subject": lambda: ben.post(
            "/tickets/new", {"_block": "0", "subject": "a\x00b"}
        ),
        "POST /api/v1/ticket subject": lambda: ben.client.post(
            ben.url("/api/v1/ticket"),
            json={"subject": "a\x00b"},
            headers={"X-CSRF-Token": ben.csrf},
        ),
    }
    failures = []
    for name, attempt in attempts.items():
        response = attempt()
        response.get_data()
        if response.status_code >= 500:
            failures.append(f"{name} → {response.status_code}")
    return failures


def test_asvs_2_2_1_nul_bytes_never_500(sqlite_url: str, tmp_path: Path) -> None:
    web = deploy(sqlite_url, tmp_path / "instance")
    try:
        assert nul_byte_failures(web) == []
    finally:
        web.close()


def test_asvs_2_2_1_nul_bytes_never_500_postgresql(
    postgres_url_fixture: str, tmp_path: Path
) -> None:
    web = deploy(postgres_url_fixture, tmp_path / "instance")
    try:
        assert nul_byte_failures(web) == []
    finally:
        web.close()


# -- A.27 all-or-nothing ----------------------------------------------------------------------
@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[WebPortal]:
    with sqlite_database(tmp_path) as url:
        portal = deploy(url, tmp_path / "instance")
        yield portal
        portal.close()


def test_asvs_2_3_3_failed_operations_write_nothing(fresh: WebPortal) -> None:
    web = fresh
    ben, sam = web.client("ben@acme.test"), web.client("sam@support.test")
    past = (date.today() - timedelta(days=2)).isoformat()
    entity_tables = [web.compiled.tables[name].name for name in web.compiled.model.entities]

    def entity_rows() -> dict[str, Any]:
        rows = table_rows(web.engine, skip_columns=frozenset({"last_seen"}))
        return {name: rows[name] for name in entity_tables}

    before = entity_rows()
    # a create whose rule fails (due date in the past), with an upload on the way
    response = ben.post(
        "/tickets/new",
        {"_block": "0", "subject": "Late", "due": past, "attachment": (io.BytesIO(PDF), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "The due date is in the past" in response.text
    kept = re.search(r'name="attachment__kept" value="([^"]+)"', response.text)
    assert kept is not None
    assert ben.get(f"/_files/{kept.group(1)}").status_code == 404  # held by no record
    # the same through the API
    api = ben.client.post(
        ben.url("/api/v1/ticket"),
        json={"subject": "Late", "due": past, "tags": ["x"]},
        headers={"X-CSRF-Token": ben.csrf, "Idempotency-Key": "late-ticket-0001"},
    )
    assert api.status_code == 422
    # a message under a ticket the author may not read
    globex = web.record_id("ticket", subject=SUBJECTS["t3"])
    api = ben.client.post(
        ben.url("/api/v1/message"),
        json={"ticket": globex, "body": "hello"},
        headers={"X-CSRF-Token": ben.csrf},
    )
    assert api.status_code in (404, 422)
    assert entity_rows() == before

    # a transition (and an edit) whose rule fails on the record persists nothing
    t3 = web.record_id("ticket", subject=SUBJECTS["t3"])
    table = web.compiled.tables["ticket"]
    with web.engine.begin() as conn:  # a due date that has passed since it was set
        conn.execute(table.update().where(table.c.id == t3).values(due=date.fromisoformat(past)))
    stale = entity_rows()
    response = sam.post(f"/_act/ticket/{t3}/transition", {"name": "start", "version": "1"})
    assert response.status_code in (303, 409, 422)
    edit = sam.client.patch(
        sam.url(f"/api/v1/ticket/{t3}"),
        json={"priority": "urgent"},
        headers={"X-CSRF-Token": sam.csrf, "If-Match": '"1"'},
    )
    assert edit.status_code == 422
    assert entity_rows() == stale
    assert ticket_row(web, t3)["status"] == "open"
