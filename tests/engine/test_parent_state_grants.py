"""Grants that depend on the parent's state, on SQLite and PostgreSQL: a customer may add,
change and remove the lines of a draft order, never those of a submitted or delivered one —
and a concurrent state change cannot slip a line into a delivered order."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from portalis.engine.data.errors import ParentStateRefused
from portalis.engine.data.permissions import Actor
from portalis.engine.data.store import RecordStore
from portalis.engine.deploy.validator import Checker
from portalis.engine.flow import workflow
from portalis.engine.portal import CompiledPortal
from portalis.testing.portals import actor_for, deploy_dir

ORDERS = Path(__file__).parent / "data" / "orders"
REFUSED = "The order is no longer a draft (it is submitted or delivered): its lines cannot change."


class Orders:
    """The deployed orders portal with its customer (Ann of Acme) and clerk."""

    def __init__(self, engine: sa.Engine, portal: CompiledPortal) -> None:
        self.engine = engine
        self.portal = portal
        self.store: RecordStore = portal.store(engine)
        self.ann = actor_for(engine, portal, "ann@acme.test")
        self.clerk = actor_for(engine, portal, "cleo@shop.test")

    def id_of(self, entity: str, **where: Any) -> int:
        table = self.portal.tables[entity]
        query = sa.select(table.c.id).where(*(table.c[k] == v for k, v in where.items()))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def order(self, reference: str = "B-1") -> int:
        return self.store.insert(self.ann, "order", {"reference": reference}).id

    def line(self, actor: Actor, order: int, quantity: int = 2, price: str = "1.50") -> int:
        bolt = self.id_of("product", name="Bolt")
        values = {"order": order, "product": bolt, "quantity": quantity, "unit_price": price}
        return self.store.insert(actor, "order_line", values).id

    def move(self, order: int, *names: str) -> None:
        for name in names:
            workflow.transition(self.store, self.clerk, "order", order, name)

    def lines(self, order: int) -> int:
        table = self.portal.tables["order_line"]
        query = sa.select(sa.func.count()).where(table.c.order == order)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def total(self, order: int) -> Decimal:
        return Decimal(self.store.get(self.clerk, "order", order)["total"])


@pytest.fixture
def orders(db_engine: sa.Engine, portalis_checker: Checker) -> Orders:
    return Orders(db_engine, deploy_dir(db_engine, portalis_checker, ORDERS))


def test_lines_of_a_draft_order_change_freely(orders: Orders) -> None:
    order = orders.order()
    first = orders.line(orders.ann, order, 2, "1.50")
    second = orders.line(orders.ann, order, 1, "10.00")
    assert orders.total(order) == Decimal("13.00")
    orders.store.update(orders.ann, "order_line", first, {"quantity": 4})
    orders.store.delete(orders.ann, "order_line", second)
    assert orders.total(order) == Decimal("6.00")
    assert orders.lines(order) == 1


@pytest.mark.parametrize("states", [("submit",), ("submit", "deliver")])
def test_lines_of_a_submitted_or_delivered_order_are_frozen(
    orders: Orders, states: tuple[str, ...]
) -> None:
    order = orders.order()
    line = orders.line(orders.ann, order, 2, "1.50")
    orders.move(order, *states)
    with pytest.raises(ParentStateRefused) as created:
        orders.line(orders.ann, order, 1, "99.00")
    assert str(created.value) == REFUSED
    assert "parent['status'] == 'draft' is false" in created.value.reason
    with pytest.raises(ParentStateRefused, match="no longer a draft"):
        orders.store.update(orders.ann, "order_line", line, {"quantity": 9})
    with pytest.raises(ParentStateRefused, match="no longer a draft"):
        orders.store.delete(orders.ann, "order_line", line)
    # nothing changed: one line, the same total
    assert orders.lines(order) == 1 and orders.total(order) == Decimal("3.00")
    # the state condition binds the customer's grant only: the clerk's covers all lines
    orders.line(orders.clerk, order, 1, "1.00")
    assert orders.total(order) == Decimal("4.00")


def test_a_line_cannot_move_into_a_delivered_order(orders: Orders) -> None:
    draft, delivered = orders.order("B-1"), orders.order("B-2")
    line = orders.line(orders.ann, draft)
    orders.move(delivered, "submit", "deliver")
    with pytest.raises(ParentStateRefused):
        orders.store.update(orders.ann, "order_line", line, {"order": delivered})
    assert orders.lines(delivered) == 0 and orders.lines(draft) == 1


def test_another_accounts_order_stays_invisible(orders: Orders) -> None:
    """The state condition never reveals a parent the actor cannot read: 404-style
    refusal (not the state message) for Gus of Globex."""
    gus = actor_for(orders.engine, orders.portal, "gus@globex.test")
    order = orders.order()
    with pytest.raises(Exception) as refused:
        orders.line(gus, order)
    assert not isinstance(refused.value, ParentStateRefused)


def test_state_change_racing_a_new_line_never_leaves_it_in_a_delivered_order(
    orders: Orders,
) -> None:
    """The clerk delivers the order in an open transaction; a customer adds a line meanwhile.
    The line's write waits for the parent (its lock) and then sees `delivered`: refused."""
    racing = orders.order("B-2")
    outcome: list[object] = []
    with orders.store.write() as conn:
        for name in ("submit", "deliver"):
            workflow.transition(orders.store, orders.clerk, "order", racing, name, conn=conn)

        def add() -> None:
            try:
                outcome.append(orders.line(orders.ann, racing, 1, "5.00"))
            except Exception as exc:  # the outcome under test
                outcome.append(exc)

        adding = threading.Thread(target=add)
        adding.start()
        time.sleep(0.5)
        assert adding.is_alive(), "the line was written without waiting for the parent"
    adding.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], ParentStateRefused), outcome
    assert orders.lines(racing) == 0 and orders.total(racing) == Decimal("0.00")
