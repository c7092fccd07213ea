"""Benchmark: a list of order lines showing fields of referenced records, against the plain
list of the same rows — statements per page and the cost ratio, at 10 and 100 rows.

The related list shows two virtual fields: `customer` (`record.order.account.name`, two
references deep) and `listed` (`record.product.list_price * record.quantity`). Their values
are loaded for the whole page in one query per reference and step, so a page of 100 rows runs
as many statements as a page of 10. The plain list is the same query without those fields.
Both go through the record store as a signed-in clerk, in-process, after warm-up, taking
turns (`harness.ROUNDS`), on SQLite and PostgreSQL.

    .venv/bin/python bench/related_list.py                 # 2,000 lines, both databases
    .venv/bin/python bench/related_list.py --lines 20000 --db postgresql
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from harness import add_database_argument, over_databases, turn_medians

from portalis.engine.data.db import create_engine
from portalis.testing.portals import actor_for, deploy_text, installed_checker
from portalis.testing.web import count_selects

PORTAL = """\
format: portalis/v1
portal: bench-orders
title: Orders
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
  order:
    fields:
      number: {type: string, required: true}
      account: {type: ref, to: account, required: true}
    permissions:
      - {roles: [clerk], actions: [read], scope: all}
  order_line:
    fields:
      order: {type: ref, to: order, required: true}
      product: {type: ref, to: product, required: true}
      quantity: {type: int, required: true}
      customer: {type: string, compute: "record.order.account.name", stored: false}
      listed: {type: money, compute: "record.product.list_price * record.quantity", stored: false}
    permissions:
      - {roles: [clerk], actions: [read], scope: all}
seed: [seed.yaml]
"""
SEED = """\
users:
  - {email: clara@orders.test, name: Clara, roles: [clerk]}
"""
PLAIN = ("order", "product", "quantity")
RELATED = (*PLAIN, "customer", "listed")


def populate(engine: sa.Engine, tables: Any, lines: int) -> None:
    """50 accounts, 200 products, an order per 10 lines, `lines` lines."""
    with engine.begin() as conn:
        conn.execute(tables["account"].insert(), [{"name": f"Account {i}"} for i in range(50)])
        conn.execute(
            tables["product"].insert(),
            [
                {"name": f"P{i}", "list_price": i + 0.25, "list_price_currency": "EUR"}
                for i in range(200)
            ],
        )
        orders = max(lines // 10, 1)
        conn.execute(
            tables["order"].insert(),
            [{"number": f"O-{i}", "account": i % 50 + 1} for i in range(orders)],
        )
        conn.execute(
            tables["order_line"].insert(),
            [
                {"order": i % orders + 1, "product": i % 200 + 1, "quantity": i % 7 + 1}
                for i in range(lines)
            ],
        )


def run(kind: str, url: str, lines: int, requests: int) -> list[dict[str, Any]]:
    """The figures of one database."""
    engine = create_engine(url)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            portal = deploy_text(engine, installed_checker(), Path(tmp) / "def", PORTAL, SEED)
        populate(engine, portal.tables, lines)
        store = portal.store(engine)
        clara = actor_for(engine, portal, "clara@orders.test")
        results = []
        for rows in (10, 100):
            calls = {
                name: (lambda f=fields, n=rows: store.list(clara, "order_line", fields=list(f),
                                                           page_size=n, count=False))
                for name, fields in (("plain", PLAIN), ("related", RELATED))
            }  # fmt: skip
            statements = {}
            for name, call in calls.items():
                call()  # the first call fills the statement caches
                with count_selects(engine) as seen:
                    page = call()
                assert len(page.records) == rows
                statements[name] = len(seen)
            medians = turn_medians(calls, requests)
            plain, related = medians["plain"], medians["related"]
            results.append(
                {
                    "database": kind,
                    "rows": rows,
                    "plain_ms": round(plain, 3),
                    "related_ms": round(related, 3),
                    "ratio": round(related / plain, 2),
                    "plain_selects": statements["plain"],
                    "related_selects": statements["related"],
                }
            )
        return results
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Run and print a Markdown table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_argument(parser)
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = over_databases(args.db, lambda kind, url: run(kind, url, args.lines, args.requests))
    print("| database | rows | plain ms | related ms | ratio | SELECTs plain | SELECTs related |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['database']} | {r['rows']} | {r['plain_ms']} | {r['related_ms']} | "
            f"{r['ratio']}x | {r['plain_selects']} | {r['related_selects']} |"
        )
    if args.json:
        print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
