"""The wholesale B2B portal (`tests/engine/portals/b2b`) served: a customer orders with the
lines form and sees the total in their currency, the dashboard shows balances per currency,
the invoice list filters overdue invoices, and money inputs show the record's currency —
known from the parent on an invoice's page, explained while a new invoice has no account."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from portalis.engine.expr.money import Money
from portalis.testing.web import WebPortal

FOLDER = Path(__file__).resolve().parents[1] / "engine" / "portals" / "b2b"
TODAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path / "instance", FOLDER)
    try:
        yield portal
    finally:
        portal.close()


def _invoice(web: WebPortal, account: str, due: dt.date, lines: list[tuple[str, str]]) -> int:
    cleo = web.actor("cleo@wholesale.test")
    account_id = web.record_id("account", name=account)
    invoice = web.store.insert(cleo, "invoice", {"account": account_id, "due": due})
    for quantity, price in lines:
        web.store.insert(
            cleo,
            "invoice_line",
            {"invoice": invoice.id, "description": "Goods", "quantity": quantity, "price": price},
        )
    return invoice.id


def test_a_customer_orders_with_lines_priced_for_their_account(web: WebPortal) -> None:
    gus = web.client("gus@globex.test")
    widget = web.record_id("product", sku="W-100")
    gadget = web.record_id("product", sku="G-200")
    page = gus.get("/orders/new")
    assert page.status_code == 200
    assert 'name="lines-0-price"' not in page.text  # the lookups price the lines
    posted = gus.post(
        "/orders/new",
        {"_block": "0", "account": str(web.record_id("account", name="Globex Inc")),
         "lines-count": "2",
         "lines-0-product": str(widget), "lines-0-quantity": "2.5",
         "lines-1-product": str(gadget), "lines-1-quantity": "2.5"},
    )  # fmt: skip
    assert posted.status_code == 303, posted.text
    found = re.search(r"/orders/(\d+)$", posted.headers["Location"])
    assert found is not None, posted.headers["Location"]
    order = gus.get(f"/orders/{found.group(1)}")
    # 2.5 × 13.20 + 2.5 × 4.99 (12.475 → 12.48, half-even) in the customer's USD
    assert "$33.00" in order.text and "$12.48" in order.text and "$45.48" in order.text
    assert "€" not in order.text


def test_the_dashboard_shows_balances_per_currency(web: WebPortal) -> None:
    due = TODAY + dt.timedelta(days=10)
    _invoice(web, "Acme GmbH", due, [("1", "100.10")])
    _invoice(web, "Globex Inc", due, [("4", "50.05")])
    _invoice(web, "Globex Inc", TODAY - dt.timedelta(days=2), [("1", "0.99")])
    clerk = web.client("cleo@wholesale.test").get("/dashboard").text
    assert "€100.10" in clerk and "$201.19" in clerk
    assert not re.search(r"301\.29|€301|\$301", clerk)  # EUR and USD are never added up
    ann = web.client("ann@acme.test").get("/dashboard").text
    assert "€100.10" in ann and "$" not in ann


def test_the_invoice_list_filters_overdue_invoices(web: WebPortal) -> None:
    late = _invoice(web, "Acme GmbH", TODAY - dt.timedelta(days=1), [("1", "5.00")])
    due = _invoice(web, "Acme GmbH", TODAY + dt.timedelta(days=1), [("1", "6.00")])
    cleo = web.actor("cleo@wholesale.test")
    late_number, due_number = (web.store.get(cleo, "invoice", i)["number"] for i in (late, due))
    ann = web.client("ann@acme.test")
    everything = ann.get("/invoices").text
    assert late_number in everything and due_number in everything
    overdue = ann.get("/invoices", query_string={"overdue": "true"})
    assert overdue.status_code == 200
    assert late_number in overdue.text and due_number not in overdue.text


def test_money_inputs_show_the_record_currency(web: WebPortal) -> None:
    invoice = _invoice(web, "Globex Inc", TODAY, [("1", "80.00")])
    cleo = web.client("cleo@wholesale.test")
    # a payment on a USD invoice's page: the amount box says USD before anything is saved
    page = cleo.get(f"/invoices/{invoice}").text
    form = page[page.index('name="amount"') - 400 :]
    assert '<span class="money-currency">USD</span>' in form[:800]
    posted = cleo.post(f"/invoices/{invoice}", {"_block": "4", "amount": "30", "received": ""})
    assert posted.status_code == 303, posted.text
    paid = web.store.get(web.actor("cleo@wholesale.test"), "invoice", invoice)["paid"]
    assert paid == Money(Decimal("30.00"), "USD")
    # the invoice's history says where its new total came from, in the reader's words
    assert "(via the totals of Payments)" in cleo.get(f"/invoices/{invoice}").text
    # a new invoice: its account (and so its currency) is chosen in the same form
    new = cleo.get("/invoices/new").text
    assert "In the currency of this record, set when it is saved" in new
    assert 'class="money-input"' not in new  # a plain, full-width amount box
