"""Rollups on SQLite and PostgreSQL: sum, count, min and max over child records, kept exact in
the child write's transaction — where filters, moves between parents, deletes, chains, money
currencies, parent rules that refuse (and roll back) the child write, deploys and seeds."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from derived_defs import USERS, Shop, deploy_text, shop, shop_portal

from portalis.engine.data import rollup_recompute
from portalis.engine.data.db import begin_write
from portalis.engine.data.errors import NON_FIELD, ValidationFailed
from portalis.engine.data.system_tables import audit as audit_table
from portalis.engine.definition.fieldtypes import Money
from portalis.engine.deploy.validator import Checker
from portalis.testing.concurrency import race


def eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


@pytest.fixture
def world(db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path) -> Shop:
    return shop(db_engine, portalis_checker, tmp_path / "shop")


def test_new_parent_starts_empty(world: Shop) -> None:
    invoice = world.get("invoice", world.invoice())
    assert invoice["total"] == eur("0.00") and invoice["lines"] == 0
    assert invoice["open_lines"] == 0 and invoice["quantity"] == 0
    assert invoice["weight"] == Decimal("0.000")
    assert invoice["smallest"] is None and invoice["largest"] is None
    assert invoice["last_day"] is None


def test_sum_count_min_max_on_create(world: Shop) -> None:
    invoice = world.invoice()
    world.line(invoice, amount="10.10", quantity=2, weight="0.125", day="2026-03-01")
    world.line(invoice, amount="0.20", quantity=3, weight="0.125", day="2026-03-09")
    world.line(invoice, amount="5", quantity=1, day="2026-03-04", status="done")
    world.line(invoice)  # no amount: counted, but not summed or compared
    got = world.get("invoice", invoice)
    assert got["total"] == eur("15.30")
    assert (got["lines"], got["open_lines"], got["quantity"]) == (4, 3, 6)
    assert got["smallest"] == eur("0.20") and got["largest"] == eur("10.10")
    assert got["last_day"] == date(2026, 3, 9)
    assert got["weight"] == Decimal("0.250")
    assert got["doubled"] == 12  # stored computed fields follow the rollups


def test_sums_are_exact_decimal_arithmetic(world: Shop) -> None:
    invoice = world.invoice()
    for _ in range(10):
        world.line(invoice, amount="0.10", weight="0.001")
    got = world.get("invoice", invoice)
    assert got["total"] == eur("1.00") and str(got["total"].amount) == "1.00"
    assert got["weight"] == Decimal("0.010")


def test_update_of_amount_and_where_field(world: Shop) -> None:
    invoice = world.invoice()
    first = world.line(invoice, amount="4.00")
    world.line(invoice, amount="6.00")
    world.store.update(world.clerk, "invoice_line", first, {"amount": "1.50"})
    got = world.get("invoice", invoice)
    assert got["total"] == eur("7.50") and got["smallest"] == eur("1.50")
    world.store.update(world.clerk, "invoice_line", first, {"status": "done"})
    got = world.get("invoice", invoice)
    assert (got["lines"], got["open_lines"]) == (2, 1)
    world.store.update(world.clerk, "invoice_line", first, {"quantity": 7})
    assert world.get("invoice", invoice)["quantity"] == 7


def test_child_moves_to_another_parent(world: Shop) -> None:
    a, b = world.invoice("A"), world.invoice("B")
    line = world.line(a, amount="3.00", quantity=1)
    world.line(a, amount="2.00", quantity=1)
    world.store.update(world.clerk, "invoice_line", line, {"invoice": b})
    got_a, got_b = world.get("invoice", a), world.get("invoice", b)
    assert (got_a["total"], got_a["lines"]) == (eur("2.00"), 1)
    assert (got_b["total"], got_b["lines"], got_b["largest"]) == (eur("3.00"), 1, eur("3.00"))


def test_delete_recomputes_and_empty_values(world: Shop) -> None:
    invoice = world.invoice()
    only = world.line(invoice, amount="9.99", day="2026-01-02")
    world.store.delete(world.clerk, "invoice_line", only)
    got = world.get("invoice", invoice)
    assert got["total"] == eur("0.00") and got["lines"] == 0
    assert got["smallest"] is None and got["largest"] is None and got["last_day"] is None


def test_chain_invoice_to_customer(world: Shop) -> None:
    acme, globex = world.customer("Acme"), world.customer("Globex")
    first = world.invoice("A", customer=acme)
    second = world.invoice("B", customer=acme)
    world.line(first, amount="10.00")
    line = world.line(second, amount="5.25")
    assert world.get("customer", acme)["balance"] == eur("15.25")
    assert world.get("customer", acme)["invoices"] == 2
    world.store.update(world.clerk, "invoice", second, {"customer": globex})
    assert world.get("customer", acme)["balance"] == eur("10.00")
    assert world.get("customer", globex)["balance"] == eur("5.25")
    world.store.delete(world.clerk, "invoice_line", line)
    assert world.get("customer", globex)["balance"] == eur("0.00")
    assert world.get("customer", globex)["invoices"] == 1


def test_money_in_another_currency_is_refused(world: Shop) -> None:
    invoice = world.invoice()
    world.line(invoice, amount="1.00")
    with pytest.raises(ValidationFailed) as refused:
        world.line(invoice, amount="5.00 USD")
    (message,) = refused.value.errors["amount"]
    assert message.code == "currency" and message.params["currency"] == "EUR"
    assert world.count("invoice_line") == 1
    assert world.get("invoice", invoice)["total"] == eur("1.00")


def test_parent_rule_refuses_the_child_write_and_rolls_back(world: Shop) -> None:
    invoice = world.invoice(max_weight="1.000")
    world.line(invoice, weight="0.600")
    with begin_write(world.engine) as conn:
        audits_before = conn.execute(sa.select(sa.func.count()).select_from(audit_table)).scalar()
    with pytest.raises(ValidationFailed) as refused:
        world.line(invoice, weight="0.500", amount="3.00")
    (message,) = refused.value.errors[NON_FIELD]
    assert message.code == "rule" and message.message == "The invoice is too heavy"
    assert message.params == {"entity": "invoice", "rule": 0}
    got = world.get("invoice", invoice)
    assert (got["weight"], got["lines"], got["total"]) == (Decimal("0.600"), 1, eur("0.00"))
    assert world.count("invoice_line") == 1
    with world.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_table)).scalar() == (
            audits_before
        )
    world.line(invoice, weight="0.400")  # exactly at the limit is fine
    assert world.get("invoice", invoice)["weight"] == Decimal("1.000")


def test_a_rollup_past_its_fields_range_refuses_the_write(world: Shop) -> None:
    invoice = world.invoice()
    world.line(invoice, quantity=600)
    with pytest.raises(ValidationFailed) as refused:
        world.line(invoice, quantity=401)
    (message,) = refused.value.errors[NON_FIELD]
    assert message.code == "max" and message.params["field"] == "quantity"
    assert "must be at most 1000" in message.text()
    assert world.get("invoice", invoice)["quantity"] == 600


def test_a_parent_already_in_breach_does_not_block_its_children(world: Shop) -> None:
    invoice = world.invoice(due=(date.today() + timedelta(days=3)).isoformat())
    table = world.portal.tables["invoice"]
    with begin_write(world.engine) as conn:  # time passes: the due date is now in the past
        conn.execute(
            table.update().where(table.c.id == invoice).values(due=date.today() - timedelta(1))
        )
    world.line(invoice, amount="2.00")
    assert world.get("invoice", invoice)["total"] == eur("2.00")


def test_a_broken_rule_that_reads_the_rollup_still_refuses(world: Shop) -> None:
    invoice = world.invoice(max_weight="1.000")
    heavy = world.line(invoice, weight="0.800")
    table = world.portal.tables["invoice"]
    with begin_write(world.engine) as conn:  # the limit was lowered behind the rules' back
        conn.execute(table.update().where(table.c.id == invoice).values(max_weight=0.5))
    with pytest.raises(ValidationFailed) as refused:
        world.line(invoice, weight="0.100")  # heavier still: refused
    assert refused.value.errors[NON_FIELD][0].message == "The invoice is too heavy"
    world.store.delete(world.clerk, "invoice_line", heavy)  # back within the limit: fine
    assert world.get("invoice", invoice)["weight"] == Decimal("0.000")


def test_parent_keeps_its_version_and_moves_updated_at(world: Shop) -> None:
    invoice = world.invoice()
    before = world.get("invoice", invoice)
    world.line(invoice, amount="1.00")
    after = world.get("invoice", invoice)
    assert after["version"] == before["version"] == 1
    assert after["updated_at"] > before["updated_at"]
    # a form opened before the line was added still saves (no lost update is possible)
    saved = world.store.update(
        world.clerk, "invoice", invoice, {"number": "A-2"}, expected_version=1
    )
    assert saved["total"] == eur("1.00") and saved["number"] == "A-2"


def test_rollups_are_not_writable(world: Shop) -> None:
    with pytest.raises(ValidationFailed) as refused:
        world.store.insert(world.clerk, "invoice", {"number": "X", "total": "5.00"})
    assert refused.value.errors["total"][0].code == "not-writable"
    invoice = world.invoice()
    with pytest.raises(ValidationFailed):
        world.store.update(world.clerk, "invoice", invoice, {"lines": 3})


def test_ten_threads_adding_lines_get_an_exact_total(world: Shop) -> None:
    customer = world.customer()
    invoice = world.invoice(customer=customer)
    results = race(*(lambda: world.line(invoice, amount="1.10", quantity=1) for _ in range(10)))
    assert all(isinstance(r, int) for r in results), results
    got = world.get("invoice", invoice)
    assert (got["total"], got["lines"], got["quantity"]) == (eur("11.00"), 10, 10)
    assert world.get("customer", customer)["balance"] == eur("11.00")


def test_recompute_all_at_deploy(
    db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    plain = shop(db_engine, portalis_checker, tmp_path / "v1", shop_portal(rollups=False))
    acme = plain.customer()
    invoice = plain.invoice(customer=acme)
    empty = plain.invoice("B")
    for amount in ("1.25", "2.50"):
        plain.line(invoice, amount=amount, quantity=2)
    # version 2 adds the rollups: existing parents get their values in the deploy
    world = shop(db_engine, portalis_checker, tmp_path / "v2")
    got = world.get("invoice", invoice)
    assert (got["total"], got["lines"], got["quantity"], got["doubled"]) == (
        eur("3.75"),
        2,
        4,
        8,
    )
    assert world.get("invoice", empty)["total"] == eur("0.00")
    assert world.get("customer", acme)["balance"] == eur("3.75")  # the chain, children first
    # and recompute_all repairs a value that went wrong, reporting what it changed
    table = world.portal.tables["invoice"]
    with begin_write(db_engine) as conn:
        conn.execute(table.update().where(table.c.id == invoice).values(lines=99))
        assert rollup_recompute.recompute_all(world.store, conn, "invoice", "lines") == 1
        assert rollup_recompute.recompute_all(world.store, conn, "invoice", "lines") == 0
    assert world.get("invoice", invoice)["lines"] == 2


def test_seeded_children_are_rolled_up(
    db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    seed = (
        USERS
        + """\
accounts: []
records:
  customer:
    - {key: acme, name: Acme}
  invoice:
    - {key: i1, number: S-1, customer: acme}
  invoice_line:
    - {invoice: i1, amount: "4.40", quantity: 1}
    - {invoice: i1, amount: "0.60", quantity: 2, status: done}
"""
    )
    compiled = deploy_text(db_engine, portalis_checker, tmp_path / "seeded", shop_portal(), seed)
    table = compiled.tables["invoice"]
    customers = compiled.tables["customer"]
    with db_engine.connect() as conn:
        row = conn.execute(sa.select(table)).mappings().one()
        balance = conn.execute(sa.select(customers.c.balance)).scalar_one()
    assert Decimal(str(row["total"])) == Decimal("5.00") and row["total_currency"] == "EUR"
    assert (row["lines"], row["open_lines"], row["quantity"]) == (2, 1, 3)
    assert Decimal(str(balance)) == Decimal("5.00")


def test_dependency_order_puts_children_first(world: Shop) -> None:
    order = rollup_recompute.dependency_order(world.portal.model, [("invoice", "total")])
    assert order == [("invoice", "total"), ("customer", "balance")]
