"""Expressions read fields of referenced records (`record.product.list_price`): checked when
the definition is validated, loaded with the engine's rights in one query per step (no N+1 on
a list page), and held to the field-mask rule."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.engine.data.errors import ValidationFailed
from portalis.engine.deploy.validator import Checker
from portalis.engine.expr.money import Money
from portalis.testing.portals import actor_for, check_text, deploy_text
from portalis.testing.web import count_selects

D = Decimal
PORTAL = """\
format: portalis/v1
portal: shop
title: Shop
locales: [en]
currency: EUR
roles:
  customer: {label: Customer}
  clerk: {label: Clerk, staff: true}
entities:
  account:
    permissions:
      - {roles: [clerk], actions: [read], scope: all}
      - {roles: [customer], actions: [read], scope: account}
  product:
    title_field: name
    fields:
      name: {type: string, required: true}
      list_price: {type: money, required: true}
      cost: {type: money}
    permissions:
      - {roles: [clerk], actions: [read, create, update], scope: all}
      - {roles: [customer], actions: [read], scope: all, fields: {except: [cost]}}
  order:
    title_field: number
    fields:
      number: {type: string, required: true}
      account: {type: ref, to: account, required: true}
      status: {type: choice, options: [draft, delivered], default: draft}
    permissions:
      - {roles: [clerk], actions: [read, create, update], scope: all}
      - {roles: [customer], actions: [read], scope: account}
  order_line:
    fields:
      order: {type: ref, to: order, required: true}
      product: {type: ref, to: product, required: true}
      quantity: {type: decimal, places: 2, required: true}
      price: {type: money, default: {expr: "record.product.list_price"}}
      amount: {type: money, compute: "record['quantity'] * record['price']"}
      listed: {type: money, compute: "record.product.list_price * record.quantity", stored: false}
      customer: {type: string, compute: "record.order.account.name", stored: false}
    rules:
      - check: "record.order.status == 'draft'"
        message: Lines can only change while the order is a draft
    permissions:
      - {roles: [clerk], actions: [read, create, update, delete], scope: all}
      - {roles: [customer], actions: [read], scope: {parent: order}}
seed: [seed.yaml]
"""
SEED = """\
accounts:
  - {key: acme, name: Acme GmbH}
users:
  - {email: clara@shop.test, name: Clara, roles: [clerk]}
  - {email: ben@acme.test, name: Ben, roles: [customer], account: acme}
records:
  product:
    - {key: bolt, name: Bolt, list_price: "0.35", cost: "0.10"}
    - {key: nut, name: Nut, list_price: "0.15", cost: "0.05"}
  order:
    - {key: o1, number: O-1, account: acme}
    - {key: o2, number: O-2, account: acme, status: delivered}
  order_line:
    - {order: o1, product: bolt, quantity: "10"}
"""


def test_the_portal_is_clean(portalis_checker: Checker, tmp_path: Path) -> None:
    assert check_text(portalis_checker, tmp_path / "check", PORTAL, SEED) == []


@pytest.mark.parametrize(
    ("change", "code", "text"),
    [
        (
            ("record.product.list_price * record.quantity", "record.product.price * 2"),
            "ref-unknown-field",
            "product (record.product) has no field 'price'",
        ),
        (
            ("record.order.account.name", "record.quantity.name"),
            "expression-related",
            "order_line.quantity is not a reference",
        ),
        (
            ("record.order.account.name", "record.order.account.name.x.y"),
            "expression-related",
            "follows 4 references; at most 3",
        ),
        (
            (
                "quantity: {type: decimal, places: 2, required: true}",
                "quantity: {type: decimal, places: 2, required: true, "
                "visible_when: \"record.order.status == 'draft'\"}",
            ),
            "expression-related",
            "only compute, default: {expr: …} and rule checks can",
        ),
        (
            (
                "record.product.list_price * record.quantity",
                "record.product.cost * record.quantity",
            ),
            "computed-reads-hidden",
            "customer may not read product.cost",
        ),
        (
            ("record['quantity'] * record['price']", "record.product.list_price + 1"),
            "expression-type",
            "not supported on money and a plain number",
        ),
    ],
)
def test_related_read_mistakes_are_problems(
    portalis_checker: Checker, tmp_path: Path, change: tuple[str, str], code: str, text: str
) -> None:
    portal = PORTAL.replace(*change)
    assert portal != PORTAL
    found = check_text(portalis_checker, tmp_path / "check", portal, SEED)
    assert [c for c, _ in found] == [code], found
    assert text in found[0][1]


def test_related_values_in_defaults_rules_and_computed_fields(
    db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    portal = deploy_text(db_engine, portalis_checker, tmp_path / "p", PORTAL, SEED)
    clara = actor_for(db_engine, portal, "clara@shop.test")
    ben = actor_for(db_engine, portal, "ben@acme.test")
    store = portal.store(db_engine)
    products = {r["name"]: r.id for r in store.list(clara, "product").records}
    orders = {r["number"]: r.id for r in store.list(clara, "order").records}
    # the seeded line got its price from the product (0.35) and its amount from it
    (seeded,) = store.list(clara, "order_line").records
    assert seeded["price"] == Money(D("0.35"), "EUR") and seeded["amount"] == Money(
        D("3.50"), "EUR"
    )
    line = store.insert(
        clara, "order_line", {"order": orders["O-1"], "product": products["Nut"], "quantity": "3"}
    )
    saved = store.get(ben, "order_line", line.id)
    assert saved["price"] == Money(D("0.15"), "EUR") and saved["amount"] == Money(D("0.45"), "EUR")
    assert saved["listed"] == Money(D("0.45"), "EUR") and saved["customer"] == "Acme GmbH"
    assert not any("." in key for key in saved.values)  # related values never join a record
    with pytest.raises(ValidationFailed) as refused:  # the order is delivered
        store.insert(
            clara, "order_line",
            {"order": orders["O-2"], "product": products["Nut"], "quantity": "1"},
        )  # fmt: skip
    assert "draft" in str(refused.value.errors)


def test_a_page_reads_related_records_in_constant_statements(
    db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    portal = deploy_text(db_engine, portalis_checker, tmp_path / "p", PORTAL, SEED)
    clara = actor_for(db_engine, portal, "clara@shop.test")
    ben = actor_for(db_engine, portal, "ben@acme.test")
    store = portal.store(db_engine)
    order = next(r.id for r in store.list(clara, "order").records if r["number"] == "O-1")
    products = [r.id for r in store.list(clara, "product").records]
    counts = []
    for size in (10, 100):
        while len(store.list(clara, "order_line", page_size=200).records) < size:
            store.insert(
                clara, "order_line",
                {"order": order, "product": products[size % 2], "quantity": "2"},
            )  # fmt: skip
        with count_selects(db_engine) as seen:
            page = store.list(ben, "order_line", page_size=size, count=False)
        assert len(page.records) == size
        assert {r["customer"] for r in page.records} == {"Acme GmbH"}
        assert all(r["listed"] == r["price"] * r["quantity"] for r in page.records)
        counts.append(len(seen))
    assert counts[0] == counts[1], counts  # the list, then one query per reference step
