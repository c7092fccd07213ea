"""The metrics block: actor-scoped KPI values and script-free server-rendered charts."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from portalis.runtime.blocks.metric_figures import collect, fill_buckets
from portalis.runtime.blocks.metrics import clean_svg
from portalis.testing.web import WebPortal, count_selects

NOTES = Path(__file__).parent / "data" / "blocks_notes"


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path)
    yield portal
    portal.close()


def kpis(html: str) -> dict[str, str]:
    return dict(
        re.findall(r'<h2 class="kpi-label">([^<]+)</h2>\s*<p class="kpi-value">([^<]+)</p>', html)
    )


def charts(html: str) -> list[str]:
    uris = re.findall(r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)
    return [base64.b64decode(u).decode("utf-8") for u in uris]


def test_kpis_are_actor_scoped(web: WebPortal) -> None:
    sam = web.client("sam@support.test").get("/dashboard")
    assert sam.status_code == 200
    values = kpis(sam.text)
    assert values["All tickets"] == "4"
    assert values["Tickets by status"] == "4"
    anna = kpis(web.client("anna@acme.test").get("/dashboard").text)  # account admin, de
    assert anna["Alle Tickets"] == "2"
    assert anna["Tickets nach Priorität"] == "2"
    assert web.client("nina@globex.test").get("/dashboard").status_code == 403


def test_charts_are_svg_without_script(web: WebPortal) -> None:
    html = web.client("sam@support.test").get("/dashboard").text
    svgs = charts(html)
    assert len(svgs) == 2
    for svg in svgs:
        assert svg.startswith("<svg") and "<script" not in svg.lower()
        assert "http://" not in svg.replace("http://www.w3.org/", "").replace(
            "http://pygal.org", ""
        ).replace("http://github.com/Kozea/pygal", "")
    assert "In progress" in svgs[0]  # group labels are the choice labels
    # the page's only scripts are the portal's own static files (the live-updates poller), no
    # inline script and nothing the charts brought
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S | re.I)
    assert all(re.search(r'src="/_static/[\w.-]+\.js"', attrs) and not body.strip()
               for attrs, body in scripts), scripts  # fmt: skip
    # the figures are also a table, for screen readers and without images
    assert '<th scope="row">Urgent</th><td>1</td>' in html


def test_group_labels_translated(web: WebPortal) -> None:
    html = web.client("anna@acme.test").get("/dashboard").text
    assert '<th scope="row">Offen</th><td>2</td>' in html
    assert "Offen" in charts(html)[0]


def test_money_sum_in_portal_currency(database_url: str, tmp_path: Path) -> None:
    notes = WebPortal.deploy(database_url, tmp_path, NOTES)
    try:
        mo = kpis(notes.client("mo@notes.test").get("/stats").text)
        assert mo == {"Notes": "1", "Cost": "€12.50", "By kind": "1"}
        jo = notes.client("jo@notes.test").get("/stats").text
        assert kpis(jo) == {"Notes": "1", "Cost": "€0.00", "By kind": "1"}
        assert "<polyline" in charts(jo)[0] or "line" in charts(jo)[0]
    finally:
        notes.close()


def test_clean_svg_removes_scripts_and_handlers() -> None:
    dirty = '<svg onload="alert(1)"><script>alert(2)</script><SCRIPT type="x">y</SCRIPT ><g/></svg>'
    assert clean_svg(dirty) == "<svg><g/></svg>"


# -- money, filters, time buckets, tables (the ledger portal: EUR and USD accounts) ---------
LEDGER = Path(__file__).parent / "data" / "ledger"


@pytest.fixture
def ledger(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path, LEDGER)
    yield portal
    portal.close()


def table(html: str, caption: str) -> list[list[str]]:
    """The rows of the figures table with this caption (header cells included)."""
    found = re.search(
        r"<caption>" + re.escape(caption) + r"</caption>(.*?)</table>", html, re.DOTALL
    )
    assert found, caption
    return [
        re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row)
        for row in re.findall(r"<tr>(.*?)</tr>", found.group(1))
    ]


def test_money_is_shown_per_currency_and_converted(ledger: WebPortal) -> None:
    alex = ledger.client("alex@ledger.test").get("/").text
    values = kpis(alex)
    assert values["Open balance"] == "€1,204.50 · $310.00"  # never 1,514.50 of nothing
    assert values["Open balance in EUR"] == "€1,499.00"  # 1,204.50 + 310 × 0.95 (today's rate)
    assert values["Average invoice"] == "€401.12 · $270.00"
    assert values["Largest invoice"] == "€1,000.00 · $500.00"
    assert values["First invoice"] == "Jan 5, 2026"
    assert values["Invoices by status"] == "7"
    berta = kpis(ledger.client("berta@ledger.test").get("/").text)  # reads German
    assert berta["Offener Saldo"] == "1.204,50\xa0€ · 310,00\xa0$"
    assert berta["Erste Rechnung"] == "05.01.2026"
    # a customer's figures are those of her account only
    carla = kpis(ledger.client("carla@euro.test").get("/").text)
    assert carla["Open balance"] == "€1,204.50" and carla["Invoices by status"] == "4"


def test_table_display_lists_buckets_in_order_with_empty_months(ledger: WebPortal) -> None:
    html = ledger.client("alex@ledger.test").get("/").text
    assert table(html, "Invoiced in EUR by month") == [
        ["Issue date", "Value"],
        ["Jan 2026", "€1,525.00"],  # 1,300 + 250 × 0.90
        ["Feb 2026", "€0.00"],
        ["Mar 2026", "€359.69"],  # 304.49 + 60 × 0.92
        ["Apr 2026", "€0.00"],
        ["May 2026", "€475.00"],  # 500 × 0.95
    ]
    assert table(html, "Invoices by status")[1:] == [["Draft", "1"], ["Issued", "4"], ["Paid", "2"]]
    # money grouped without conversion: one column per currency
    assert '<th scope="col">EUR</th><th scope="col">USD</th>' in html
    assert '<th scope="row">Mar 2026</th><td>€304.49</td><td>$60.00</td>' in html
    german = ledger.client("berta@ledger.test").get("/").text
    rows = table(german, "Rechnungen in EUR nach Monat")
    assert [r[0] for r in rows] == ["Rechnungsdatum", "Jan. 2026", "Feb. 2026", "März 2026",
                                    "Apr. 2026", "Mai 2026"]  # fmt: skip
    assert rows[1] == ["Jan. 2026", "1.525,00\xa0€"]


def test_missing_rate_is_a_note_not_a_wrong_total(ledger: WebPortal) -> None:
    alex = ledger.actor("alex@ledger.test")
    dollar = ledger.store.aggregate(alex, "invoice", group_by="account")[1][0]
    ledger.store.insert(
        alex,
        "invoice",
        {"number": "U-0", "account": dollar, "issue_date": "2025-12-15", "amount": "40.00 USD"},
    )
    html = ledger.client("alex@ledger.test").get("/").text
    rows = table(html, "Invoiced in EUR by month")
    assert rows[1] == ["Dec 2025", "–"] and rows[2] == ["Jan 2026", "€1,525.00"]
    assert '<p class="kpi-note" role="note">no rate for USD on Dec 1, 2025</p>' in html
    assert kpis(html)["Invoiced in EUR by month"] == "–"  # no total without every month


def test_phones_get_a_narrow_chart_with_legible_labels(ledger: WebPortal) -> None:
    html = ledger.client("alex@ledger.test").get("/").text
    narrow = re.findall(
        r'<source media="\(max-width: 720px\)" srcset="data:image/svg\+xml;base64,([^"]+)"'
        r' width="340" height="320">',
        html,
    )
    assert len(narrow) == 3
    svg = base64.b64decode(narrow[0]).decode("utf-8")
    assert 'width="340"' in svg and "<script" not in svg.lower()
    # its text shown in a 287-px card (a 375-px screen) is 12 px or more
    sizes = {int(s) for s in re.findall(r"font-size:\s*(\d+)px", svg)}
    assert sizes and min(sizes) * 287 / 340 >= 12


def test_dashboard_statements_do_not_grow_with_records(ledger: WebPortal) -> None:
    client = ledger.client("alex@ledger.test")
    client.get("/")  # warm up: session, caches

    def selects() -> int:
        with count_selects(ledger.engine) as seen:
            assert client.get("/").status_code == 200
        return len(seen)

    before = selects()
    alex = ledger.actor("alex@ledger.test")
    dollar = ledger.store.aggregate(alex, "invoice", group_by="account")[1][0]
    for month in range(6, 13):  # more records, months, statuses and rates
        for currency in ("EUR", "USD"):
            ledger.store.insert(
                alex,
                "invoice",
                {
                    "number": f"X-{month}-{currency}",
                    "account": dollar,
                    "issue_date": f"2026-{month:02d}-03",
                    "amount": f"{month}.10 {currency}",
                    "status": "paid" if month % 2 else "issued",
                },
            )
        ledger.store.insert(
            alex, "fx_rate", {"code": "USD", "rate": "0.9", "valid_from": f"2026-{month:02d}-01"}
        )
    assert selects() == before


def test_empty_periods_are_filled_only_within_bounds() -> None:
    figures = collect([(date(2026, 1, 1), 3), (date(2026, 4, 1), 1), (None, 2)])
    fill_buckets(figures, "month", zero=True)
    assert figures.groups == [date(2026, m, 1) for m in (1, 2, 3, 4)] + [None]
    assert [figures.value(g, "") for g in figures.groups] == [3, 0, 0, 1, 2]
    far = collect([(date(2020, 1, 1), 1), (date(2026, 1, 1), 1)])
    fill_buckets(far, "day", zero=True)  # six years of days: only the days with data
    assert far.groups == [date(2020, 1, 1), date(2026, 1, 1)]


def test_grouped_money_without_records_is_zero_money(ledger: WebPortal) -> None:
    html = ledger.client("carla@euro.test").get("/").text
    assert kpis(html)["Invoiced by month"] == "€1,604.49"  # her account's euros only
    assert kpis(html)["Disputed by month"] == "€0.00"  # no group at all: still money


def test_a_chart_in_one_currency_labels_its_axis_with_money(ledger: WebPortal) -> None:
    html = ledger.client("alex@ledger.test").get("/").text
    by_month, in_eur = charts(html)[:2]
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", in_eur)
    assert "€1,000.00" in texts and "1,000" not in texts  # the y axis of the EUR line
    # EUR and USD in one chart: plain numbers on the axis, the legend names the currencies
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", by_month)
    assert "1,000" in texts and "EUR" in texts and "USD" in texts
