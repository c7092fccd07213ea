"""A hidden field never shapes an answer: filters, search, sort, groups and sums (SQLite and
PostgreSQL).

The starter blueprint with the customer's read grant split in two, as the review reproduced
it: `{read, scope: account, except: [assignee, body, priority]}` and `{read, scope: own}`.
Ben reads Anna's ticket #1 without its body and priority; Anna reads Ben's #2 likewise. Each
test asks the same question twice, around an SQL update of a value the asker cannot read,
and the two answers must be the same — and must not find the row by its hidden value.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from portalis.engine.definition.fieldtypes.money import Money
from portalis.testing.portals import BLUEPRINTS
from portalis.testing.web import PortalClient, WebPortal

API = "/api/v1"
SPLIT_GRANT = (
    "      - {roles: [customer], actions: [read], scope: account, "
    "fields: {except: [assignee, body, priority]}}\n"
    "      - {roles: [customer], actions: [read], scope: own}\n"
    "      - {roles: [customer], actions: [create], scope: account, "
    "fields: {except: [assignee]}}\n"
)


def split_grants(folder: Path) -> Path:
    """A copy of the starter whose customers read others' tickets without body and priority."""
    shutil.copytree(BLUEPRINTS / "b2c", folder)
    entity = folder / "entities" / "ticket.yaml"
    text = entity.read_text(encoding="utf-8")
    old = (
        "      - {roles: [customer], actions: [read, create], scope: account, "
        "fields: {except: [assignee]}}\n"
    )
    assert old in text, "the starter's customer grant changed: update this test"
    # the holding's tree grant would show account admins every field of their own account
    tree = (
        "      # a holding's administrators read the tickets of every company below theirs\n"
        "      - {roles: [account_admin], actions: [read], scope: account_tree, "
        "fields: {except: [assignee]}}\n"
    )
    assert tree in text, "the starter's holding grant changed: update this test"
    entity.write_text(text.replace(old, SPLIT_GRANT).replace(tree, ""), encoding="utf-8")
    pages = folder / "pages" / "tickets.yaml"
    text = pages.read_text(encoding="utf-8")
    assert "          link: ticket\n" in text
    pages.write_text(
        text.replace(
            "          link: ticket\n", "          link: ticket\n          export: true\n", 1
        ),
        encoding="utf-8",
    )
    return folder


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path / "instance", split_grants(tmp_path / "def"))
    yield portal
    portal.close()


def set_hidden(web: WebPortal, subject_prefix: str, **values: Any) -> None:
    """Change columns of one ticket behind the store's back (the 'other database')."""
    table = web.compiled.tables["ticket"]
    with web.engine.begin() as conn:
        conn.execute(
            sa.update(table)
            .where(table.c.subject.startswith(subject_prefix))
            .values(updated_at=table.c.updated_at, **values)
        )


def same_answer_whatever(
    web: WebPortal, subject_prefix: str, ask: Callable[[], Any], **hidden: Any
) -> Any:
    """Ask, change hidden values of one ticket, ask again: the answers must be equal."""
    before = ask()
    set_hidden(web, subject_prefix, **hidden)
    after = ask()
    assert before == after, f"a hidden value changed the answer: {before!r} != {after!r}"
    return before


def api_ids(client: PortalClient, query: str) -> list[int]:
    response = client.get(f"{API}/ticket?{query}")
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.get_json()["items"]]


def test_review_1_api_filter_by_hidden_field(web: WebPortal) -> None:
    ben = web.client("ben@acme.test")
    t1 = web.record_id("ticket", subject="Invoice 2026-114 is wrong")
    t2 = web.record_id("ticket", subject="Cannot download my contract")
    assert api_ids(ben, "priority=high") == []
    assert api_ids(ben, "priority=normal") == [t2]  # his own ticket: priority readable
    assert t1 in api_ids(ben, "")  # #1 itself stays visible
    for priority in ("high", "low", "urgent"):
        same_answer_whatever(
            web, "Invoice", lambda p=priority: api_ids(ben, f"priority={p}"), priority=priority
        )


def test_review_1_api_search_hidden_text(web: WebPortal) -> None:
    ben = web.client("ben@acme.test")
    t2 = web.record_id("ticket", subject="Cannot download my contract")
    assert api_ids(ben, "q=charged") == []
    # a term grown letter by letter finds nothing either
    for prefix in ("c", "ch", "cha", "char", "charg"):
        assert web.record_id("ticket", subject="Invoice 2026-114 is wrong") not in api_ids(
            ben, f"q=line+{prefix}"
        )
    assert api_ids(ben, "q=pdf") == [t2]  # his own ticket's body is searched
    same_answer_whatever(web, "Invoice", lambda: api_ids(ben, "q=secret"), body="a secret")


def test_review_1_api_sort_by_hidden_field(web: WebPortal) -> None:
    ben = web.client("ben@acme.test")
    for sort in ("priority", "-priority"):
        for value in ("low", "urgent"):
            same_answer_whatever(
                web, "Invoice", lambda s=sort: api_ids(ben, f"sort={s}"), priority=value
            )


def list_subjects(client: PortalClient, query: str) -> list[str]:
    response = client.get(f"/tickets?{query}")
    assert response.status_code == 200
    return re.findall(r"(Invoice 2026-114 is wrong|Cannot download my contract)", response.text)


def test_review_1_list_page_filter_search_sort(web: WebPortal) -> None:
    ben = web.client("ben@acme.test")
    assert list_subjects(ben, "priority=high") == []
    assert list_subjects(ben, "q=charged") == []
    for value in ("low", "urgent"):
        same_answer_whatever(
            web, "Invoice", lambda: list_subjects(ben, "sort=priority"), priority=value
        )


def export_subjects(client: PortalClient, query: str) -> list[str]:
    response = client.get(f"/_export/tickets/0.csv?{query}")
    assert response.status_code == 200, response.text
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    return [row[0] for row in rows[1:]]


def test_review_1_csv_export(web: WebPortal) -> None:
    ben = web.client("ben@acme.test")
    assert "Invoice 2026-114 is wrong" in export_subjects(ben, "")
    assert export_subjects(ben, "priority=high") == []
    assert export_subjects(ben, "q=charged") == []
    same_answer_whatever(
        web, "Invoice", lambda: export_subjects(ben, "sort=-priority"), priority="low"
    )


def test_review_1_dashboard_groups_hidden_values_as_none(web: WebPortal) -> None:
    anna = web.actor("anna@acme.test")
    store = web.store
    # Anna reads her own #1's priority (high), not Ben's #2's: it counts as "(none)"
    groups = dict(store.aggregate(anna, "ticket", function="count", group_by="priority"))
    assert groups == {None: 1, "high": 1}
    client = web.client("anna@acme.test")

    def metrics() -> list[tuple[str, str]]:
        html = client.get("/dashboard").get_data(as_text=True)
        return re.findall(r"<tr><th scope=\"row\">([^<]*)</th><td>([^<]*)</td></tr>", html)

    assert ("Hoch", "1") in metrics() and ("(keine)", "1") in metrics()  # Anna reads German

    same_answer_whatever(web, "Cannot download", metrics, priority="urgent")


def test_review_1_sum_skips_hidden_values(database_url: str, tmp_path: Path) -> None:
    folder = split_grants(tmp_path / "def")
    entity = folder / "entities" / "ticket.yaml"
    text = entity.read_text(encoding="utf-8")
    entity.write_text(
        text.replace("fields: {except: [assignee, body, priority]}", "fields: {except: [amount]}"),
        encoding="utf-8",
    )
    web = WebPortal.deploy(database_url, tmp_path / "instance", folder)
    try:
        ben = web.actor("ben@acme.test")
        total = web.store.aggregate(ben, "ticket", function="sum", field="amount")
        assert total == [(None, Money(Decimal(0), "EUR"))]  # #1's 129.00 is Anna's, hidden
        sam = web.actor("sam@support.test")
        assert web.store.aggregate(sam, "ticket", function="sum", field="amount") == [
            (None, Money(Decimal(129), "EUR"))
        ]
    finally:
        web.close()
