"""Small definitions for the tests of derived values: rollups, virtual fields, defaults.

`shop_portal(rollups=...)` is a customer → invoice → invoice_line portal whose invoice and
customer carry rollups (sum, count, min, max, where, a chain); `deploy_text` writes a
definition (and optional seed) into a folder and deploys it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from portalis.engine.data.permissions import Actor
from portalis.engine.data.store import RecordStore
from portalis.engine.deploy.validator import Checker
from portalis.engine.portal import CompiledPortal
from portalis.testing import portals
from portalis.testing.portals import actor_for

USERS = """\
users:
  - {email: clara@shop.test, name: Clara Clerk, roles: [clerk]}
"""

#: The rollup fields of invoice and customer (left out to deploy a version without them).
INVOICE_ROLLUPS = """\
      total: {type: money, rollup: sum, of: invoice_line.amount, via: invoice}
      lines: {type: int, rollup: count, of: invoice_line, via: invoice}
      open_lines: {type: int, rollup: count, of: invoice_line, via: invoice, where: {status: open}}
      smallest: {type: money, rollup: min, of: invoice_line.amount, via: invoice}
      largest: {type: money, rollup: max, of: invoice_line.amount, via: invoice}
      quantity: {type: int, max: 1000, rollup: sum, of: invoice_line.quantity, via: invoice}
      last_day: {type: date, rollup: max, of: invoice_line.day, via: invoice}
      weight: {type: decimal, places: 3, rollup: sum, of: invoice_line.weight, via: invoice}
      doubled: {type: int, compute: "(record.get('quantity') or 0) * 2"}
"""
INVOICE_RULES = """\
    rules:
      - check: "record['max_weight'] is None or record['weight'] <= record['max_weight']"
        message: {en: The invoice is too heavy, de: Die Rechnung ist zu schwer}
      - check: "record['due'] is None or record['due'] >= today()"
        message: {en: The due date is in the past, de: Das Fälligkeitsdatum ist vorbei}
"""
CUSTOMER_ROLLUPS = """\
      balance: {type: money, rollup: sum, of: invoice.total, via: customer}
      invoices: {type: int, rollup: count, of: invoice, via: customer}
"""


def shop_portal(*, rollups: bool = True) -> str:
    """The shop definition, with or without its rollup fields."""
    return f"""\
format: portalis/v1
portal: shop
title: {{en: Shop, de: Laden}}
locales: [en, de]
currency: EUR
roles:
  clerk: {{label: Clerk}}
entities:
  customer:
    title_field: name
    fields:
      name: {{type: string, required: true}}
{CUSTOMER_ROLLUPS if rollups else ""}\
    permissions:
      - {{roles: [clerk], actions: [read, create, update, delete], scope: all}}
  invoice:
    title_field: number
    fields:
      number: {{type: string, required: true}}
      customer: {{type: ref, to: customer}}
      max_weight: {{type: decimal, places: 3}}
      due: {{type: date}}
{INVOICE_ROLLUPS + INVOICE_RULES if rollups else ""}\
    permissions:
      - {{roles: [clerk], actions: [read, create, update, delete], scope: all}}
  invoice_line:
    fields:
      invoice: {{type: ref, to: invoice, required: true}}
      amount: {{type: money, currencies: [EUR, USD]}}
      quantity: {{type: int}}
      weight: {{type: decimal, places: 3}}
      day: {{type: date}}
      status: {{type: choice, options: [open, done], default: open}}
    permissions:
      - {{roles: [clerk], actions: [read, create, update, delete], scope: all}}
seed: [seed.yaml]
"""


def deploy_text(
    engine: sa.Engine, checker: Checker, folder: Path, portal: str, seed: str = USERS
) -> CompiledPortal:
    """Write `portal.yaml` and `seed.yaml` (the clerks by default) into `folder` and deploy it."""
    return portals.deploy_text(engine, checker, folder, portal, seed)


@dataclass
class Shop:
    """The deployed shop: store, the clerk and helpers to create records."""

    engine: sa.Engine
    portal: CompiledPortal
    store: RecordStore
    clerk: Actor

    def customer(self, name: str = "Acme") -> int:
        return self.store.insert(self.clerk, "customer", {"name": name}).id

    def invoice(self, number: str = "A-1", **values: object) -> int:
        return self.store.insert(self.clerk, "invoice", {"number": number, **values}).id

    def line(self, invoice: int, **values: object) -> int:
        return self.store.insert(self.clerk, "invoice_line", {"invoice": invoice, **values}).id

    def get(self, entity: str, record_id: int) -> dict[str, object]:
        return dict(self.store.get(self.clerk, entity, record_id).values)

    def count(self, entity: str) -> int:
        table = self.portal.tables[entity]
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def shop(engine: sa.Engine, checker: Checker, folder: Path, portal: str | None = None) -> Shop:
    """Deploy the shop (or another definition with the same users) and return it."""
    compiled = deploy_text(engine, checker, folder, portal or shop_portal())
    return Shop(
        engine, compiled, compiled.store(engine), actor_for(engine, compiled, "clara@shop.test")
    )
