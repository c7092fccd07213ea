"""Benchmark: the tickets list page (25 rows, 6 columns, one account) — Portalis vs handwritten.

The same run serves the same page two ways from the same database:

* Portalis: `/acme-support/tickets` of the starter blueprint, as a signed-in customer (session
  check, permission-filtered query, bounded count, ref titles, cached template, i18n).
* Baseline: a handwritten Flask + SQLAlchemy + Jinja view of that page (session look-up, the
  scoped query, a bounded count, account titles, Babel-formatted dates, one Jinja template).

Both are driven through Werkzeug's test client (no network noise), sequentially, after warm-up.
Reported: requests/s of both and the ratio (target ≤ 1.10×), and with `--latency` the p50/p95
of the Portalis page over a large table (default 1,000,000 tickets; target p50 < 50 ms).

    .venv/bin/python bench/list_page.py                      # 10,000 tickets, SQLite + PostgreSQL
    .venv/bin/python bench/list_page.py --latency --latency-tickets 1000000
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from babel import dates as babel_dates
from flask import Flask, abort, render_template_string, session
from harness import (
    add_database_argument,
    compare_rates,
    database,
    database_kinds,
    first_body,
    percentile,
    rate_line,
    signed_in_client,
    timings,
)

from portalis.engine.data.db import begin_write, create_engine
from portalis.engine.deploy.validator import Checker
from portalis.engine.plugins import make_plugin_manager
from portalis.engine.portal import CompiledPortal
from portalis.runtime.app import create_app
from portalis.runtime.sessions import open_session, session_state
from portalis.runtime.settings import Settings
from portalis.testing.portals import BLUEPRINTS, deploy_dir, migrate_db

SLUG = "acme-support"


# -- data ------------------------------------------------------------------------------
def populate(engine: sa.Engine, portal: CompiledPortal, tickets: int, accounts: int) -> int:
    """Accounts, one customer in account 1, and `tickets` tickets spread over the accounts."""
    account_t, user_t, ticket_t = (portal.tables[n] for n in ("account", "user", "ticket"))
    now = datetime.now(UTC)
    rng = random.Random(42)
    with begin_write(engine) as conn:
        conn.execute(
            account_t.insert(),
            [
                {"name": f"Account {i:03d}", "created_at": now, "updated_at": now, "version": 1}
                for i in range(accounts)
            ],
        )
        account_ids = [
            r[0] for r in conn.execute(sa.select(account_t.c.id).order_by(account_t.c.id))
        ]
        user_id = conn.execute(
            user_t.insert().values(
                email="bench@acme.test",
                name="Bench",
                account=account_ids[0],
                roles=["customer"],
                is_active=True,
                created_at=now,
                updated_at=now,
                version=1,
            )  # fmt: skip
        ).inserted_primary_key[0]
        batch: list[dict[str, Any]] = []
        for i in range(tickets):
            stamp = now - timedelta(minutes=rng.randrange(0, 500_000))
            batch.append(
                {
                    "subject": f"Ticket {i}: printer {rng.choice(['jams', 'smokes', 'sings'])}",
                    "priority": rng.choice(["low", "normal", "high", "urgent"]),
                    "status": rng.choice(["open", "in_progress", "resolved", "closed"]),
                    "account": account_ids[i % accounts],
                    "due": (stamp + timedelta(days=30)).date(),
                    "created_at": stamp,
                    "updated_at": stamp,
                    "version": 1,
                    "created_by": user_id,
                }  # fmt: skip
            )
            if len(batch) == 20_000:
                conn.execute(ticket_t.insert(), batch)
                batch.clear()
        if batch:
            conn.execute(ticket_t.insert(), batch)
    return int(user_id)


# -- the two apps ----------------------------------------------------------------------
def portalis_client(url: str, instance: Path, user_id: int) -> Any:
    settings = Settings.from_env(
        {
            "PORTALIS_DATABASE_URL": url,
            "PORTALIS_INSTANCE_PATH": str(instance),
            "PORTALIS_WORKER": "off",  # measure the page, not a polling worker thread
        },
        testing=False,
        loopback_hosts=True,  # the test client asks for Host: localhost
    )
    migrate_db(url)  # as `portalis deploy` does: apps create no tables
    app = create_app(settings)
    client = app.test_client()
    with app.app_context(), create_engine(url).begin() as conn:
        secret = open_session(conn, SLUG, user_id, absolute_hours=12)
    with client.session_transaction() as sess:
        sess["_user_id"] = f"{SLUG}|{secret}"
        sess["_fresh"] = True
    return client, f"/{SLUG}/tickets"


BASELINE_TEMPLATE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Tickets</title><link rel="stylesheet" href="/static/app.css"></head><body>
<header><nav><a href="/">Home</a> <a href="/tickets">Tickets</a></nav></header>
<main><h1>Tickets</h1><form method="get"><input type="search" name="q" value="{{ q }}">
<select name="status"><option value="">Status</option>{% for s in statuses %}<option>{{ s }}</option>{% endfor %}</select>
<button>Filter</button></form>
<table><thead><tr><th>Subject</th><th>Priority</th><th>Status</th><th>Account</th><th>Due</th><th>Updated</th></tr></thead><tbody>
{% for t in rows %}<tr><td><a href="/tickets/{{ t.id }}">{{ t.subject }}</a></td><td><span class="badge">{{ t.priority }}</span></td>
<td><span class="badge">{{ t.status }}</span></td><td>{{ accounts.get(t.account, '') }}</td><td>{{ fmt_date(t.due) }}</td><td>{{ fmt_dt(t.updated_at) }}</td></tr>
{% endfor %}</tbody></table><p>{{ total }} tickets</p></main></body></html>"""


def baseline_client(url: str, portal: CompiledPortal, user_id: int) -> Any:
    """What a competent developer writes by hand for the same page."""
    engine = create_engine(url)
    ticket_t, account_t, user_t = (portal.tables[n] for n in ("ticket", "account", "user"))
    app = Flask("baseline")
    app.secret_key = "bench"
    app.jinja_env.auto_reload = False

    @app.get("/tickets")
    def tickets() -> str:
        with engine.connect() as conn:
            found = session_state(conn, SLUG, session.get("sid", ""), idle_minutes=60)
            if found is None:
                abort(401)
            uid = found[0]
            user = conn.execute(
                sa.select(user_t.c.id, user_t.c.account).where(user_t.c.id == uid)
            ).one()
            where = ticket_t.c.account == user.account
            rows = conn.execute(
                sa.select(ticket_t.c.id, ticket_t.c.subject, ticket_t.c.priority, ticket_t.c.status,
                          ticket_t.c.account, ticket_t.c.due, ticket_t.c.updated_at)
                .where(where).order_by(ticket_t.c.updated_at.desc(), ticket_t.c.id).limit(26)
            ).all()  # fmt: skip
            inner = sa.select(ticket_t.c.id).where(where).limit(10_001).subquery()
            total = conn.execute(sa.select(sa.func.count()).select_from(inner)).scalar_one()
            ids = {r.account for r in rows}
            accounts = dict(
                conn.execute(
                    sa.select(account_t.c.id, account_t.c.name).where(account_t.c.id.in_(ids))
                ).all()
            )
        return render_template_string(
            BASELINE_TEMPLATE, rows=rows[:25], total=total, accounts=accounts, q="",
            statuses=["open", "in_progress", "resolved", "closed"],
            fmt_date=lambda d: babel_dates.format_date(d, locale="en") if d else "",
            fmt_dt=lambda d: babel_dates.format_datetime(d, locale="en") if d else "",
        )  # fmt: skip

    return signed_in_client(app, engine, SLUG, user_id), "/tickets"


# -- measuring -------------------------------------------------------------------------
def warm_timings(client: Any, path: str, requests: int) -> list[float]:
    """Seconds per request after a warm-up of its own (each round warms up again)."""
    first_body(client, path)
    return timings(client, path, requests)


def prepared(
    kind: str,
    tmp: Path,
    tickets: int,
    accounts: int,
    run: Callable[[str, CompiledPortal, int], dict[str, Any]],
) -> dict[str, Any]:
    checker = Checker(make_plugin_manager(load_entrypoints=False))
    with database(kind, tmp) as url:
        engine = create_engine(url)
        portal = deploy_dir(engine, checker, BLUEPRINTS / "b2c", seed=False)
        user_id = populate(engine, portal, tickets, accounts)
        engine.dispose()
        return run(url, portal, user_id)


def compare(kind: str, tmp: Path, tickets: int, accounts: int, requests: int) -> dict[str, Any]:
    def run(url: str, portal: CompiledPortal, user_id: int) -> dict[str, Any]:
        ours, base = portalis_client(url, tmp, user_id), baseline_client(url, portal, user_id)
        rates = compare_rates(
            lambda n: warm_timings(*ours, n), lambda n: warm_timings(*base, n), requests
        )
        return {"database": kind, "tickets": tickets, "accounts": accounts, **rates}

    return prepared(kind, tmp, tickets, accounts, run)


def latency(kind: str, tmp: Path, tickets: int, accounts: int, requests: int) -> dict[str, Any]:
    def run(url: str, portal: CompiledPortal, user_id: int) -> dict[str, Any]:
        samples = warm_timings(*portalis_client(url, tmp, user_id), requests)
        return {
            "database": kind, "tickets": tickets, "accounts": accounts,
            "p50_ms": round(percentile(samples, 50), 2), "p95_ms": round(percentile(samples, 95), 2),
        }  # fmt: skip

    return prepared(kind, tmp, tickets, accounts, run)


def ticket_arguments(doc: str | None) -> argparse.ArgumentParser:
    """The command line of a ticket benchmark: --tickets, --accounts, --requests and --db."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--requests", type=int, default=600)
    add_database_argument(parser)
    return parser


#: A benchmark's comparison on one database: (kind, tmp, tickets, accounts, requests) → result.
Compare = Callable[[str, Path, int, int, int], dict[str, Any]]


def compare_main(doc: str | None, title: str, compare: Compare) -> None:
    """The command line of a ticket comparison: `compare` on each database `--db` names, then
    `title` (formatted with the arguments) and a rate line per database, or the JSON."""
    parser = ticket_arguments(doc)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    kinds = database_kinds(args.db)
    with tempfile.TemporaryDirectory() as tmp:
        results = [
            compare(kind, Path(tmp), args.tickets, args.accounts, args.requests) for kind in kinds
        ]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(title.format(tickets=args.tickets, accounts=args.accounts))
    for r in results:
        print(rate_line(r))


def main() -> None:
    parser = ticket_arguments(__doc__)
    parser.add_argument(
        "--latency", action="store_true", help="also measure p50/p95 on a large table"
    )
    parser.add_argument("--latency-tickets", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    kinds = database_kinds(args.db)
    results: dict[str, list[dict[str, Any]]] = {"compare": [], "latency": []}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            results["compare"].append(
                compare(kind, Path(tmp), args.tickets, args.accounts, args.requests)
            )
            if args.latency:
                results["latency"].append(
                    latency(kind, Path(tmp), args.latency_tickets, args.accounts, 200)
                )
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"tickets list page, {args.tickets:,} tickets over {args.accounts} accounts, 25 rows x 6 columns"
    )
    for r in results["compare"]:
        print(rate_line(r) + " (target <= 1.10x)")
    for r in results["latency"]:
        print(
            f"  {r['database']:<10} {r['tickets']:,} tickets: p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms (target p50 < 50 ms)"
        )


if __name__ == "__main__":
    main()
