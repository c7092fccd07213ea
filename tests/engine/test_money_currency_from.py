"""A money field whose currency comes from its record's context (`currency: {from: …}`): an
order of a USD customer is in USD — plain amounts take the record's currency, amounts in
another currency are refused, computed amounts and rollups follow, on both databases."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.engine.data.errors import ValidationFailed
from portalis.engine.data.permissions import Actor
from portalis.engine.data.store import RecordStore
from portalis.engine.deploy.validator import Checker
from portalis.engine.expr.money import Money
from portalis.testing.portals import actor_for, check_text, deploy_text
from portalis.testing.web import WebPortal

D = Decimal
PORTAL = """\
format: portalis/v1
portal: wholesale
title: Wholesale
locales: [en]
currency: EUR
roles:
  clerk: {label: Clerk, staff: true}
entities:
  account:
    fields:
      currency: {type: choice, options: [EUR, USD, JPY], default: EUR}
    permissions:
      - {roles: [clerk], actions: [read, update], scope: all}
  order:
    title_field: number
    fields:
      number: {type: string, required: true}
      account: {type: ref, to: account, required: true}
      total: {type: money, currency: {from: account.currency}, rollup: sum, of: order_line.amount, via: order}
    permissions:
      - {roles: [clerk], actions: [read, create, update], scope: all}
  order_line:
    fields:
      order: {type: ref, to: order, required: true}
      quantity: {type: decimal, places: 2, required: true}
      price: {type: money, currency: {from: order.account.currency}, required: true}
      amount: {type: money, currency: {from: order.account.currency}, compute: "record.quantity * record.price"}
    permissions:
      - {roles: [clerk], actions: [read, create, update, delete], scope: all}
seed: [seed.yaml]
"""
SEED = """\
accounts:
  - {key: acme, name: Acme GmbH, currency: EUR}
  - {key: globex, name: Globex Inc, currency: USD}
  - {key: kaisha, name: Kaisha KK, currency: JPY}
users:
  - {email: clara@wholesale.test, name: Clara, roles: [clerk]}
records:
  order:
    - {key: o1, number: O-1, account: acme}
    - {key: o2, number: O-2, account: globex}
    - {key: o3, number: O-3, account: kaisha}
  order_line:
    - {order: o1, quantity: "2", price: "12.50"}
    - {order: o2, quantity: "3", price: "12.50"}
    - {order: o2, quantity: "1", price: "0.99"}
"""


@pytest.fixture
def wholesale(
    db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> tuple[RecordStore, Actor]:
    """The portal deployed with its seed: its record store and the clerk Clara."""
    portal = deploy_text(db_engine, portalis_checker, tmp_path / "p", PORTAL, SEED)
    return portal.store(db_engine), actor_for(db_engine, portal, "clara@wholesale.test")


def test_the_definition_is_clean(portalis_checker: Checker, tmp_path: Path) -> None:
    assert check_text(portalis_checker, tmp_path / "check", PORTAL, SEED) == []


@pytest.mark.parametrize(
    ("old", "new", "code", "text"),
    [
        (
            "{from: account.currency}",
            "{from: account.money}",
            "currency-source",
            "no field 'money'",
        ),
        (
            "{from: account.currency}",
            "{from: number.currency}",
            "currency-source",
            "not a reference",
        ),
        (
            "{from: order.account.currency}, required",
            "{from: quantity}, required",
            "currency-source",
            "is a decimal field, not a currency code",
        ),
        (
            "{from: account.currency}, rollup",
            "{from: account.currency}, currencies: [EUR], rollup",
            "field-option",
            "takes no currencies",
        ),
    ],
)
def test_a_wrong_currency_source_is_a_problem(
    portalis_checker: Checker, tmp_path: Path, old: str, new: str, code: str, text: str
) -> None:
    portal = PORTAL.replace(old, new, 1)
    assert portal != PORTAL
    found = check_text(portalis_checker, tmp_path / "check", portal, SEED)
    assert [c for c, _ in found] == [code] and text in found[0][1], found


def test_each_order_is_in_its_customer_currency(
    wholesale: tuple[RecordStore, Actor],
) -> None:
    store, clara = wholesale
    orders = {r["number"]: r for r in store.list(clara, "order").records}
    # seeded with plain amounts: each in its customer's currency, to the cent
    assert orders["O-1"]["total"] == Money(D("25.00"), "EUR")
    assert orders["O-2"]["total"] == Money(D("38.49"), "USD")
    o2, o3 = orders["O-2"].id, orders["O-3"].id
    line = store.insert(clara, "order_line", {"order": o2, "quantity": "2", "price": "9.99"})
    assert line["price"] == Money(D("9.99"), "USD") and line["amount"] == Money(D("19.98"), "USD")
    assert store.get(clara, "order", o2)["total"] == Money(D("58.47"), "USD")
    # a yen price is rounded to whole yen, half-even (12.5 → 12); 3 × 12 = 36
    yen = store.insert(clara, "order_line", {"order": o3, "quantity": "3", "price": "12.5"})
    assert yen["price"] == Money(D("12"), "JPY") and yen["amount"] == Money(D("36"), "JPY")
    with pytest.raises(ValidationFailed) as refused:  # an explicit other currency
        store.insert(clara, "order_line", {"order": o2, "quantity": "1", "price": "5 EUR"})
    assert [m.code for m in refused.value.errors["price"]] == ["currency"]
    assert "USD" in refused.value.errors["price"][0].text()
    assert store.get(clara, "order", o2)["total"] == Money(D("58.47"), "USD")  # nothing written


def test_an_empty_sum_is_zero_in_the_record_currency(
    wholesale: tuple[RecordStore, Actor],
) -> None:
    store, clara = wholesale
    orders = {r["number"]: r for r in store.list(clara, "order").records}
    assert orders["O-3"]["total"] == Money(D("0"), "JPY")  # no lines yet
    new = store.insert(clara, "order", {"number": "O-4", "account": orders["O-2"]["account"]})
    assert new["total"] == Money(D("0"), "USD")
    for line in store.list(clara, "order_line", parent=("order", orders["O-2"].id)).records:
        store.delete(clara, "order_line", line.id)
    assert store.get(clara, "order", orders["O-2"].id)["total"] == Money(D("0"), "USD")


def test_amounts_are_never_relabelled_when_the_currency_changes(
    wholesale: tuple[RecordStore, Actor],
) -> None:
    store, clara = wholesale
    globex = next(a.id for a in store.list(clara, "account").records if a["name"] == "Globex Inc")
    store.update(clara, "account", globex, {"currency": "EUR"})
    line = next(
        r for r in store.list(clara, "order_line").records if r["price"].amount == D("0.99")
    )
    with pytest.raises(ValidationFailed) as refused:  # its stored 0.99 USD is no 0.99 EUR
        store.update(clara, "order_line", line.id, {"quantity": "2"})
    assert [m.code for m in refused.value.errors["price"]] == ["currency"]
    # an order holds one currency: its other USD line goes first (or both change in one form)
    other = next(
        r
        for r in store.list(clara, "order_line").records
        if r["price"].amount == D("12.50") and r["order"] == line["order"]
    )
    store.delete(clara, "order_line", other.id)
    fixed = store.update(clara, "order_line", line.id, {"quantity": "2", "price": "0.91"})
    assert fixed["price"] == Money(D("0.91"), "EUR") and fixed["amount"] == Money(D("1.82"), "EUR")
    assert store.get(clara, "order", line["order"])["total"] == Money(D("1.82"), "EUR")


PAGES = """\
pages:
  order:
    route: /orders/<id>
    roles: [clerk]
    blocks:
      - detail: {entity: order}
      - list: {entity: order_line, parent: order, columns: [quantity, price, amount]}
      - form: {entity: order_line, fields: [quantity, price], parent: order}
"""


def test_the_form_asks_for_an_amount_only_and_the_record_decides_the_currency(
    database_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "wholesale"
    folder.mkdir()
    (folder / "portal.yaml").write_text(PORTAL + PAGES, encoding="utf-8")
    (folder / "seed.yaml").write_text(SEED, encoding="utf-8")
    web = WebPortal.deploy(database_url, tmp_path / "instance", folder)
    try:
        clara = web.client("clara@wholesale.test")
        order = web.record_id("order", number="O-2")
        page = clara.get(f"/orders/{order}")
        assert page.status_code == 200
        assert 'name="price"' in page.text and 'name="price__currency"' not in page.text
        posted = clara.post(f"/orders/{order}", {"_block": "2", "quantity": "2", "price": "4.25"})
        assert posted.status_code == 303, posted.text
        page = clara.get(f"/orders/{order}")
        assert "$8.50" in page.text  # 2 × 4.25 in the customer's USD
        actor = web.actor("clara@wholesale.test")
        assert web.store.get(actor, "order", order)["total"] == Money(D("46.99"), "USD")
    finally:
        web.close()
