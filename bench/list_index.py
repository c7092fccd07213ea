"""Benchmark: the SQL of the starter's account-scoped ticket list, with and without the index
derived from the list block.

The ticket table of the starter blueprint (built by the engine, so with the derived
`(account, updated_at DESC, id)` index) is filled with `--tickets` tickets spread over
`--accounts` accounts. The list's query — one account's first page, newest first, `id` as the
tie-break, as `ReadStore.list` orders it — is timed with the derived indexes, then with the
single-column `(account)` and `(updated_at)` indexes a table had before indexes were derived.
Reported per database: the best of `--runs` executions of each, their ratio and query plans.

    .venv/bin/python bench/list_index.py                          # 1,000,000 tickets, both DBs
    .venv/bin/python bench/list_index.py --db sqlite --tickets 100000
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from harness import add_database_argument, database, database_kinds

from portalis.engine.data.db import create_engine
from portalis.engine.data.tables import TableSet, build_tables
from portalis.engine.definition.bundle import read_bundle
from portalis.testing.portals import BLUEPRINTS, installed_checker

PAGE = 25
BATCH = 50_000


def starter_tables() -> TableSet:
    bundle, _ = read_bundle(BLUEPRINTS / "b2c")
    return build_tables(installed_checker().check_bundle(bundle, {}).unwrap())


def fill(engine: sa.Engine, tables: TableSet, tickets: int, accounts: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            tables["account"].insert(),
            [
                {"id": i, "name": f"A{i}", "created_at": start, "updated_at": start, "version": 1}
                for i in range(1, accounts + 1)
            ],
        )
        rng = random.Random(7)
        for first in range(0, tickets, BATCH):
            rows = []
            for i in range(first, min(first + BATCH, tickets)):
                at = start + timedelta(seconds=rng.randrange(10**8))
                rows.append(
                    {
                        "subject": f"Ticket {i}",
                        "account": rng.randint(1, accounts),
                        "priority": "normal",
                        "status": "new",
                        "created_at": at,
                        "updated_at": at,
                        "version": 1,
                    }
                )
            conn.execute(tables["ticket"].insert(), rows)


def measure(
    engine: sa.Engine, query: sa.Select[tuple[object, ...]], runs: int
) -> tuple[float, str]:
    """Best time in ms of `runs` executions, and the query plan."""
    literal = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + literal).all()
            plan = "; ".join(str(r[-1]) for r in rows)
        else:
            rows = conn.exec_driver_sql("EXPLAIN " + literal).all()
            plan = "; ".join(str(r[0]).strip() for r in rows)
        best = float("inf")
        for _ in range(runs):
            began = time.perf_counter()
            conn.execute(query).all()
            best = min(best, time.perf_counter() - began)
    return best * 1000, plan


def run(kind: str, tmp: Path, tickets: int, accounts: int, runs: int) -> None:
    tables = starter_tables()
    ticket = tables["ticket"]
    derived = [
        f"ix_{ticket.name}__{c}" for c in ("account_updated_at_desc_id", "updated_at_desc_id")
    ]
    with database(kind, tmp) as url:
        engine = create_engine(url)
        try:
            tables.metadata.create_all(engine)
            fill(engine, tables, tickets, accounts)
            query = (
                sa.select(ticket)
                .where(ticket.c.account == accounts // 2)
                .order_by(ticket.c.updated_at.desc(), ticket.c.id)
                .limit(PAGE + 1)
            )
            with_index, plan_with = measure(engine, query, runs)
            with engine.begin() as conn:
                for name in derived:
                    conn.exec_driver_sql(f"DROP INDEX {name}")
                for column in ("account", "updated_at"):
                    conn.exec_driver_sql(f"CREATE INDEX bench_{column} ON {ticket.name} ({column})")
            without, plan_without = measure(engine, query, runs)
        finally:
            engine.dispose()
    print(f"{kind}: {tickets:,} tickets, {accounts} accounts, first page of one account")
    print(f"  derived indexes         {with_index:8.3f} ms   {plan_with}")
    print(f"  single-column indexes   {without:8.3f} ms   {plan_without}")
    print(f"  ratio                   {without / with_index:8.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_argument(parser)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for kind in database_kinds(args.db):
            run(kind, Path(tmp), args.tickets, args.accounts, args.runs)


if __name__ == "__main__":
    main()
