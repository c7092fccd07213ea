"""Benchmark: sandboxed expressions and workflow transitions — Portalis vs handwritten Python.

Two measurements, each against a handwritten baseline in the same run:

* **A typical `when` condition** — ``record['status'] == 'open' and
  days_since(record['updated_at']) <= 14 and 'agent' in actor.roles`` — evaluated by the
  compiled, budgeted RestrictedPython expression vs a plain Python function doing the same.
* **A transition with two actions** (`set` a date from an expression, queue a webhook) through
  `workflow.transition` — lock, version check, grant and `when` check, update, audit entry,
  outbox job, one transaction — vs handwritten SQLAlchemy doing the same writes (select for
  update, state/role/condition check, update with version, audit insert, outbox insert).

    .venv/bin/python bench/expressions.py                 # SQLite and PostgreSQL
    .venv/bin/python bench/expressions.py --db sqlite --transitions 500
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from harness import add_database_argument, database, database_kinds

from portalis.engine.data.db import begin_write, create_engine
from portalis.engine.data.permissions import Actor
from portalis.engine.data.system_tables import audit, jobs
from portalis.engine.deploy.validator import Checker
from portalis.engine.expr.expressions import compile_expression
from portalis.engine.expr.functions import days_since
from portalis.engine.flow import workflow
from portalis.engine.plugins import make_plugin_manager
from portalis.engine.portal import CompiledPortal
from portalis.testing.portals import deploy_dir

WHEN = "record['status'] == 'open' and days_since(record['updated_at']) <= 14 and 'agent' in actor.roles"

DEFINITION = """\
format: portalis/v1
portal: bench-flow
title: Bench
locales: [en]
roles:
  manager: {staff: true}
entities:
  expense:
    fields:
      title: {type: string, required: true}
      amount: {type: decimal}
      approved_on: {type: date}
      status: {type: choice, options: [submitted, approved], default: submitted}
    permissions:
      - {roles: [manager], actions: [read, create, update, transition], scope: all}
workflows:
  expense_flow:
    entity: expense
    field: status
    initial: submitted
    transitions:
      - name: approve
        from: submitted
        to: approved
        roles: [manager]
        when: "record['amount'] < 10000"
        actions:
          - set: {approved_on: {expr: "today()"}}
          - webhook: {url: "http://127.0.0.1:9/expense", secret: bench-secret}
"""


# -- expressions ------------------------------------------------------------------------
def handwritten_when(record: dict[str, Any], actor: Actor) -> bool:
    """The baseline: the same condition as plain Python."""
    age = days_since(record["updated_at"])
    return record["status"] == "open" and age is not None and age <= 14 and "agent" in actor.roles


def rate(function: Callable[[], Any], seconds: float = 1.5) -> float:
    """Calls per second of `function` over about `seconds`."""
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(200):
            function()
        count += 200
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def bench_when() -> dict[str, Any]:
    expression = compile_expression(WHEN)
    record = {"status": "open", "updated_at": datetime.now(UTC) - timedelta(days=3)}
    actor = Actor(7, 1, frozenset({"agent", "authenticated"}))
    assert expression.test(record=record, actor=actor) is handwritten_when(record, actor)
    ours = rate(lambda: expression.test(record=record, actor=actor))
    base = rate(lambda: handwritten_when(record, actor))
    return {"portalis_per_s": round(ours), "baseline_per_s": round(base), "ratio": base / ours}


# -- transitions ------------------------------------------------------------------------
def seed(engine: sa.Engine, portal: CompiledPortal, count: int) -> list[int]:
    table = portal.tables["expense"]
    now = datetime.now(UTC)
    with begin_write(engine) as conn:
        first = conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
        conn.execute(
            table.insert(),
            [
                {"title": f"Expense {i}", "amount": 120 + i % 50, "status": "submitted",
                 "created_at": now, "updated_at": now, "version": 1}
                for i in range(count)
            ],
        )  # fmt: skip
        rows = conn.execute(sa.select(table.c.id).where(table.c.id > first).order_by(table.c.id))
        return [int(r.id) for r in rows]


def handwritten_transition(
    engine: sa.Engine, portal: CompiledPortal, actor: Actor, rid: int
) -> None:
    """The baseline: what a careful developer writes by hand for the same transition."""
    table = portal.tables["expense"]
    with begin_write(engine) as conn:
        query = sa.select(table).where(table.c.id == rid)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).mappings().one()
        if row["status"] != "submitted" or "manager" not in actor.roles:
            raise PermissionError("not available")
        if not float(row["amount"]) < 10000:
            raise PermissionError("condition false")
        now = datetime.now(UTC)
        result = conn.execute(
            table.update()
            .where(table.c.id == rid, table.c.version == row["version"])
            .values(status="approved", approved_on=date.today(), version=row["version"] + 1,
                    updated_at=now)
        )  # fmt: skip
        if result.rowcount != 1:
            raise RuntimeError("stale")
        conn.execute(
            audit.insert().values(
                portal="bench-flow", at=now, actor_id=actor.id, actor_email=actor.email,
                action="transition", entity="expense", record_id=rid,
                changes={"status": ["submitted", "approved"],
                         "approved_on": [None, date.today().isoformat()]},
                detail={"workflow": "expense_flow", "transition": "approve",
                        "from": "submitted", "to": "approved"},
            )
        )  # fmt: skip
        conn.execute(
            jobs.insert().values(
                portal="bench-flow", kind="webhook", status="pending", run_at=now, attempts=0,
                max_attempts=8, created_at=now, updated_at=now,
                payload={"url": "http://127.0.0.1:9/expense", "event": "expense.approve",
                         "secret": "bench-secret",
                         "body": {"entity": "expense", "record": {"id": rid, "status": "approved"}}},
            )
        )  # fmt: skip


def bench_transition(kind: str, tmp: Path, count: int) -> dict[str, Any]:
    folder = tmp / f"def-{kind}"
    folder.mkdir()
    (folder / "portal.yaml").write_text(DEFINITION)
    checker = Checker(make_plugin_manager(load_entrypoints=False))
    with database(kind, tmp) as url:
        engine = create_engine(url)
        portal = deploy_dir(engine, checker, folder, seed=False)
        store = portal.store(engine)
        actor = Actor(1, None, frozenset({"manager", "authenticated"}), email="m@bench.test")
        ours_ids, base_ids = seed(engine, portal, count), seed(engine, portal, count)
        warm = 20
        for rid in ours_ids[:warm]:
            workflow.transition(store, actor, "expense", rid, "approve")
        for rid in base_ids[:warm]:
            handwritten_transition(engine, portal, actor, rid)
        start = time.perf_counter()
        for rid in ours_ids[warm:]:
            workflow.transition(store, actor, "expense", rid, "approve")
        ours = (time.perf_counter() - start) / (count - warm)
        start = time.perf_counter()
        for rid in base_ids[warm:]:
            handwritten_transition(engine, portal, actor, rid)
        base = (time.perf_counter() - start) / (count - warm)
        with engine.connect() as conn:
            queued = conn.execute(
                sa.select(sa.func.count()).select_from(jobs).where(jobs.c.kind == "webhook")
            ).scalar()
        engine.dispose()
    assert queued == 2 * count, "every transition queues exactly one webhook"
    return {
        "database": kind,
        "portalis_ms": round(ours * 1000, 3),
        "baseline_ms": round(base * 1000, 3),
        "ratio": ours / base,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transitions", type=int, default=400)
    add_database_argument(parser)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    kinds = database_kinds(args.db)
    results: dict[str, Any] = {"when": bench_when(), "transition": []}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            results["transition"].append(bench_transition(kind, Path(tmp), args.transitions))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    w = results["when"]
    print(f"`when` condition: {WHEN}")
    print(
        f"  portalis {w['portalis_per_s']:>10,} evaluations/s   handwritten "
        f"{w['baseline_per_s']:>10,}/s   handwritten is {w['ratio']:.1f}x faster"
    )
    print("transition with two actions (set from an expression + queued webhook), audit included")
    for r in results["transition"]:
        print(
            f"  {r['database']:<10} portalis {r['portalis_ms']:>7.3f} ms   handwritten "
            f"{r['baseline_ms']:>7.3f} ms   ratio {r['ratio']:.2f}x"
        )


if __name__ == "__main__":
    main()
