"""Declared lookups: the negotiated price of the order's account for the line's product,
valid today, else the list price — checked when the definition is validated, chosen by the
record store (and by the seed check, in memory) the same way, on both databases."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.engine.deploy.validator import Checker
from portalis.engine.expr.money import Money
from portalis.testing.portals import actor_for, check_text, deploy_text

D = Decimal
PORTAL = """\
format: portalis/v1
portal: prices
title: Prices
locales: [en]
currency: EUR
roles:
  clerk: {label: Clerk, staff: true}
entities:
  account:
    permissions:
      - {roles: [clerk], actions: [read], scope: all}
  product:
    title_field: name
    fields:
      name: {type: string, required: true}
      list_price: {type: money, required: true}
    permissions:
      - {roles: [clerk], actions: [read], scope: all}
  price_agreement:
    fields:
      account: {type: ref, to: account, required: true}
      product: {type: ref, to: product, required: true}
      price: {type: money, required: true}
      valid_from: {type: date, required: true}
      valid_to: {type: date}
      active: {type: bool, default: true}
    permissions:
      - {roles: [clerk], actions: [read, create, update], scope: all}
  order:
    title_field: number
    fields:
      number: {type: string, required: true}
      account: {type: ref, to: account, required: true}
    permissions:
      - {roles: [clerk], actions: [read, create], scope: all}
  order_line:
    lookups:
      negotiated_price:
        from: price_agreement
        match: {account: order.account, product: product}
        where: {active: true}
        valid: [valid_from, valid_to]
        order_by: -valid_from
        value: price
    fields:
      order: {type: ref, to: order, required: true}
      product: {type: ref, to: product, required: true}
      quantity: {type: int, required: true}
      price: {type: money, default: {expr: "record.negotiated_price or record.product.list_price"}}
      amount: {type: money, compute: "record.quantity * record.price"}
    permissions:
      - {roles: [clerk], actions: [read, create], scope: all}
seed: [seed.yaml]
"""
SEED = """\
accounts:
  - {key: acme, name: Acme GmbH}
  - {key: globex, name: Globex Ltd}
users:
  - {email: clara@prices.test, name: Clara, roles: [clerk]}
records:
  product:
    - {key: bolt, name: Bolt, list_price: "0.35"}
    - {key: nut, name: Nut, list_price: "0.15"}
  price_agreement:
    - {account: acme, product: bolt, price: "0.30", valid_from: 2020-01-01}
    - {account: acme, product: bolt, price: "0.28", valid_from: 2021-01-01, valid_to: 2099-12-31}
    - {account: acme, product: bolt, price: "0.10", valid_from: 2019-01-01, valid_to: 2020-12-31}
    - {account: acme, product: bolt, price: "0.01", valid_from: 2022-01-01, active: false}
    - {account: acme, product: bolt, price: "0.05", valid_from: 2098-01-01}
  order:
    - {key: o1, number: O-1, account: acme}
    - {key: o2, number: O-2, account: globex}
  order_line:
    - {order: o1, product: bolt, quantity: 100}
    - {order: o2, product: bolt, quantity: 100}
"""


def test_the_definition_and_its_seed_are_clean(portalis_checker: Checker, tmp_path: Path) -> None:
    assert check_text(portalis_checker, tmp_path / "check", PORTAL, SEED) == []


@pytest.mark.parametrize(
    ("old", "new", "code", "text"),
    [
        ("from: price_agreement", "from: agreement", "lookup-invalid", "no entity 'agreement'"),
        (
            "product: product}",
            "product: quantity}",
            "lookup-invalid",
            "price_agreement.product (ref to product) cannot match quantity (int)",
        ),
        (
            "order.account, product",
            "order.owner, product",
            "lookup-invalid",
            "no field or reference path 'order.owner'",
        ),
        (
            "valid: [valid_from, valid_to]",
            "valid: [valid_from, active]",
            "lookup-invalid",
            "valid: price_agreement.active is not a date field",
        ),
        ("value: price", "value: cost", "lookup-invalid", "price_agreement has no field 'cost'"),
        ("negotiated_price:\n", "amount:\n", "lookup-invalid", "has the name of a field"),
        (
            "quantity: {type: int, required: true}",
            'quantity: {type: int, required: true, visible_when: "record.negotiated_price is None"}',
            "expression-related",
            "reads the lookup 'negotiated_price'",
        ),
        (
            'compute: "record.quantity * record.price"}',
            'compute: "record.quantity * record.negotiated_price", stored: false}',
            "expression-related",
            "a lookup only where the value is stored",
        ),
    ],
)
def test_lookup_mistakes_are_located_problems(
    portalis_checker: Checker, tmp_path: Path, old: str, new: str, code: str, text: str
) -> None:
    portal = PORTAL.replace(old, new, 1)
    assert portal != PORTAL
    if old == "negotiated_price:\n":
        portal = portal.replace("record.negotiated_price or ", "")
    found = check_text(portalis_checker, tmp_path / "check", portal, SEED)
    assert [c for c, _ in found] == [code] and text in found[0][1], found


def test_lines_are_priced_by_agreement_else_list_price(
    db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    portal = deploy_text(db_engine, portalis_checker, tmp_path / "p", PORTAL, SEED)
    clara = actor_for(db_engine, portal, "clara@prices.test")
    store = portal.store(db_engine)
    orders = {r["number"]: r.id for r in store.list(clara, "order").records}
    products = {r["name"]: r.id for r in store.list(clara, "product").records}
    seeded = {r["order"]: r for r in store.list(clara, "order_line").records}
    # acme's newest agreement valid today wins (0.28): not the expired, inactive or future one
    assert seeded[orders["O-1"]]["price"] == Money(D("0.28"), "EUR")
    assert seeded[orders["O-1"]]["amount"] == Money(D("28.00"), "EUR")
    assert seeded[orders["O-2"]]["price"] == Money(D("0.35"), "EUR")  # globex: list price
    nut = store.insert(
        clara, "order_line", {"order": orders["O-1"], "product": products["Nut"], "quantity": 4}
    )
    assert nut["price"] == Money(D("0.15"), "EUR") and nut["amount"] == Money(D("0.60"), "EUR")
    typed = store.insert(
        clara,
        "order_line",
        {"order": orders["O-1"], "product": products["Bolt"], "quantity": 1, "price": "0.33"},
    )
    assert typed["price"] == Money(D("0.33"), "EUR")  # a given price is kept
    assert "negotiated_price" not in typed.values
