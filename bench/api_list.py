"""Benchmark: the REST API's ticket list (25 records as JSON) — Portalis vs handwritten.

The same run serves the same list two ways from the same database:

* Portalis: `GET /acme-support/api/v1/ticket?sort=-updated_at` of the starter blueprint as a
  signed-in customer (session check, permission-filtered query over the readable fields,
  bounded count, each record serialised through the API's schema for the actor).
* Baseline: a handwritten Flask + SQLAlchemy JSON view of that list (session look-up, the
  scoped query of the same columns, a bounded count, the same JSON built by hand).

Both are driven through Werkzeug's test client (no network noise), interleaved, after warm-up.
Every response is checked: status 200 and the very body of the first answer (the data does not
change during the run), and the two implementations' first bodies must be equal as JSON, so
neither side can get faster by answering less. Reported: requests/s of both and the ratio
(Portalis time per request / handwritten time per request).

    .venv/bin/python bench/api_list.py                 # 10,000 tickets, SQLite + PostgreSQL
    .venv/bin/python bench/api_list.py --db sqlite --requests 900
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, abort, jsonify, session
from harness import (
    compare_rates,
    first_body,
    signed_in_client,
    timings,
)
from list_page import SLUG, compare_main, portalis_client, prepared

from portalis.engine.data.db import create_engine
from portalis.engine.portal import CompiledPortal
from portalis.runtime.sessions import session_state

PATH = f"/{SLUG}/api/v1/ticket?sort=-updated_at"
PAGE_SIZE = 25
#: What a customer reads of a ticket (every field but `assignee`), in the model's order.
FIELDS = (
    "subject", "body", "priority", "tags", "account", "amount", "due", "attachment", "status",
    "escalated", "messages", "resolution",
)  # fmt: skip


def _stamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


def _item(row: sa.RowMapping) -> dict[str, Any]:
    item: dict[str, Any] = {"id": row["id"]}
    for name in FIELDS:
        item[name] = row[name]
    if row["amount"] is not None:
        item["amount"] = {"amount": f"{row['amount']:.2f}", "currency": row["amount_currency"]}
    due = row["due"]
    item["due"] = due.isoformat() if isinstance(due, date) else None
    # resolution is visible only once the ticket is resolved or closed
    if row["status"] not in ("resolved", "closed"):
        item["resolution"] = None
    item["created_at"] = _stamp(row["created_at"])
    item["updated_at"] = _stamp(row["updated_at"])
    item["created_by"] = row["created_by"]
    item["version"] = row["version"]
    return item


def baseline_client(url: str, portal: CompiledPortal, user_id: int) -> tuple[Any, str]:
    """What a competent developer writes by hand for the same endpoint."""
    engine = create_engine(url)
    ticket_t, user_t = portal.tables["ticket"], portal.tables["user"]
    columns = [ticket_t.c.id, *(ticket_t.c[n] for n in FIELDS), ticket_t.c.amount_currency]
    columns += [ticket_t.c[n] for n in ("created_at", "updated_at", "created_by", "version")]
    app = Flask("baseline")
    app.secret_key = "bench"

    @app.get("/api/ticket")
    def tickets() -> Any:
        with engine.connect() as conn:
            found = session_state(conn, SLUG, session.get("sid", ""), idle_minutes=60)
            if found is None:
                abort(401)
            uid = found[0]
            account = conn.execute(
                sa.select(user_t.c.account).where(user_t.c.id == uid)
            ).scalar_one()
            where = ticket_t.c.account == account
            rows = (
                conn.execute(
                    sa.select(*columns)
                    .where(where)
                    .order_by(ticket_t.c.updated_at.desc(), ticket_t.c.id)
                    .limit(PAGE_SIZE + 1)
                )
                .mappings()
                .all()
            )
            inner = sa.select(ticket_t.c.id).where(where).limit(10_001).subquery()
            total = conn.execute(sa.select(sa.func.count()).select_from(inner)).scalar_one()
        return jsonify(
            items=[_item(r) for r in rows[:PAGE_SIZE]], page=1, page_size=PAGE_SIZE,
            total=total, total_exact=total <= 10_000, has_next=len(rows) > PAGE_SIZE,
        )  # fmt: skip

    return signed_in_client(app, engine, SLUG, user_id), "/api/ticket"


def compare(kind: str, tmp: Path, tickets: int, accounts: int, requests: int) -> dict[str, Any]:
    def run(url: str, portal: CompiledPortal, user_id: int) -> dict[str, Any]:
        ours, _ = portalis_client(url, tmp, user_id)
        base, base_path = baseline_client(url, portal, user_id)
        ours_body, base_body = first_body(ours, PATH), first_body(base, base_path)
        ours_json, base_json = json.loads(ours_body), json.loads(base_body)
        assert len(ours_json["items"]) == PAGE_SIZE, ours_json
        assert ours_json == base_json, "the two implementations answer differently"
        rates = compare_rates(
            lambda n: timings(ours, PATH, n, ours_body),
            lambda n: timings(base, base_path, n, base_body),
            requests,
        )
        return {"database": kind, "tickets": tickets, "accounts": accounts, **rates}

    return prepared(kind, tmp, tickets, accounts, run)


def main() -> None:
    compare_main(
        __doc__,
        "API ticket list, {tickets:,} tickets over {accounts} accounts, 25 records",
        compare,
    )


if __name__ == "__main__":
    main()
