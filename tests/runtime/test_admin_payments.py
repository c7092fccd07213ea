"""/admin/payments on SQLite and PostgreSQL: who may see it (SECURITY A.20), the list with
its filters, pages and flagged rows, record links, and the chart "Payments per day and
method" with its figures per day, method and currency.

The shop (pay_shop_support) takes invoices in EUR at `sandbox` and orders in USD at
`wallet`; its administrators are clerks. Payments are made as the portal makes them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from pay_shop_support import SLUG, PayShop, served_shop

from portalis.testing.web import count_selects

CLERK = "cleo@shop.test"
TODAY = datetime.now(UTC).date()


@pytest.fixture
def shop(database_url: str, tmp_path: Path) -> Iterator[PayShop]:
    with served_shop(database_url, tmp_path) as served:
        yield served


def noon(days_ago: int) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days_ago), time(12), UTC)


def page(shop: PayShop, query: str = "") -> str:
    response = shop.web.client(CLERK).get("/admin/payments" + query)
    assert response.status_code == 200, response.text
    return html.unescape(response.text)


def listed(text: str) -> list[str]:
    """The payment ids of the list, top to bottom."""
    return re.findall(r'<code class="small">(pay_[\w-]+)</code>', text)


def row_of(text: str, payment_id: str) -> str:
    start = text.rindex("<tr", 0, text.index(payment_id))
    return text[start : text.index("</tr>", start)]


def test_a20_only_administrators_see_payments(shop: PayShop) -> None:
    web = shop.web
    anonymous = web.client().get("/admin/payments")
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith(f"/{SLUG}/login?next=")
    for email in ("ann@acme.test", "vic@shop.test"):  # a customer; staff without admin role
        assert web.client(email).get("/admin/payments").status_code == 403
    assert web.client(CLERK).get("/admin/payments").status_code == 200
    assert web.client(CLERK).post("/admin/payments").status_code == 405
    # the admin area's tabs link the page for a portal that takes payments
    users = web.client(CLERK).get("/admin/users").text
    assert f'href="/{SLUG}/admin/payments"' in users
    assert 'aria-current="page">Payments</a>' in page(shop)


def test_list_newest_first_with_filters_links_and_flags(shop: PayShop) -> None:
    made = shop.assorted(method="sepa_debit")
    paid, declined, flagged, order = made.paid, made.declined, made.flagged, made.order
    invoice = paid.record_id

    text = page(shop)
    assert listed(text) == [order.id, flagged.id, declined.id, paid.id]
    number = shop.web.store.get(shop.web.actor(CLERK), "invoice", invoice).values["number"]
    link = f'<a href="/{SLUG}/invoices/{invoice}">Invoice {number}</a>'
    assert link in row_of(text, paid.id)
    assert "€10.00" in row_of(text, paid.id) and "SEPA direct debit" in row_of(text, paid.id)
    assert "Paid" in row_of(text, paid.id) and "Card (test)" in row_of(text, paid.id)
    # no page shows orders: the row names the order, without a link
    code = shop.web.store.get(shop.web.actor(CLERK), "order", order.record_id).values["code"]
    assert f"Order {code}" in row_of(text, order.id) and "<a " not in row_of(text, order.id)
    assert "Wallet (test)" in row_of(text, order.id) and "$25.00" in row_of(text, order.id)
    # a flagged payment stands out and says why
    marked = row_of(text, flagged.id)
    assert 'class="payment-flagged"' in marked and "Why it needs review:" in marked
    assert "Needs review" in marked
    assert "reported 3.00 EUR; the payment is 30.00 EUR" in marked
    assert text.count('class="payment-flagged"') == 1
    assert "Failed" in row_of(text, declined.id)

    assert listed(page(shop, "?status=flagged")) == [flagged.id]
    assert listed(page(shop, "?provider=wallet")) == [order.id]
    assert listed(page(shop, "?provider=sandbox&status=succeeded")) == [paid.id]
    filtered = page(shop, "?status=refunded")
    assert listed(filtered) == [] and "No payments match these filters." in filtered
    assert '<option value="refunded" selected>' in filtered
    # an unknown status is no filter
    assert len(listed(page(shop, "?status=bogus"))) == 4


def test_list_pages_by_fifty_with_constant_queries(shop: PayShop) -> None:
    invoice = shop.record(total="1000.00")
    first = [shop.start(invoice, "10.00") for _ in range(3)]
    with count_selects(shop.engine) as before:
        page(shop)
    more = [shop.start(shop.record(total="10.00")) for _ in range(48)]
    with count_selects(shop.engine) as after:
        top = page(shop)
    assert len(after) == len(before), "the list must not query once per payment"
    assert len(listed(top)) == 50 and "page=2" in top
    second = page(shop, "?page=2")
    assert listed(second) == [first[0].id]
    assert more[-1].id == listed(top)[0]
    # the pager keeps the filters
    pager = page(shop, "?status=open").split('class="pager"')[1]
    assert f'href="/{SLUG}/admin/payments?page=2&status=open"' in pager


def test_chart_sums_succeeded_amounts_per_day_method_and_currency(shop: PayShop) -> None:
    shop.paid(shop.record(total="10.00"), at=noon(2), method="card")
    shop.paid(shop.record(total="20.00"), at=noon(2), method="sepa_debit")
    shop.paid(shop.record(total="5.50"), at=noon(0), method="card")
    refunded = shop.paid(shop.record(total="7.00"), at=noon(0), method="card")
    assert shop.deliver(refunded, "refunded", amount="7.00", refund="re_1").result == "applied"
    order = shop.start(shop.record("order", total="25.00"), entity="order")
    shop.choose(order, method="card")
    assert shop.deliver(order, at=noon(1)).result == "applied"
    # not in the chart: a payment of 31 days ago, a flagged one, an open one
    shop.paid(shop.record(total="99.00"), at=noon(30), method="card")
    flagged = shop.start(shop.record(total="50.00"))
    assert shop.deliver(flagged, amount="5.00", at=noon(0)).result == "flagged"
    shop.start(shop.record(total="60.00"))

    text = page(shop)
    assert text.count('<figure class="chart">') == 2
    assert "EUR: €42.50 in 30 days" in text and "USD: $25.00 in 30 days" in text
    eur, usd = (t.split("</table>")[0] for t in text.split('<table class="data kpi-table">')[1:])
    assert re.findall(r'<th scope="col">([^<]+)</th>', eur) == [
        "Day", "Card", "SEPA direct debit", "Total"
    ]  # fmt: skip
    two_days_ago = (TODAY - timedelta(days=2)).strftime("%b %-d, %Y")
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th>((?:<td>[^<]*</td>)+)</tr>', eur)
    cells = {day: re.findall(r"<td>([^<]*)</td>", tds) for day, tds in rows}
    assert cells == {
        two_days_ago: ["€10.00", "€20.00", "€30.00"],
        TODAY.strftime("%b %-d, %Y"): ["€12.50", "€0.00", "€12.50"],
    }
    assert re.findall(r'<th scope="col">([^<]+)</th>', usd) == ["Day", "Card", "Total"]
    # the chart's drawings are script-free SVG data URIs, with a text alternative
    images = re.findall(r'<img src="(data:image/svg\+xml;base64,[^"]+)" alt="([^"]+)"', text)
    assert len(images) == 2
    assert images[0][1].startswith("Payments per day and method (EUR): €42.50 in all")
    german = html.unescape(shop.web.client(CLERK).get("/admin/payments?lang=de").text)
    assert "Zahlungen pro Tag und Zahlungsart" in german and "EUR: 42,50\xa0€ in 30 Tagen" in german
    assert "SEPA-Lastschrift" in german and "Bezahlt" in german


def test_no_payments_yet(shop: PayShop) -> None:
    text = page(shop)
    assert "No payments yet." in text
    assert "No payment succeeded in the last 30 days." in text
    assert "<figure" not in text
