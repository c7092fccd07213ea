"""The starter blueprint comes alive: SLA timer, resolve notification, weekly reminder.

Everything runs through the app's own worker handlers (`run_jobs(app)`), against the live
version the app serves, with mail delivered to a real SMTP server on loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.engine.data.system_tables import aware, jobs, notifications, schedules
from portalis.engine.flow import workflow
from portalis.testing.jobs import run_jobs
from portalis.testing.smtp import SmtpServer
from portalis.testing.web import WebPortal, app_state

AGENT = "sam@support.test"


@pytest.fixture
def web(database_url: str, tmp_path: Path, smtp_server: SmtpServer) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path / "instance")
    state = app_state(portal.app)
    # the app's settings with the loopback SMTP server: what `run_jobs(app)` delivers through
    object.__setattr__(state, "settings", replace(state.settings, smtp_url=smtp_server.url))
    yield portal
    portal.close()


def bell(web: WebPortal, email: str) -> list[str]:
    """Subjects of the in-app notifications of `email`."""
    uid = web.actor(email).id
    with web.engine.connect() as conn:
        rows = conn.execute(
            sa.select(notifications.c.subject)
            .where(notifications.c.portal == web.slug, notifications.c.user_id == uid)
            .order_by(notifications.c.id)
        )
        return [r.subject for r in rows]


def make_due(web: WebPortal, kind: str) -> int:
    """Move every pending job of `kind` to now (as if its time had come)."""
    past = datetime.now(UTC) - timedelta(seconds=1)
    with web.engine.begin() as conn:
        moved = conn.execute(
            jobs.update().where(jobs.c.kind == kind, jobs.c.status == "pending").values(run_at=past)
        )
        return int(moved.rowcount)


def test_sla_timer_escalates_an_urgent_ticket_nobody_started(web: WebPortal) -> None:
    store, ben = web.store, web.actor("ben@acme.test")
    urgent = store.insert(ben, "ticket", {"subject": "Checkout is down", "priority": "urgent"})
    normal = store.insert(ben, "ticket", {"subject": "A question", "priority": "low"})
    started = store.insert(ben, "ticket", {"subject": "Also down", "priority": "urgent"})
    workflow.transition(store, web.actor(AGENT), "ticket", started.id, "start")
    with web.engine.connect() as conn:
        timers = conn.execute(sa.select(jobs).where(jobs.c.kind == "timer")).mappings().all()
    assert len(timers) == 3  # one per ticket entering `open`
    for job in timers:
        wait = aware(job["run_at"]) - aware(job["created_at"])
        assert timedelta(hours=3, minutes=59) < wait <= timedelta(hours=4, seconds=5)
    assert run_jobs(web.app) == 0  # not due for four hours
    assert make_due(web, "timer") == 3
    # three timers fire; the escalation queues one mail to the agent, sent in the same drain
    assert run_jobs(web.app) == 4
    get = lambda rid: store.get(web.actor(AGENT), "ticket", rid)  # noqa: E731
    assert get(urgent.id)["escalated"] is True
    assert get(normal.id)["escalated"] is False  # `when` false: not urgent
    assert get(started.id)["escalated"] is False  # left `open` in time
    assert bell(web, AGENT) == ["Escalated: Checkout is down"]


def test_resolve_notifies_the_customer_in_their_language(
    web: WebPortal, smtp_server: SmtpServer
) -> None:
    store, sam = web.store, web.actor(AGENT)
    t1 = web.record_id("ticket", subject="Invoice 2026-114 is wrong")  # Anna's, locale de
    workflow.transition(store, sam, "ticket", t1, "start")
    workflow.transition(
        store, sam, "ticket", t1, "resolve", values={"resolution": "Line 3 was credited."}
    )
    assert run_jobs(web.app) >= 1
    mail = smtp_server.wait_for(to="anna@acme.test")
    assert mail.subject == "Gelöst: Invoice 2026-114 is wrong"
    assert mail.language == "de"
    body = mail.message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Sam Agent hat Ihr Ticket" in text and "Line 3 was credited." in text
    assert f"/{web.slug}/tickets/{t1}" in text
    assert bell(web, "anna@acme.test") == ["Gelöst: Invoice 2026-114 is wrong"]
    assert bell(web, AGENT) == []  # the agent acted; only the creator is notified


def test_weekly_reminder_runs_on_schedule_for_waiting_tickets(web: WebPortal) -> None:
    ticket = web.compiled.tables["ticket"]
    old = datetime.now(UTC) - timedelta(days=10)
    with web.engine.begin() as conn:  # t1 and t3 have waited ten days; t2 is recent
        conn.execute(
            ticket.update()
            .where(
                ticket.c.subject.in_(["Invoice 2026-114 is wrong", "Change of delivery address"])
            )
            .values(updated_at=old)
        )
    run_jobs(web.app)  # the first tick plans the next Monday 08:00 UTC
    with web.engine.connect() as conn:
        row = conn.execute(sa.select(schedules)).mappings().one()
    planned = aware(row["next_run_at"])
    assert row["automation"] == "weekly_reminder" and planned is not None
    assert planned.weekday() == 0 and (planned.hour, planned.minute) == (8, 0)
    assert bell(web, AGENT) == []
    with web.engine.begin() as conn:  # Monday has come
        conn.execute(
            schedules.update().values(next_run_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    run_jobs(web.app)
    assert sorted(bell(web, AGENT)) == [
        "Waiting for a week: Change of delivery address",
        "Waiting for a week: Invoice 2026-114 is wrong",
    ]
    run_jobs(web.app)  # the next run is a week away: nothing is sent twice
    assert len(bell(web, AGENT)) == 2


def test_call_reminder_is_mailed_the_day_before(web: WebPortal, smtp_server: SmtpServer) -> None:
    store, ben = web.store, web.actor("ben@acme.test")
    slot = web.record_id("support_slot", topic="Onboarding")
    booking = store.insert(ben, "support_booking", {"slot": slot})
    start = store.get(ben, "support_booking", booking.id)["starts_at"]
    with web.engine.connect() as conn:
        (job,) = conn.execute(sa.select(jobs).where(jobs.c.kind == "timer")).mappings().all()
    assert aware(job["run_at"]) == start - timedelta(hours=24)  # a day before the call
    assert run_jobs(web.app) == 0  # not due yet
    assert make_due(web, "timer") == 1
    run_jobs(web.app)
    mail = smtp_server.wait_for(to="ben@acme.test")
    assert mail.subject == "Your call with Acme Support is tomorrow"
    assert bell(web, "ben@acme.test") == ["Your call with Acme Support is tomorrow"]
