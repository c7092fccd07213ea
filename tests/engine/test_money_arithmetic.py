"""Money in expressions: + and - in one currency, * and / by numbers, comparisons, round() and
sum() — exact `Decimal`, half-even to the currency's minor units, currencies never mixed
(validate-time problems where the currencies are known, a failed expression where not)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.engine.data.errors import ValidationFailed
from portalis.engine.deploy.validator import Checker
from portalis.engine.expr.expressions import EvaluationError, compile_expression
from portalis.engine.expr.money import CurrencyMismatch, Money
from portalis.engine.expr.typecheck import type_errors
from portalis.testing.portals import actor_for, deploy_text

D = Decimal


def eur(text: str) -> Money:
    return Money(D(text), "EUR")


def run(source: str, **values: object) -> object:
    return compile_expression(source).evaluate(record=values)


# -- the value ------------------------------------------------------------------------------
def test_amounts_of_one_currency_add_subtract_and_compare() -> None:
    assert eur("10.10") + eur("0.20") == eur("10.30")
    assert eur("10.10") - eur("20") == eur("-9.90")
    assert -eur("1.5") == eur("-1.5") and abs(eur("-2")) == eur("2")
    assert eur("1") < eur("1.01") <= eur("1.01") and eur("3") > 0 and eur("0") == 0
    assert sum([eur("0.10")] * 3) == eur("0.30")  # floats would give 0.30000000000000004
    assert sorted([eur("3"), eur("-1"), eur("2")]) == [eur("-1"), eur("2"), eur("3")]


def test_amounts_scale_by_numbers_exactly() -> None:
    assert eur("12.345") * 3 == eur("37.035")
    assert 3 * eur("12.345") == D("3") * eur("12.345") == eur("37.035")
    assert eur("100") * 1.19 == eur("119.00")  # the float by its decimal text
    assert eur("10") / 4 == eur("2.5")
    assert eur("10") / eur("4") == D("2.5")  # a ratio is a number
    ten_thirds = eur("10") / 3
    assert isinstance(ten_thirds, Money) and len(ten_thirds.amount.as_tuple().digits) == 40


def test_round_is_half_even_to_the_currency_minor_units() -> None:
    assert round(eur("2.345")) == eur("2.34")  # the even neighbour
    assert round(eur("2.355")) == eur("2.36")
    assert round(Money(D("2.5"), "JPY")) == Money(D("2"), "JPY")
    assert round(Money(D("1.2345"), "KWD")) == Money(D("1.234"), "KWD")
    assert round(eur("2.35"), 1) == eur("2.4")


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        (lambda: eur("1") + Money(D("1"), "USD"), "cannot add amounts in EUR and USD"),
        (lambda: eur("1") - Money(D("1"), "USD"), "cannot subtract amounts in EUR and USD"),
        (lambda: eur("1") < Money(D("1"), "USD"), "cannot compare amounts in EUR and USD"),
        (lambda: eur("1") + 5, "cannot add a plain number"),
        (lambda: eur("1") * eur("2"), "cannot multiply an amount by an amount"),
        (lambda: 5 / eur("2"), "cannot divide a number by an amount"),
        (lambda: eur("1") < 5, "compare amounts of one currency, or with 0"),
        (lambda: eur("1") * "3", "money can only be multiplied by a number, not str"),
    ],
)
def test_what_money_refuses(operation: object, message: str) -> None:
    with pytest.raises(CurrencyMismatch, match=message):
        operation()  # type: ignore[operator]


def test_zero_needs_no_currency_and_hashes_like_zero() -> None:
    assert eur("5") + 0 == 0 + eur("5") == eur("5")
    assert eur("0.00") == 0 and hash(eur("0.00")) == hash(0)
    assert eur("0") != Money(D("1"), "EUR") and eur("1") != D("1")


# -- in expressions -------------------------------------------------------------------------
def test_the_reference_example_computes_money() -> None:
    source = "(record['quantity'] or 0) * (record['price'] or 0)"
    assert run(source, quantity=D("3"), price=eur("12.345")) == eur("37.035")
    assert run(source, quantity=None, price=eur("2")) == 0
    assert run(source, quantity=2, price=None) == 0


def test_expressions_use_the_whole_money_vocabulary() -> None:
    lines = {"a": eur("19.99"), "b": eur("0.01"), "c": eur("-5")}
    assert run("sum([record['a'], record['b'], record['c']])", **lines) == eur("15.00")
    assert run("round(record['a'] / 3)", **lines) == eur("6.66")
    assert run("max(record['a'], record['b']) == record['a']", **lines) is True
    assert run("record['a'] > record['b'] and record['c'] < 0", **lines) is True
    assert run("record['a'].amount * 2", **lines) == D("39.98")
    assert run("record['a'].currency", **lines) == "EUR"
    assert run("abs(record['c'])", **lines) == eur("5")


def test_mixing_currencies_at_run_time_is_a_failed_expression() -> None:
    with pytest.raises(EvaluationError, match="cannot add amounts in EUR and USD"):
        run("record['a'] + record['b']", a=eur("1"), b=Money(D("1"), "USD"))
    with pytest.raises(EvaluationError, match="needs numbers"):
        run("record['a'] // 2", a=eur("1"))
    with pytest.raises(EvaluationError, match="ZeroDivisionError"):
        run("record['a'] / 0", a=eur("1"))


# -- at validate time -----------------------------------------------------------------------
TYPES = {"price": "money", "usd": "money", "qty": "int", "rate": "decimal", "any": "money"}
CURRENCIES = {"price": "EUR", "usd": "USD", "any": ""}


def problems(source: str, target: str | None = None) -> list[str]:
    return [
        f"{e.col}:{e}" for e in type_errors(source, TYPES, currencies=CURRENCIES, target=target)
    ]


@pytest.mark.parametrize(
    "source",
    [
        "record['price'] * record['qty']",
        "record['qty'] * record['price'] + record['price']",
        "round(record['price'] * record['rate']) - record['price']",
        "record['price'] / record['price'] * 100",
        "record['price'] > 0 and record['price'] <= record['price']",
        "record['price'] + record['any']",  # the other currency is only known at run time
        "record['price'] + 0",
        "-record['price']",
    ],
)
def test_money_arithmetic_that_type_checks(source: str) -> None:
    assert problems(source) == []


@pytest.mark.parametrize(
    ("source", "col", "message"),
    [
        ("record['price'] + 1", 1, "not supported on money and a plain number"),
        ("1 - record['price']", 1, "not supported on money and a plain number"),
        ("record['price'] * record['price']", 1, "on two amounts of money"),
        ("record['qty'] / record['price']", 1, "on a number and money"),
        ("record['price'] ** 2", 1, "the operation ** is not supported on money"),
        ("record['price'] + record['usd']", 1, "cannot add amounts in EUR and USD"),
        ("record['qty'] > 1 and record['usd'] < record['price']", 23, "amounts in USD and EUR"),
        ("record['price'] >= record['qty']", 1, "cannot be compared with a plain number"),
    ],
)
def test_money_mistakes_are_located_problems(source: str, col: int, message: str) -> None:
    found = problems(source)
    assert len(found) == 1 and found[0].startswith(f"{col}:") and message in found[0], found


def test_a_computed_value_must_fit_its_field() -> None:
    assert problems("record['price'] * record['qty']", target="money") == []
    assert problems("record['price'] / record['price']", target="decimal") == []
    (money_into_decimal,) = problems("record['price'] * 2", target="decimal")
    assert "gives a money value, but the field is a decimal field" in money_into_decimal
    (number_into_money,) = problems("record['qty'] * 2", target="money")
    assert "gives a number value, but the field is a money field" in number_into_money


# -- stored, on both databases ---------------------------------------------------------------
PORTAL = """\
format: portalis/v1
portal: shop
title: Shop
locales: [en]
currency: EUR
roles:
  clerk: {label: Clerk, staff: true}
entities:
  order:
    title_field: number
    fields:
      number: {type: string, required: true}
      total: {type: money, rollup: sum, of: order_line.amount, via: order}
      net: {type: money, compute: "round(record['total'] / 1.19)"}
      tax: {type: money, compute: "record['total'] - record['net']"}
      big: {type: bool, compute: "record['total'] > record['limit']"}
      limit: {type: money, default: "1000"}
    permissions:
      - {roles: [clerk], actions: [read, create, update, delete], scope: all}
  order_line:
    fields:
      order: {type: ref, to: order, required: true}
      quantity: {type: decimal, places: 3, required: true}
      price: {type: money, required: true}
      amount: {type: money, compute: "(record['quantity'] or 0) * (record['price'] or 0)"}
      yen: {type: money, currency: JPY}
      odd: {type: money, compute: "record['price'] + record['yen']", stored: false}
    permissions:
      - {roles: [clerk], actions: [read, create, update, delete], scope: all}
seed: [seed.yaml]
"""
SEED = """\
users:
  - {email: clara@shop.test, name: Clara, roles: [clerk]}
records:
  order:
    - {key: o1, number: O-1}
"""


def test_money_computed_and_rolled_up_to_the_cent(
    db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    # `odd` adds EUR to JPY, both fixed by their fields: a problem before anything runs
    checked = portalis_checker.check_dir(_write(tmp_path / "bad", PORTAL), env={}).report
    assert [(p.code, p.path[-2]) for p in checked.errors] == [("expression-type", "odd")]
    portal = deploy_text(
        db_engine, portalis_checker, tmp_path / "ok", PORTAL.replace(" + record['yen']", ""), SEED
    )
    clara = actor_for(db_engine, portal, "clara@shop.test")
    store = portal.store(db_engine)
    order = store.list(clara, "order").records[0].id
    for quantity, price in (("3", "12.345"), ("0.333", "9.99"), ("1", "0.005"), ("2", "0.125")):
        store.insert(clara, "order_line", {"order": order, "quantity": quantity, "price": price})
    amounts = sorted(r.values["amount"].amount for r in store.list(clara, "order_line").records)
    # prices are stored rounded half-even (12.345 → 12.34, 0.005 → 0.00, 0.125 → 0.12), and
    # each amount again: 3 × 12.34 = 37.02; 0.333 × 9.99 = 3.32667 → 3.33; 2 × 0.12 = 0.24
    assert amounts == [D("0.00"), D("0.24"), D("3.33"), D("37.02")]
    saved = store.get(clara, "order", order).values
    assert saved["total"] == eur("40.59")
    assert saved["net"] == eur("34.11")  # 40.59 / 1.19 = 34.1092… → 34.11
    assert saved["tax"] == eur("6.48") and saved["big"] is False
    assert all(str(v.amount) == f"{v.amount:.2f}" for v in (saved["total"], saved["net"]))


def test_a_currency_found_at_run_time_refuses_the_write(
    db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    portal = deploy_text(
        db_engine,
        portalis_checker,
        tmp_path / "p",
        PORTAL.replace(
            "price: {type: money, required: true}",
            "price: {type: money, required: true, currencies: [EUR, USD]}",
        ).replace(" + record['yen']", ""),
        SEED,
    )
    clara = actor_for(db_engine, portal, "clara@shop.test")
    store = portal.store(db_engine)
    order = store.list(clara, "order").records[0].id
    store.insert(clara, "order_line", {"order": order, "quantity": "1", "price": "5 EUR"})
    with pytest.raises(ValidationFailed) as refused:
        store.insert(clara, "order_line", {"order": order, "quantity": "1", "price": "5 USD"})
    # 1 × 5 USD is 5 USD, which the EUR-only amount field refuses: nothing is written
    assert {k: [m.code for m in v] for k, v in refused.value.errors.items()} == {
        "amount": ["expression-failed"]
    }
    assert len(store.list(clara, "order_line").records) == 1
    assert store.get(clara, "order", order).values["total"] == eur("5.00")


def _write(folder: Path, portal: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "portal.yaml").write_text(portal, encoding="utf-8")
    (folder / "seed.yaml").write_text(SEED, encoding="utf-8")
    return folder
