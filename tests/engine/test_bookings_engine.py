"""Bookings of the reference calendar example on SQLite and PostgreSQL: the last place of a slot
under concurrency (R7), a cancel that frees a place, the cancel deadline as a transition guard,
and the reminder timer `before: 24h, of: starts_at` queued, moved and fired."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from portalis.engine.data.errors import NON_FIELD, ValidationFailed
from portalis.engine.data.permissions import Actor
from portalis.engine.data.store import RecordStore
from portalis.engine.data.system_tables import aware, notifications
from portalis.engine.data.system_tables import jobs as jobs_table
from portalis.engine.deploy.validator import Checker
from portalis.engine.docs.examples.bookings import CALENDAR
from portalis.engine.flow import timers, workflow
from portalis.engine.flow.workflow import TransitionUnavailable
from portalis.testing.portals import actor_for, deploy_text

THREADS = 20
PORTAL = (
    """\
format: portalis/v1
portal: calls
title: Calls
locales: [en, de]
roles:
  customer: {label: Customer}
  agent: {label: Agent, staff: true}
seed: [seed.yaml]
"""
    + CALENDAR.yaml
)
SEED = """\
users:
  - {email: sam@calls.test, name: Sam Agent, roles: [agent]}
  - {email: cleo@calls.test, name: Cleo Customer, roles: [customer]}
  - {email: carl@calls.test, name: Carl Customer, roles: [customer]}
"""


class World:
    def __init__(self, engine: sa.Engine, checker: Checker, folder: Path) -> None:
        self.engine = engine
        self.portal = deploy_text(engine, checker, folder, PORTAL, SEED)
        self.store: RecordStore = self.portal.store(engine)
        self.sam = actor_for(engine, self.portal, "sam@calls.test")
        self.cleo = actor_for(engine, self.portal, "cleo@calls.test")
        self.carl = actor_for(engine, self.portal, "carl@calls.test")

    def slot(self, starts_in: timedelta, capacity: int = 1) -> int:
        start = datetime.now(UTC).replace(microsecond=0) + starts_in
        values = {"topic": "Billing", "starts_at": start, "ends_at": start + timedelta(minutes=30),
                  "capacity": capacity}  # fmt: skip
        return self.store.insert(self.sam, "call_slot", values).id

    def book(self, actor: Actor, slot: int) -> int:
        return self.store.insert(actor, "call_booking", {"slot": slot}).id

    def timer_jobs(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(jobs_table).where(jobs_table.c.kind == "timer"))
            return [dict(r) for r in rows.mappings()]


@pytest.fixture
def world(db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path) -> World:
    return World(db_engine, portalis_checker, tmp_path / "calls")


def test_r7_twenty_threads_book_the_last_places(world: World) -> None:
    slot = world.slot(timedelta(days=3), capacity=3)
    world.book(world.carl, slot)
    start = threading.Barrier(THREADS)

    def claim(_: int) -> Any:
        start.wait(timeout=30)
        try:
            return world.book(world.cleo, slot)
        except ValidationFailed as exc:
            return exc

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(claim, range(THREADS)))
    refused = [r for r in results if isinstance(r, ValidationFailed)]
    assert len(results) - len(refused) == 2  # capacity 3, one place taken before
    for exc in refused:
        (message,) = exc.errors[NON_FIELD]
        assert message.message == "This slot is fully booked"
    assert world.store.get(world.sam, "call_slot", slot)["booked"] == 3


def test_cancel_frees_a_place_and_a_late_cancel_is_refused(world: World) -> None:
    slot = world.slot(timedelta(days=3))
    first = world.book(world.cleo, slot)
    with pytest.raises(ValidationFailed):
        world.book(world.carl, slot)
    workflow.transition(world.store, world.cleo, "call_booking", first, "cancel")
    assert world.store.get(world.sam, "call_slot", slot)["booked"] == 0
    world.book(world.carl, slot)  # the freed place
    soon = world.slot(timedelta(hours=20))
    late = world.book(world.cleo, soon)
    with pytest.raises(TransitionUnavailable):
        workflow.transition(world.store, world.cleo, "call_booking", late, "cancel")
    assert world.store.get(world.cleo, "call_booking", late)["status"] == "booked"


def test_reminder_is_due_a_day_before_the_start(world: World) -> None:
    slot = world.slot(timedelta(days=3))
    booking = world.book(world.cleo, slot)
    start = world.store.get(world.sam, "call_slot", slot)["starts_at"]
    (job,) = world.timer_jobs()
    assert aware(job["run_at"]) == start - timedelta(hours=24)
    assert job["payload"]["timer"] == "remind" and job["payload"]["record_id"] == booking
    assert job["payload"]["moment"] == start.astimezone(UTC).isoformat()
    # a call less than a day ahead gets no "tomorrow" reminder
    world.book(world.cleo, world.slot(timedelta(hours=5)))
    assert len(world.timer_jobs()) == 1


def test_reminder_fires_once_and_follows_a_moved_date(world: World) -> None:
    slot = world.slot(timedelta(days=3))
    booking = world.book(world.cleo, slot)
    (old,) = world.timer_jobs()
    # the booking's copy of the start moves (its computed field is refreshed by an update)
    later = world.store.get(world.sam, "call_slot", slot)["starts_at"] + timedelta(days=1)
    world.store.update(world.sam, "call_slot", slot, {"starts_at": later,
                       "ends_at": later + timedelta(minutes=30)})  # fmt: skip
    world.store.update(Actor.system(), "call_booking", booking, {})  # a refresh, as a job would
    jobs = world.timer_jobs()
    assert len(jobs) == 2
    new = next(j for j in jobs if j["id"] != old["id"])
    assert aware(new["run_at"]) == later - timedelta(hours=24)
    assert timers.fire(world.store, old["payload"]).startswith("skipped: the date moved")
    assert timers.fire(world.store, new["payload"]) == "ran its actions"
    with world.engine.connect() as conn:
        sent = conn.execute(sa.select(notifications)).mappings().all()
    assert [n["kind"] for n in sent] == ["call_tomorrow"]
    assert sent[0]["user_id"] == world.cleo.id and sent[0]["subject"] == "Your call is tomorrow"
