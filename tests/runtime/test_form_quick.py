"""Quick entry of order lines by SKU and quantity (`lines: {quick: …}`; the B2B test portal's
new-order form), on SQLite and PostgreSQL: typed lines become rows resolved through the
record store with the customer's read rights, unknown SKUs are errors on their own line,
and saving with typed lines writes order, rows and lines in one transaction or nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.testing.web import WebPortal

B2B = Path(__file__).parents[1] / "engine" / "portals" / "b2b"


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path, B2B)
    yield portal
    portal.close()


def count(web: WebPortal, entity: str) -> int:
    table = web.compiled.tables[entity]
    with web.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def order_form(web: WebPortal, quick: str, **extra: str) -> dict[str, str]:
    account = web.record_id("account", name="Globex Inc")
    return {"_block": "0", "account": str(account), "lines-count": "1",
            "lines-0-product": "", "lines-0-quantity": "", "quick-lines": quick, **extra}  # fmt: skip


def posted_rows(html: str) -> list[tuple[str, str]]:
    """(product id, quantity) of each row the form shows."""
    products = re.findall(r'name="lines-(\d+)-product"[^>]*>(.*?)</select>', html, re.S)
    out = []
    for n, options in products:
        chosen = re.search(r'<option value="(\d+)" selected', options)
        quantity = re.search(rf'name="lines-{n}-quantity"[^>]*value="([^"]*)"', html)
        out.append((chosen.group(1) if chosen else "", quantity.group(1) if quantity else ""))
    return out


def test_typed_lines_become_rows_and_unknown_skus_stay_with_their_error(web: WebPortal) -> None:
    gus = web.client("gus@globex.test")
    page = gus.get("/orders/new").text
    assert 'name="quick-lines"' in page and "Quick entry" in page
    widget, gadget = web.record_id("product", sku="W-100"), web.record_id("product", sku="G-200")
    before = count(web, "order")
    response = gus.post(
        "/orders/new",
        order_form(web, "W-100 3\nG-200;2.5\nX-999 1\nZ-300 lots\n", _lines="quick"),
    )
    html = response.text
    assert response.status_code == 422
    # the blank first row made way for the typed ones
    assert posted_rows(html) == [(str(widget), "3"), (str(gadget), "2.5")]
    box = re.search(r'<textarea id="b0-quick"[^>]*>(.*?)</textarea>', html, re.S)
    assert box is not None and box.group(1).split() == ["X-999", "1", "Z-300", "lots"]
    assert "Line 3 (X-999 1): no record named X-999" in html
    assert "Line 4 (Z-300 lots): lots is not a quantity" in html
    assert count(web, "order") == before  # nothing saved


def test_saving_with_typed_lines_writes_order_and_rows_in_one_go(web: WebPortal) -> None:
    gus = web.client("gus@globex.test")
    response = gus.post("/orders/new", order_form(web, "W-100 2.5\nG-200\n"))
    assert response.status_code == 303, response.text
    found = re.search(r"/orders/(\d+)$", response.headers["Location"])
    assert found is not None
    table = web.compiled.tables["order_line"]
    with web.engine.connect() as conn:
        lines = conn.execute(
            sa.select(table.c.product, table.c.quantity).where(table.c.order == int(found.group(1)))
            .order_by(table.c.id)
        ).all()  # fmt: skip
    widget, gadget = web.record_id("product", sku="W-100"), web.record_id("product", sku="G-200")
    assert [(p, Decimal(q)) for p, q in lines] == [(widget, Decimal("2.5")), (gadget, Decimal(1))]
    # 2.5 × 13.20 + 1 × 4.99 in Globex's USD, priced by the lookups
    assert "$37.99" in gus.get(f"/orders/{found.group(1)}").text


def test_an_unknown_sku_on_save_saves_nothing(web: WebPortal) -> None:
    gus = web.client("gus@globex.test")
    before = (count(web, "order"), count(web, "order_line"))
    response = gus.post("/orders/new", order_form(web, "W-100 1\nNOPE 2\n"))
    assert response.status_code == 422
    assert "Line 2 (NOPE 2): no record named NOPE" in response.text
    assert (count(web, "order"), count(web, "order_line")) == before
