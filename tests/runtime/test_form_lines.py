"""A form that edits an order and its lines together, over HTTP on SQLite and PostgreSQL:
one transaction through the record store (rollup total included), per-row errors kept in
place, rows added, removed and reordered without JavaScript, parent-state refusals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from portalis.engine.flow import workflow
from portalis.testing.web import PortalClient, WebPortal

ORDERS = Path(__file__).parents[1] / "engine" / "data" / "orders"
FROZEN = "The order is no longer a draft (it is submitted or delivered): its lines cannot change."


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path, ORDERS)
    yield portal
    portal.close()


def rows(*lines: tuple[Any, ...], start: int = 0) -> dict[str, str]:
    """Form fields of rows (product id, quantity, unit price[, line id, version])."""
    data = {"lines-count": str(len(lines) + start)}
    for n, line in enumerate(lines, start):
        product, quantity, price, *existing = line
        data |= {
            f"lines-{n}-product": str(product),
            f"lines-{n}-quantity": str(quantity),
            f"lines-{n}-unit_price": str(price),
        }
        if existing:
            data[f"lines-{n}-id"], data[f"lines-{n}-version"] = map(str, existing)
    return data


def products(web: WebPortal) -> tuple[int, int, int]:
    return tuple(web.record_id("product", name=n) for n in ("Bolt", "Nut", "Gear"))  # type: ignore[return-value]


def lines_of(web: WebPortal, order: int) -> list[tuple[int, int, Decimal, int | None]]:
    table = web.compiled.tables["order_line"]
    query = (
        sa.select(table.c.product, table.c.quantity, table.c.line_total, table.c.position)
        .where(table.c.order == order)
        .order_by(table.c.position, table.c.id)
    )
    with web.engine.connect() as conn:
        return [(r[0], r[1], Decimal(r[2]), r[3]) for r in conn.execute(query)]


def order_row(web: WebPortal, order: int) -> dict[str, Any]:
    table = web.compiled.tables["order"]
    with web.engine.connect() as conn:
        return dict(conn.execute(sa.select(table).where(table.c.id == order)).mappings().one())


def count(web: WebPortal, entity: str) -> int:
    table = web.compiled.tables[entity]
    with web.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def new_order(ann: PortalClient, web: WebPortal, *lines: tuple[Any, ...]) -> Any:
    acme = web.record_id("account", name="Acme GmbH")
    form = {"_block": "0", "reference": "B-7", "account": str(acme), "note": "rush"}
    return ann.post("/orders/new", {**form, **rows(*lines)})


def test_create_order_with_three_lines_total_in_one_go(web: WebPortal) -> None:
    bolt, nut, gear = products(web)
    ann = web.client("ann@acme.test")
    response = new_order(ann, web, (bolt, 4, "0.25"), (nut, 10, "0.10"), (gear, 2, "12.50"))
    assert response.status_code == 303, response.text
    order = int(re.search(r"/orders/(\d+)$", response.headers["Location"]).group(1))  # type: ignore[union-attr]
    assert lines_of(web, order) == [
        (bolt, 4, Decimal("1.00"), 1),
        (nut, 10, Decimal("1.00"), 2),
        (gear, 2, Decimal("25.00"), 3),
    ]
    stored = order_row(web, order)
    assert Decimal(stored["total"]) == Decimal("27.00") and stored["note"] == "rush"
    page = ann.get(f"/orders/{order}").text
    assert "27.00" in page and "Order saved." in page


def test_row_errors_next_to_their_fields_values_kept_nothing_saved(web: WebPortal) -> None:
    bolt, nut, _ = products(web)
    before = (count(web, "order"), count(web, "order_line"))
    ann = web.client("ann@acme.test")
    response = new_order(ann, web, (bolt, 4, "0.25"), (nut, 0, "0.10"), (nut, "lots", "1"))
    assert response.status_code == 422
    html = response.text
    assert re.search(r'id="b0-lines-1-quantity"[^>]*aria-invalid="true"', html)
    assert re.search(r'<p class="field-error" id="b0-lines-1-quantity-error">[^<]+</p>', html)
    assert 'id="b0-lines-2-quantity-error"' in html
    assert 'id="b0-lines-0-quantity-error"' not in html
    assert "Row 2, Quantity:" in html and "Row 3, Quantity:" in html  # the error summary
    # every value as typed, the parent's too
    assert 'name="lines-2-quantity" value="lots"' in html
    assert 'name="lines-0-unit_price" value="0.25"' in html
    assert 'name="reference" value="B-7"' in html
    assert (count(web, "order"), count(web, "order_line")) == before


def test_a_refused_row_rolls_back_the_order_and_every_other_row(web: WebPortal) -> None:
    """The third row breaks the order's rule (total ≤ 100000) only once the first two are
    written: the order and both rows written before it are rolled back."""
    bolt, nut, gear = products(web)
    before = (count(web, "order"), count(web, "order_line"))
    ann = web.client("ann@acme.test")
    response = new_order(ann, web, (bolt, 1, "1"), (nut, 1, "1"), (gear, 1000, "999.99"))
    assert response.status_code == 422
    assert "An order may total at most 100000" in response.text
    assert (count(web, "order"), count(web, "order_line")) == before


def test_rows_added_removed_and_moved_without_javascript(web: WebPortal) -> None:
    bolt, nut, gear = products(web)
    ann = web.client("ann@acme.test")
    acme = web.record_id("account", name="Acme GmbH")
    form = {"_block": "0", "reference": "B-8", "account": str(acme)}
    base = {**form, **rows((bolt, 1, "1.00"), (nut, 2, "2.00"), (gear, 3, "3.00"))}
    added = ann.post("/orders/new", {**base, "_lines": "add"})
    assert added.status_code == 200 and 'name="lines-count" value="4"' in added.text
    assert re.search(r'id="b0-lines-3-product"[^>]*autofocus', added.text)
    assert 'name="reference" value="B-8"' in added.text
    removed = ann.post("/orders/new", {**base, "_lines": "remove:0"})
    assert 'name="lines-count" value="2"' in removed.text
    assert 'name="lines-0-quantity" value="2"' in removed.text
    assert re.search(r'id="b0-remove-0"[^>]*autofocus', removed.text)
    moved = ann.post("/orders/new", {**base, "_lines": "up:2"})
    assert 'name="lines-1-quantity" value="3"' in moved.text
    assert 'name="lines-2-quantity" value="2"' in moved.text
    assert re.search(r'id="b0-up-1"[^>]*autofocus', moved.text)
    down = ann.post("/orders/new", {**base, "_lines": "down:0"})
    assert 'name="lines-0-quantity" value="2"' in down.text
    assert 'name="lines-1-quantity" value="1"' in down.text
    assert ann.post("/orders/new", {**base, "_lines": "up:0"}).status_code == 400
    assert ann.post("/orders/new", {**base, "_lines": "remove:9"}).status_code == 400
    assert count(web, "order") == 1  # only the seeded one: rearranging saves nothing


def test_edit_loads_lines_and_saves_removals_and_order(web: WebPortal) -> None:
    bolt, nut, gear = products(web)
    order = web.record_id("order", reference="A-100")
    ann = web.client("ann@acme.test")
    page = ann.get(f"/orders/{order}/edit").text
    ids = [int(x) for x in re.findall(r'name="lines-\d+-id" value="(\d+)"', page)]
    assert len(ids) == 2 and 'name="lines-1-quantity" value="1"' in page  # gear, 2nd
    version = re.search(r'name="version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    # gear first, bolt removed, a new nut row last
    form = {"_block": "0", "version": version, "reference": "A-100", "note": "changed"}
    form |= rows((gear, 2, "12.50", ids[1], 1), (nut, 5, "0.10"))
    response = ann.post(f"/orders/{order}/edit", form)
    assert response.status_code == 303, response.text
    assert lines_of(web, order) == [(gear, 2, Decimal("25.00"), 1), (nut, 5, Decimal("0.50"), 2)]
    assert Decimal(order_row(web, order)["total"]) == Decimal("25.50")
    assert order_row(web, order)["note"] == "changed"


def test_lines_of_a_submitted_order_shown_frozen_and_refused(web: WebPortal) -> None:
    """The customer may still edit the note of a submitted order, not its lines: the form
    shows them read-only with the definition's message; rows sent by a form opened while it
    was a draft are refused with that message, and the note's change goes with them."""
    _, nut, _ = products(web)
    order = web.record_id("order", reference="A-100")
    ann = web.client("ann@acme.test")
    draft_page = ann.get(f"/orders/{order}/edit").text  # opened while a draft
    workflow.transition(web.store, web.actor("cleo@shop.test"), "order", order, "submit")
    page = ann.get(f"/orders/{order}/edit").text
    assert 'name="reference"' not in page and 'name="note"' in page
    assert FROZEN in page and 'name="lines-0-quantity"' not in page
    assert 'name="lines-count"' not in page and 'value="add"' not in page
    before = lines_of(web, order)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    # the note alone, as the frozen page sends it: saved, lines untouched
    form = {"_block": "0", "version": version, "note": "please hurry"}
    assert ann.post(f"/orders/{order}/edit", form).status_code == 303
    assert order_row(web, order)["note"] == "please hurry" and lines_of(web, order) == before
    # the rows of the page opened while it was a draft, one line added: all refused
    ids = [int(x) for x in re.findall(r'name="lines-\d+-id" value="(\d+)"', draft_page)]
    kept = rows(*((p, q, str(u), i, 1) for (p, q, _, _), i, u in zip(
        before, ids, ("0.25", "12.50"), strict=True)))  # fmt: skip
    more = {**kept, **rows((nut, 1, "0.10"), start=2)}
    version = str(order_row(web, order)["version"])
    response = ann.post(
        f"/orders/{order}/edit", {**form, "version": version, "note": "later", **more}
    )
    assert response.status_code == 422
    assert f"Row 3: {FROZEN}" in response.text
    assert order_row(web, order)["note"] == "please hurry"
    assert lines_of(web, order) == before


def test_a_forged_line_id_of_another_order_is_not_found(web: WebPortal) -> None:
    bolt, _, _ = products(web)
    seeded = web.record_id("order", reference="A-100")
    foreign_line = lines_of(web, seeded) and web.record_id("order_line", order=seeded)
    ann = web.client("ann@acme.test")
    response = new_order(ann, web, (bolt, 1, "1.00", foreign_line, 1))
    assert response.status_code == 404
    assert count(web, "order") == 1


def test_lines_form_needs_csrf(web: WebPortal) -> None:
    bolt, _, _ = products(web)
    ann = web.client("ann@acme.test")
    acme = web.record_id("account", name="Acme GmbH")
    form = {"_block": "0", "reference": "B-9", "account": str(acme), "csrf_token": "forged"}
    assert ann.post("/orders/new", {**form, **rows((bolt, 1, "1"))}).status_code == 400
    assert ann.post("/orders/new", {**form, "_lines": "add"}).status_code == 400
    assert count(web, "order") == 1


def test_api_refuses_a_line_for_a_delivered_order(web: WebPortal) -> None:
    bolt, _, _ = products(web)
    order = web.record_id("order", reference="A-100")
    clerk = web.actor("cleo@shop.test")
    for name in ("submit", "deliver"):
        workflow.transition(web.store, clerk, "order", order, name)
    ann = web.client("ann@acme.test")
    body = {"order": order, "product": bolt, "quantity": 1, "unit_price": "1.00"}
    response = ann.client.post(
        ann.url("/api/v1/order_line"), json=body, headers={"X-CSRF-Token": ann.csrf}
    )
    assert response.status_code == 403
    assert response.get_json()["detail"] == FROZEN
    assert len(lines_of(web, order)) == 2


def test_single_line_form_of_a_submitted_order_shows_the_state_message(web: WebPortal) -> None:
    bolt, _, _ = products(web)
    order = web.record_id("order", reference="A-100")
    ann = web.client("ann@acme.test")
    line = {"_block": "2", "product": str(bolt), "quantity": "1", "unit_price": "1.00"}
    assert ann.post(f"/orders/{order}", line).status_code == 303  # a draft takes lines
    workflow.transition(web.store, web.actor("cleo@shop.test"), "order", order, "submit")
    page = ann.get(f"/orders/{order}").text  # the message instead of the form
    assert FROZEN in page and 'id="b2-product"' not in page
    response = ann.post(f"/orders/{order}", line)  # a form opened before
    assert response.status_code == 422
    assert FROZEN in response.text
    assert len(lines_of(web, order)) == 3


def test_a_line_changed_meanwhile_answers_409_and_saves_nothing(web: WebPortal) -> None:
    order = web.record_id("order", reference="A-100")
    ann = web.client("ann@acme.test")
    page = ann.get(f"/orders/{order}/edit").text
    ids = [int(x) for x in re.findall(r'name="lines-\d+-id" value="(\d+)"', page)]
    version = re.search(r'name="version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    web.store.update(web.actor("cleo@shop.test"), "order_line", ids[0], {"quantity": 7})
    bolt, _, gear = products(web)
    form = {"_block": "0", "version": version, "reference": "A-100", "note": "stale"}
    form |= rows((bolt, 5, "0.25", ids[0], 1), (gear, 1, "12.50", ids[1], 1))
    response = ann.post(f"/orders/{order}/edit", form)
    assert response.status_code == 409
    assert order_row(web, order)["note"] is None
    assert [q for _, q, _, _ in lines_of(web, order)] == [7, 1]
