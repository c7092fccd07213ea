"""Workflow timers on SQLite and PostgreSQL: queued when a record enters a state, fired by the
worker only while the record is still in that same stay, as the system actor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from expense_flow import SLUG, World, expense_world

from portalis.engine.data import audit
from portalis.engine.data.db import begin_write
from portalis.engine.data.system_tables import aware, notifications
from portalis.engine.data.system_tables import jobs as jobs_table
from portalis.engine.deploy.validator import Checker
from portalis.engine.flow import timers, workflow
from portalis.engine.outbox import jobs
from portalis.engine.outbox.jobs import PermanentFailure
from portalis.engine.outbox.worker import Worker


@pytest.fixture
def world(db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path) -> World:
    return expense_world(db_engine, portalis_checker, tmp_path / "expenses")


def timer_jobs(world: World, name: str | None = None) -> list[dict[str, Any]]:
    return [j for j in world.jobs("timer") if name is None or j["payload"]["timer"] == name]


def marker(world: World, expense: int) -> int | None:
    with world.engine.connect() as conn:
        return audit.entry_marker(conn, portal=SLUG, entity="expense", record_id=expense)


def approve(world: World, expense: int) -> None:
    workflow.transition(world.store, world.mia, "expense", expense, "approve")
    workflow.transition(world.store, world.max, "expense", expense, "approve")


def make_due(world: World) -> None:
    """Move every pending timer into the past (instead of waiting 48 hours)."""
    past = datetime.now(UTC) - timedelta(seconds=1)
    with begin_write(world.engine) as conn:
        conn.execute(
            jobs_table.update()
            .where(jobs_table.c.kind == "timer", jobs_table.c.status == "pending")
            .values(run_at=past)
        )


def test_timer_queued_on_entry_with_run_at(world: World) -> None:
    start = datetime.now(UTC)
    expense = world.expense()
    (job,) = timer_jobs(world)
    run_at = aware(job["run_at"])
    assert run_at is not None
    assert start + timedelta(hours=48) <= run_at <= datetime.now(UTC) + timedelta(hours=48)
    assert job["portal"] == SLUG and job["status"] == "pending"
    assert job["payload"] == {
        "portal": SLUG,
        "workflow": "expense_flow",
        "timer": "submitted_48h",
        "entity": "expense",
        "record_id": expense,
        "state": "submitted",
        "marker": marker(world, expense),
    }
    # entering `approved` queues both of its timers; an approval short of the quorum none
    workflow.transition(world.store, world.mia, "expense", expense, "approve")
    assert len(timer_jobs(world)) == 1
    workflow.transition(world.store, world.max, "expense", expense, "approve")
    (remind,) = timer_jobs(world, "remind")
    (autopay,) = timer_jobs(world, "autopay")
    entered = marker(world, expense)
    assert remind["payload"]["marker"] == autopay["payload"]["marker"] == entered
    remind_at, autopay_at = aware(remind["run_at"]), aware(autopay["run_at"])
    assert remind_at is not None and autopay_at is not None
    assert autopay_at - remind_at == timedelta(days=29)
    # a plain edit enters no state: nothing more is queued
    world.store.update(world.mia, "expense", expense, {"title": "Lunch"})
    assert len(timer_jobs(world)) == 3


def test_worker_fires_the_timer_and_moves_the_record(world: World) -> None:
    expense = world.expense()
    make_due(world)
    handler = timers.timer_handler(lambda slug: world.store if slug == SLUG else None)
    assert Worker(world.engine, {"timer": handler}, poll_seconds=0).drain() == 1
    after = world.raw(expense)
    assert after["status"] == "escalated"
    entry = world.history(expense)[0]
    assert entry.action == "transition" and entry.actor_id is None
    assert entry.detail["via"] == "timer:expense_flow/submitted_48h"
    assert entry.detail["from"] == "submitted" and entry.detail["to"] == "escalated"
    (job,) = timer_jobs(world)
    assert job["status"] == "done"


def test_timer_of_a_portal_no_longer_live_is_a_no_op(world: World) -> None:
    expense = world.expense()
    make_due(world)
    handler = timers.timer_handler(lambda slug: None)
    assert Worker(world.engine, {"timer": handler}, poll_seconds=0).drain() == 1
    assert world.raw(expense)["status"] == "submitted"
    assert timer_jobs(world)[0]["status"] == "done"


def test_record_that_left_the_state_is_not_moved(world: World) -> None:
    expense = world.expense()
    (job,) = timer_jobs(world)
    workflow.transition(world.store, world.mia, "expense", expense, "reject", comment="No")
    assert timers.fire(world.store, job["payload"]) == "skipped: the record left the state"
    assert world.raw(expense)["status"] == "rejected"


def test_record_that_left_and_came_back_is_not_moved_by_the_old_timer(world: World) -> None:
    expense = world.expense()
    workflow.transition(world.store, world.mia, "expense", expense, "reject", comment="No")
    workflow.transition(world.store, world.eve, "expense", expense, "resubmit")
    old, new = timer_jobs(world)
    assert old["payload"]["marker"] < new["payload"]["marker"] == marker(world, expense)
    assert old["key"] != new["key"]
    assert timers.fire(world.store, old["payload"]) == (
        "skipped: the record left the state and came back"
    )
    assert world.raw(expense)["status"] == "submitted"
    assert timers.fire(world.store, new["payload"]) == "took escalate"
    assert world.raw(expense)["status"] == "escalated"
    # at least once: the same job again finds the record gone from the state
    assert timers.fire(world.store, new["payload"]) == "skipped: the record left the state"
    assert world.raw(expense)["version"] == 4


def test_when_false_does_nothing(world: World) -> None:
    expense = world.expense(amount=60)  # remind only above 100
    approve(world, expense)
    world.store.update(world.mia, "expense", expense, {"handler": world.ada.id})
    before = world.snapshot()
    (remind,) = timer_jobs(world, "remind")
    assert timers.fire(world.store, remind["payload"]) == "skipped: condition false"
    assert world.snapshot() == before and world.raw(expense)["reminded"] is None


def test_actions_timer_sets_and_notifies(world: World) -> None:
    expense = world.expense(amount=240)
    approve(world, expense)
    world.store.update(world.mia, "expense", expense, {"handler": world.ada.id})
    (remind,) = timer_jobs(world, "remind")
    assert timers.fire(world.store, remind["payload"]) == "ran its actions"
    after = world.raw(expense)
    assert after["reminded"] is True and after["status"] == "approved"
    entry = world.history(expense)[0]
    assert entry.action == "update" and entry.actor_id is None
    assert entry.detail["via"] == "timer:expense_flow/remind"
    assert entry.changes == {"reminded": [None, True]}
    assert world.count(notifications, notifications.c.user_id == world.ada.id) == 1
    mails = [j for j in world.jobs("mail") if j["payload"]["to"] == "ada@example.test"]
    assert len(mails) == 1 and "Waiting for payment" in mails[0]["payload"]["subject"]


def test_system_needs_no_role_but_when_and_require_hold(world: World) -> None:
    # autopay takes `pay`: accountants only, the assignee only, amount < 10000, paid_on set
    big = world.expense(amount=20_000)
    approve(world, big)
    (job,) = timer_jobs(world, "autopay")
    outcome = timers.fire(world.store, job["payload"])
    assert outcome == "skipped: when-condition false: record['amount'] < 10000"
    small = world.expense(amount=50)
    approve(world, small)
    job = timer_jobs(world, "autopay")[-1]
    before = world.snapshot()
    with pytest.raises(PermanentFailure, match="paid_on"):
        timers.fire(world.store, job["payload"])
    assert world.snapshot() == before and world.raw(small)["status"] == "approved"
    world.store.update(world.ada, "expense", small, {"paid_on": "2026-04-01"})
    assert timers.fire(world.store, job["payload"]) == "took pay"
    assert world.raw(small)["status"] == "paid"  # no role, no assignee: the system may


def test_malformed_or_outdated_jobs(world: World) -> None:
    expense = world.expense()
    (job,) = timer_jobs(world)
    with pytest.raises(PermanentFailure):
        timers.fire(world.store, {"workflow": "expense_flow"})
    payload = dict(job["payload"])
    assert timers.fire(world.store, {**payload, "timer": "gone"}).startswith("skipped")
    assert timers.fire(world.store, {**payload, "state": "approved"}).startswith("skipped")
    assert timers.fire(world.store, {**payload, "record_id": expense + 99}) == (
        "skipped: the record no longer exists"
    )
    assert world.raw(expense)["status"] == "submitted"
    with pytest.raises(PermanentFailure):
        timers.timer_handler(lambda slug: world.store)(
            jobs.Job(
                id=0,
                portal=None,
                kind="timer",
                payload={},
                status="running",
                run_at=datetime.now(UTC),
                attempts=1,
                max_attempts=8,
                last_error=None,
                key=None,
                created_at=datetime.now(UTC),
                finished_at=None,
            )  # fmt: skip
        )


def test_long_keys_are_hashed() -> None:
    key = timers.job_key("p" * 40, "w" * 40, "t" * 40, "e" * 40, 10**12, 10**12)
    assert len(key) <= 200 and key.startswith("timer:")
    assert key == timers.job_key("p" * 40, "w" * 40, "t" * 40, "e" * 40, 10**12, 10**12)
