"""The wholesale B2B portal (`portals/b2b`) checked to the cent on SQLite and PostgreSQL: order
lines priced by the negotiated price of the account (else the list price in the account's
currency), totals in EUR and USD rounded half-even, numbering per year, a credit memo and
payments reducing what is open until the invoice settles itself, balances per currency, overdue
computed live by the database, lines frozen once an order is submitted, and an order repeated
with its lines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from portalis.engine.data.errors import NotFound, ParentStateRefused, ValidationFailed
from portalis.engine.data.line_items import LineItems, LineRow, save_with_lines
from portalis.engine.data.permissions import Actor
from portalis.engine.data.store import RecordStore
from portalis.engine.definition.block_configs import FormLines
from portalis.engine.deploy.validator import Checker
from portalis.engine.expr.money import Money
from portalis.engine.flow import copying
from portalis.engine.flow.workflow import transition
from portalis.engine.portal import CompiledPortal
from portalis.testing import portals
from portalis.testing.portals import actor_for

FOLDER = Path(__file__).parent / "portals" / "b2b"
TODAY = dt.datetime.now(dt.UTC).date()
YEAR = TODAY.year
LINES = FormLines(entity="order_line", via="order", fields=("product", "quantity"))


def eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


class Shop:
    """The deployed portal with its customers Ann (Acme, EUR) and Gus (Globex, USD) and the
    clerk Cleo."""

    def __init__(self, engine: sa.Engine, portal: CompiledPortal) -> None:
        self.store: RecordStore = portal.store(engine)
        self.ann = actor_for(engine, portal, "ann@acme.test")
        self.gus = actor_for(engine, portal, "gus@globex.test")
        self.cleo = actor_for(engine, portal, "cleo@wholesale.test")
        system = Actor.system()
        self.products = {
            r.values["sku"]: r.id for r in self.store.list(system, "product", page_size=50).records
        }
        self.accounts = {
            r.values["name"]: r.id for r in self.store.list(system, "account", page_size=50).records
        }

    def order(self, actor: Actor, account: str, lines: dict[str, str]) -> Any:
        """An order of `account` with one line per SKU and quantity, saved like the form."""
        rows = [
            LineRow({"product": self.products[sku], "quantity": quantity})
            for sku, quantity in lines.items()
        ]
        return save_with_lines(
            self.store,
            actor,
            "order",
            None,
            {"account": self.accounts[account]},
            LineItems(LINES, rows),
        )

    def lines(self, actor: Actor, order: int) -> list[tuple[Any, ...]]:
        rows = self.store.list(actor, "order_line", parent=("order", order), sort="id").records
        return [(r.values["quantity"], r.values["price"], r.values["amount"]) for r in rows]

    def invoice(self, account: str, due: dt.date, lines: list[tuple[str, str]]) -> Any:
        """An invoice of `account` created by Cleo with lines of (quantity, price)."""
        invoice = self.store.insert(
            self.cleo, "invoice", {"account": self.accounts[account], "due": due}
        )
        for i, (quantity, price) in enumerate(lines, 1):
            self.store.insert(
                self.cleo,
                "invoice_line",
                {"invoice": invoice.id, "description": f"Item {i}", "quantity": quantity,
                 "price": price},
            )  # fmt: skip
        return self.store.get(self.cleo, "invoice", invoice.id)


@pytest.fixture
def shop(db_engine: sa.Engine, portalis_checker: Checker) -> Shop:
    return Shop(db_engine, portals.deploy_dir(db_engine, portalis_checker, FOLDER))


def test_the_portal_validates_without_a_problem(portalis_checker: Checker) -> None:
    report = portalis_checker.check_dir(FOLDER, env={}).report
    assert [(p.code, p.message) for p in report.problems] == []


def test_orders_total_their_lines_at_negotiated_or_list_prices(shop: Shop) -> None:
    # Acme (EUR): widgets at this year's agreement (9.90, not last period's 10.50), gadgets at
    # the list price, the gizmo discount expired; 1.5 × 4.75 = 7.125 rounds half-even to 7.12
    acme = shop.order(shop.ann, "Acme GmbH", {"W-100": "3", "G-200": "1.5", "Z-300": "1"})
    assert shop.lines(shop.ann, acme.id) == [
        (Decimal("3"), eur("9.90"), eur("29.70")),
        (Decimal("1.5"), eur("4.75"), eur("7.12")),
        (Decimal("1"), eur("99.99"), eur("99.99")),
    ]
    assert acme.values["total"] == eur("136.81")
    # Globex (USD): the USD list price for widgets, its own gadget price; 2.5 × 4.99 = 12.475
    globex = shop.order(shop.gus, "Globex Inc", {"W-100": "2.5", "G-200": "2.5", "Z-300": "1"})
    assert shop.lines(shop.gus, globex.id) == [
        (Decimal("2.5"), usd("13.20"), usd("33.00")),
        (Decimal("2.5"), usd("4.99"), usd("12.48")),
        (Decimal("1"), usd("109.99"), usd("109.99")),
    ]
    assert globex.values["total"] == usd("155.47")
    # a customer orders for their own account only, and never sets a price
    with pytest.raises(ValidationFailed) as refused:
        shop.order(shop.gus, "Acme GmbH", {"W-100": "1"})
    assert list(refused.value.errors) == ["account"], refused.value.errors
    with pytest.raises(ValidationFailed):
        shop.store.insert(
            shop.ann,
            "order_line",
            {"order": acme.id, "product": shop.products["W-100"], "quantity": "1", "price": "0.01"},
        )
    assert shop.store.get(shop.ann, "order", acme.id).values["total"] == eur("136.81")


def test_a_submitted_order_keeps_its_lines_and_total(shop: Shop) -> None:
    order = shop.order(shop.ann, "Acme GmbH", {"W-100": "10"})
    assert order.values["total"] == eur("99.00")
    transition(shop.store, shop.ann, "order", order.id, "submit")
    with pytest.raises(ParentStateRefused):
        shop.store.insert(
            shop.ann, "order_line", {"order": order.id, "product": shop.products["G-200"],
                                     "quantity": "1"},
        )  # fmt: skip
    assert shop.store.get(shop.ann, "order", order.id).values["total"] == eur("99.00")


def test_orders_invoices_and_credit_memos_are_numbered_per_year(shop: Shop) -> None:
    first = shop.order(shop.ann, "Acme GmbH", {"W-100": "1"})
    second = shop.order(shop.gus, "Globex Inc", {"W-100": "1"})
    assert [first.values["number"], second.values["number"]] == [
        f"SO-{YEAR}-00001",
        f"SO-{YEAR}-00002",
    ]
    due = TODAY + dt.timedelta(days=30)
    invoices = [shop.invoice(name, due, [("1", "10.00")]) for name in ("Acme GmbH", "Globex Inc")]
    assert [i.values["number"] for i in invoices] == [f"INV-{YEAR}-00001", f"INV-{YEAR}-00002"]
    memo = shop.store.insert(
        shop.cleo, "credit_memo", {"invoice": invoices[0].id, "reason": "Damaged", "amount": "1"}
    )
    assert memo.values["number"] == f"CM-{YEAR}-00001"


def test_payments_and_credit_memos_reduce_the_open_balance(shop: Shop) -> None:
    due = TODAY + dt.timedelta(days=30)
    invoice = shop.invoice("Acme GmbH", due, [("2", "59.50"), ("3", "0.333")])
    # 3 × 0.33 (the price is stored in cents) = 0.99
    assert invoice.values["total"] == eur("119.99")
    shop.store.insert(shop.cleo, "payment", {"invoice": invoice.id, "amount": "50.00"})
    shop.store.insert(
        shop.cleo, "credit_memo", {"invoice": invoice.id, "reason": "Late", "amount": "19.99"}
    )
    seen = shop.store.get(shop.ann, "invoice", invoice.id).values
    assert (seen["paid"], seen["credited"], seen["open_amount"]) == (
        eur("50.00"),
        eur("19.99"),
        eur("50.00"),
    )
    assert seen["status"] == "issued"
    acme = shop.store.get(shop.cleo, "account", shop.accounts["Acme GmbH"])
    assert acme.values["open_balance"] == eur("50.00")
    # a payment in another currency than the account's is refused, nothing changes
    with pytest.raises(ValidationFailed):
        shop.store.insert(shop.cleo, "payment", {"invoice": invoice.id, "amount": "50.00 USD"})
    # the last payment leaves nothing open: the invoice settles itself
    shop.store.insert(shop.cleo, "payment", {"invoice": invoice.id, "amount": "50.00"})
    settled = shop.store.get(shop.ann, "invoice", invoice.id).values
    assert (settled["open_amount"], settled["status"]) == (eur("0.00"), "paid")
    acme = shop.store.get(shop.cleo, "account", shop.accounts["Acme GmbH"])
    assert acme.values["open_balance"] == eur("0.00")


def test_open_balances_are_shown_per_currency(shop: Shop) -> None:
    due = TODAY + dt.timedelta(days=14)
    shop.invoice("Acme GmbH", due, [("1", "100.10")])
    shop.invoice("Acme GmbH", due, [("1", "0.25")])
    shop.invoice("Globex Inc", due, [("4", "50.05")])
    total = {"function": "sum", "field": "open_amount"}
    # the clerk sees every account: one figure per currency, never EUR + USD
    assert shop.store.aggregate(shop.cleo, "invoice", **total) == [
        (None, eur("100.35")),
        (None, usd("200.20")),
    ]
    assert shop.store.aggregate(shop.ann, "invoice", **total) == [(None, eur("100.35"))]
    assert shop.store.aggregate(shop.gus, "invoice", **total) == [(None, usd("200.20"))]
    balances = {
        r.values["name"]: r.values["open_balance"]
        for r in shop.store.list(shop.cleo, "account", sort="name").records
    }
    assert balances == {"Acme GmbH": eur("100.35"), "Globex Inc": usd("200.20")}


def test_overdue_is_computed_live_by_the_database(shop: Shop) -> None:
    day = dt.timedelta(days=1)
    late = shop.invoice("Acme GmbH", TODAY - day, [("1", "5.00")])
    shop.invoice("Acme GmbH", TODAY, [("1", "6.00")])
    paid = shop.invoice("Acme GmbH", TODAY - 9 * day, [("1", "7.00")])
    shop.store.insert(shop.cleo, "payment", {"invoice": paid.id, "amount": "7.00"})
    shop.invoice("Globex Inc", TODAY - 3 * day, [("1", "8.00")])
    overdue = shop.store.list(shop.ann, "invoice", filters={"overdue": True}).records
    assert [r.id for r in overdue] == [late.id]
    assert shop.store.aggregate(shop.cleo, "invoice", where={"overdue": True}) == [(None, 2)]
    # no write made it so: what the database computes changes with the date alone
    assert shop.store.get(shop.ann, "invoice", late.id).values["overdue"] is True
    assert shop.store.get(shop.ann, "invoice", paid.id).values["overdue"] is False


def test_an_order_is_repeated_with_its_lines(shop: Shop) -> None:
    order = shop.order(shop.gus, "Globex Inc", {"W-100": "2.5", "G-200": "2.5"})
    transition(shop.store, shop.gus, "order", order.id, "submit")
    again = copying.copy_record(shop.store, shop.gus, "order", order.id)
    assert again.id != order.id
    assert again.values["status"] == "draft"
    assert again.values["number"] == f"SO-{YEAR}-00002"
    assert again.values["total"] == usd("45.48")
    assert shop.lines(shop.gus, again.id) == shop.lines(shop.gus, order.id)
    # the repeat is a draft: its lines can change again
    shop.store.insert(
        shop.gus, "order_line", {"order": again.id, "product": shop.products["Z-300"],
                                 "quantity": "1"},
    )  # fmt: skip
    assert shop.store.get(shop.gus, "order", again.id).values["total"] == usd("155.47")
    # another account's order cannot be repeated: it does not exist for them
    with pytest.raises(NotFound):
        copying.copy_record(shop.store, shop.ann, "order", order.id)
