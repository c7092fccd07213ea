"""Live fields (`stored: sql`) over HTTP on SQLite and PostgreSQL: the list page shows, filters
and sorts by them, the metrics count them, the API lists, filters and sorts by them, and a
reader whose grant hides one can do none of that. Portal: tests/engine/portals/live_fields."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from portalis.testing.web import WebPortal

FOLDER = Path(__file__).parent.parent / "engine" / "portals" / "live_fields"
TODAY = dt.datetime.now(dt.UTC).date()
DAY = dt.timedelta(days=1)


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path / "instance", FOLDER)
    clara = portal.actor("clara@billing.test")
    for number, status, due, net in (
        ("INV-LATE", "issued", TODAY - 5 * DAY, "100.00"),
        ("INV-SOON", "issued", TODAY + 4 * DAY, "20.00"),
        ("INV-OLD", "issued", TODAY - 30 * DAY, "3.50"),
        ("INV-DRAFT", "draft", TODAY - 9 * DAY, None),
    ):
        values = {"number": number, "status": status, "due": due, "net": net, "rate": "0.190"}
        portal.store.insert(clara, "invoice", {**values, "fee": "0"})
    yield portal
    portal.close()


def numbers(html: str) -> list[str]:
    return re.findall(r">(INV-[A-Z]+)<", html)


def test_list_page_filters_and_sorts_by_live_fields(web: WebPortal) -> None:
    clara = web.client("clara@billing.test")
    page = clara.get("/invoices")
    assert page.status_code == 200
    assert numbers(page.text) == ["INV-OLD", "INV-LATE", "INV-DRAFT", "INV-SOON"]  # -days_late
    assert numbers(clara.get("/invoices?overdue=true").text) == ["INV-OLD", "INV-LATE"]
    assert numbers(clara.get("/invoices?overdue=false&sort=days_late").text) == [
        "INV-SOON",
        "INV-DRAFT",
    ]
    by_gross = numbers(clara.get("/invoices?sort=gross").text)
    assert [n for n in by_gross if n != "INV-DRAFT"] == [  # no net: empty, first or last
        "INV-OLD",  # 4.165
        "INV-SOON",  # 23.80
        "INV-LATE",  # 119.00
    ]
    # the filter widget follows the field's type (a bool: yes/no), the columns show values
    assert re.search(r'<select[^>]*name="overdue"', page.text)
    assert "119.00" in page.text and "30" in page.text


def test_metrics_count_overdue_invoices(web: WebPortal) -> None:
    html = web.client("clara@billing.test").get("/invoices").text
    figure = re.search(r"Overdue invoices.{0,400}?>\s*(\d+)\s*<", html, re.S)
    assert figure is not None and figure.group(1) == "2"


def test_api_lists_filters_and_sorts_by_live_fields(web: WebPortal) -> None:
    clara = web.client("clara@billing.test")

    def api(query: str) -> list[dict[str, object]]:
        answer = clara.client.get(clara.url(f"/api/v1/invoice?{query}"))
        assert answer.status_code == 200, answer.text
        return list(answer.get_json()["items"])

    late = api("overdue=true&sort=-days_late")
    assert [r["number"] for r in late] == ["INV-OLD", "INV-LATE"]
    assert late[0]["overdue"] is True and late[0]["days_late"] == 30 and late[1]["days_late"] == 5
    assert [r["number"] for r in api("state=fine&sort=due")] == ["INV-DRAFT", "INV-SOON"]
    spec = clara.client.get(clara.url("/api/v1/openapi.json")).get_json()
    params = {p["name"] for p in spec["paths"]["/invoice"]["get"]["parameters"] if "name" in p}
    assert {"overdue", "state"} <= params


def test_hidden_live_fields_cannot_be_used(web: WebPortal) -> None:
    aldo = web.client("aldo@billing.test")
    assert aldo.get("/invoices?sort=gross").status_code == 400
    assert aldo.client.get(aldo.url("/api/v1/invoice?sort=gross")).status_code == 400
    listed = aldo.client.get(aldo.url("/api/v1/invoice?overdue=true")).get_json()["items"]
    assert sorted(r["number"] for r in listed) == ["INV-LATE", "INV-OLD"]
    assert all("gross" not in r and "net" not in r for r in listed)
