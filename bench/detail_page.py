"""Benchmark: the ticket detail page — Portalis vs handwritten.

The same run serves the same page two ways from the same database:

* Portalis: `/acme-support/tickets/<id>` of the starter blueprint as a signed-in customer: the
  `detail` block (the readable fields, localized; the workflow's transitions for the actor,
  one allowed with its button, one with its comment form; the edit link, as the customer
  created the ticket), the conversation (`list` of the ticket's messages with their authors)
  and the message form, in the page layout (navigation, notification bell, user menu).
* Baseline: a handwritten Flask + SQLAlchemy + Jinja view of that page (session look-up, the
  user, the ticket through the account scope with its account and creator, the messages with
  their authors; the same transition rules and edit right written as `if`s; Babel-formatted
  dates and amount; Flask-WTF's CSRF token; one template compiled once).

The ticket is resolved two days ago with five messages, so both transitions (close, and reopen
with its required comment) and the conversation are shown. Both sides are driven through
Werkzeug's test client, interleaved, after warm-up; each answer must be a 200 showing the
subject and every message (the two pages differ in markup, not in content). Reported:
requests/s of both and the ratio (Portalis time per request / handwritten time per request).

    .venv/bin/python bench/detail_page.py              # 10,000 tickets, SQLite + PostgreSQL
    .venv/bin/python bench/detail_page.py --db sqlite --requests 900
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask import Flask, abort, session
from flask_wtf.csrf import generate_csrf
from harness import compare_rates, first_body, signed_in_client, timings
from list_page import SLUG, compare_main, portalis_client, prepared
from markupsafe import Markup

from portalis.engine.data.db import begin_write, create_engine
from portalis.engine.portal import CompiledPortal
from portalis.runtime.sessions import session_state

MESSAGES = 5
CHOICES = {
    "priority": {"low": "Low", "normal": "Normal", "high": "High", "urgent": "Urgent"},
    "status": {
        "open": "Open", "in_progress": "In progress", "resolved": "Resolved", "closed": "Closed",
    },
}  # fmt: skip

BASELINE_TEMPLATE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{{ t.subject }} · Ticket</title><link rel="stylesheet" href="/static/app.css"></head><body>
<header><nav><a href="/">Welcome</a> <a href="/tickets">Tickets</a> <a href="/tickets/new">New ticket</a></nav>
<a href="/profile">{{ user.name }}</a><form method="post" action="/logout"><input type="hidden" name="csrf_token" value="{{ csrf }}"><button>Sign out</button></form></header>
<main><h1>{{ t.subject }} · Ticket</h1>
<section class="detail"><div class="actions">
{%- if t.status == "resolved" %}<form method="post" action="/tickets/{{ t.id }}"><input type="hidden" name="csrf_token" value="{{ csrf }}">
<input type="hidden" name="name" value="close"><input type="hidden" name="version" value="{{ t.version }}"><button>Close</button></form>{% endif %}
{%- if t.status in ("resolved", "closed") %}{% if reopen %}<details><summary>Reopen…</summary><form method="post" action="/tickets/{{ t.id }}">
<input type="hidden" name="csrf_token" value="{{ csrf }}"><input type="hidden" name="name" value="reopen"><input type="hidden" name="version" value="{{ t.version }}">
<label for="reopen-comment">Comment *</label><textarea id="reopen-comment" name="comment" required></textarea><button>Reopen</button></form></details>
{%- else %}<button disabled>Reopen</button><p>Reopen: only within 14 days of the last change</p>{% endif %}{% endif %}
{%- if t.created_by == user.id %}<a href="/tickets/{{ t.id }}/edit">Edit</a>{% endif %}</div>
<dl>{% for label, value in fields %}<dt>{{ label }}</dt><dd>{{ value if value else "—" }}</dd>{% endfor %}</dl>
<p>Created by {{ t.creator }} on {{ fmt_dt(t.created_at) }}{% if t.version > 1 %} · last changed {{ fmt_dt(t.updated_at) }}{% endif %}</p></section>
<section><h2>Conversation</h2>{% if messages %}<table><thead><tr><th>Message</th><th>Created by</th><th>Created</th></tr></thead><tbody>
{% for m in messages %}<tr><td>{{ m.body }}</td><td>{{ m.author }}</td><td>{{ fmt_dt(m.created_at) }}</td></tr>{% endfor %}</tbody></table>
{%- else %}<p>Nothing here yet.</p>{% endif %}</section>
<section><form method="post" action="/tickets/{{ t.id }}"><input type="hidden" name="csrf_token" value="{{ csrf }}">
<label for="body">Message *</label><textarea id="body" name="body" rows="5" required maxlength="10000"></textarea><button>Send message</button></form></section>
</main></body></html>"""


# -- data ------------------------------------------------------------------------------
def the_ticket(url: str, portal: CompiledPortal, user_id: int) -> tuple[int, list[str]]:
    """One of the customer's tickets, resolved two days ago with `MESSAGES` messages (the
    customer's); its id and the texts both pages must show (subject, message bodies)."""
    engine = create_engine(url)
    ticket_t, message_t, user_t = (portal.tables[n] for n in ("ticket", "message", "user"))
    now = datetime.now(UTC)
    with begin_write(engine) as conn:
        account = conn.execute(sa.select(user_t.c.account).where(user_t.c.id == user_id)).scalar()
        ticket_id, subject = conn.execute(
            sa.select(ticket_t.c.id, ticket_t.c.subject)
            .where(ticket_t.c.account == account)
            .order_by(ticket_t.c.id)
            .limit(1)
        ).one()
        bodies = [f"Message {i}: the printer still jams" for i in range(MESSAGES)]
        conn.execute(
            message_t.insert(),
            [
                {"ticket": ticket_id, "body": body, "created_by": user_id, "version": 1,
                 "created_at": now - timedelta(days=3, minutes=-i),
                 "updated_at": now - timedelta(days=3, minutes=-i)}
                for i, body in enumerate(bodies)
            ],
        )  # fmt: skip
        conn.execute(
            ticket_t.update()
            .where(ticket_t.c.id == ticket_id)
            .values(status="resolved", resolution="Replaced the roller.", messages=MESSAGES,
                    updated_at=now - timedelta(days=2), version=3)
        )  # fmt: skip
    engine.dispose()
    return int(ticket_id), [subject, *bodies]


# -- the baseline ----------------------------------------------------------------------
def baseline_client(url: str, portal: CompiledPortal, user_id: int) -> tuple[Any, str]:
    """What a competent developer writes by hand for the same page."""
    engine = create_engine(url)
    ticket_t, account_t, user_t, message_t = (
        portal.tables[n] for n in ("ticket", "account", "user", "message")
    )
    creator, author = user_t.alias("creator"), user_t.alias("author")
    app = Flask("baseline")
    app.secret_key = "bench"
    template = app.jinja_env.from_string(BASELINE_TEMPLATE)

    def fmt_dt(value: datetime | None) -> str:
        return babel_dates.format_datetime(value, locale="en") if value else ""

    def badge(field: str, value: str | None) -> Markup | str:
        if value is None:
            return ""
        text = CHOICES[field].get(value, value)
        return Markup('<span class="badge badge-{}">{}</span>').format(value, text)

    @app.get("/tickets/<int:ticket_id>")
    def ticket(ticket_id: int) -> str:
        with engine.connect() as conn:
            found = session_state(conn, SLUG, session.get("sid", ""), idle_minutes=60)
            if found is None:
                abort(401)
            user = conn.execute(
                sa.select(user_t.c.id, user_t.c.name, user_t.c.account).where(
                    user_t.c.id == found[0]
                )
            ).one()
            t = conn.execute(
                sa.select(ticket_t, account_t.c.name.label("account_name"),
                          creator.c.name.label("creator"))
                .join(account_t, account_t.c.id == ticket_t.c.account)
                .outerjoin(creator, creator.c.id == ticket_t.c.created_by)
                .where(ticket_t.c.id == ticket_id, ticket_t.c.account == user.account)
            ).one_or_none()  # fmt: skip
            if t is None:
                abort(404)
            messages = conn.execute(
                sa.select(message_t.c.body, message_t.c.created_at, author.c.name.label("author"))
                .outerjoin(author, author.c.id == message_t.c.created_by)
                .where(message_t.c.ticket == ticket_id)
                .order_by(message_t.c.created_at, message_t.c.id)
            ).all()
        amount = (
            babel_numbers.format_currency(t.amount, t.amount_currency, locale="en")
            if t.amount is not None
            else ""
        )
        fields = [
            ("Subject", t.subject),
            ("Description", t.body),
            ("Priority", badge("priority", t.priority)),
            ("Tags", ", ".join(t.tags or ())),
            ("Account", t.account_name),
            ("Disputed amount", amount),
            ("Due date", babel_dates.format_date(t.due, locale="en") if t.due else ""),
            ("Attachment", t.attachment or ""),
            ("Status", badge("status", t.status)),
            ("Escalated", "Yes" if t.escalated else ""),
            ("Messages", t.messages or ""),
        ]
        if t.status in ("resolved", "closed"):
            fields.append(("Resolution", t.resolution))
        updated = t.updated_at if t.updated_at.tzinfo else t.updated_at.replace(tzinfo=UTC)
        return template.render(
            t=t, user=user, fields=fields, messages=messages, fmt_dt=fmt_dt, csrf=generate_csrf(),
            reopen=datetime.now(UTC) - updated <= timedelta(days=14),
        )  # fmt: skip

    return signed_in_client(app, engine, SLUG, user_id), "/tickets"


# -- measuring -------------------------------------------------------------------------
def shows(body: bytes, texts: list[str]) -> bool:
    """Whether a page shows every one of `texts`."""
    page = body.decode("utf-8")
    return all(text in page for text in texts)


def compare(kind: str, tmp: Path, tickets: int, accounts: int, requests: int) -> dict[str, Any]:
    def run(url: str, portal: CompiledPortal, user_id: int) -> dict[str, Any]:
        ticket_id, texts = the_ticket(url, portal, user_id)
        ours, list_path = portalis_client(url, tmp, user_id)
        base, base_root = baseline_client(url, portal, user_id)
        path, base_path = f"{list_path}/{ticket_id}", f"{base_root}/{ticket_id}"
        for client, where in ((ours, path), (base, base_path)):
            body = first_body(client, where)
            assert shows(body, texts), f"{where} does not show the ticket and its messages"
            assert b"Reopen" in body and b"Close" in body and b"/edit" in body, where
        rates = compare_rates(
            lambda n: timings(ours, path, n), lambda n: timings(base, base_path, n), requests
        )
        return {"database": kind, "tickets": tickets, "accounts": accounts, **rates}

    return prepared(kind, tmp, tickets, accounts, run)


def main() -> None:
    title = "ticket detail page, {tickets:,} tickets over {accounts} accounts, %d messages"
    compare_main(__doc__, title % MESSAGES, compare)


if __name__ == "__main__":
    main()
