"""The cron scheduler on SQLite and PostgreSQL: cron arithmetic in UTC, one schedule row per
scheduled automation kept in step with the definition, exactly one job per due slot however
many workers tick at once, missed runs collapsed into one, and runs that act on the matching
records only, at most `limit`, all or nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from portalis.engine.data.db import begin_write, create_engine
from portalis.engine.data.store import RecordStore
from portalis.engine.data.system_tables import audit as audit_table
from portalis.engine.data.system_tables import jobs as jobs_table
from portalis.engine.data.system_tables import notifications, schedules
from portalis.engine.definition.values import frozen_map
from portalis.engine.deploy.validator import Checker
from portalis.engine.flow.scheduler import (
    JOB_KIND,
    CronError,
    automation_handler,
    check_cron,
    cron_next,
    schedule_tick,
)
from portalis.engine.outbox import jobs
from portalis.engine.outbox.jobs import Job, PermanentFailure
from portalis.engine.outbox.webhooks import handle_webhook
from portalis.engine.outbox.worker import Worker
from portalis.engine.portal import CompiledPortal
from portalis.testing.portals import actor_for, deploy_text
from portalis.testing.webhooks import LOOPBACK_POLICY, webhook_receiver

SLUG = "auto-sched"
HOOK = "http://127.0.0.1:9/hook"
#: A Monday, 10:00 UTC.
T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)

DEFINITION = """
format: portalis/v1
portal: auto-sched
title: Schedules
locales: [en]
roles:
  customer: {}
  agent: {staff: true}
entities:
  ticket:
    title_field: subject
    fields:
      subject: {type: string, required: true, max_length: 200}
      priority: {type: choice, options: [low, normal, urgent], default: normal}
      hits: {type: int, readonly: true}
    permissions:
      - {roles: [agent], actions: [read, create, update], scope: all}
notifications:
  digest:
    subject: "Weekly digest"
    body: "Hello {{ recipient.name }}, here is {{ portal.title }}."
seed: [seed.yaml]
automations:
"""

SEED = """
users:
  - {email: sam@support.test, name: Sam Agent, password: "correct horse 43", roles: [agent]}
"""

NIGHTLY = f"""\
nightly:
  entity: ticket
  on: {{schedule: "0 3 * * *"}}
  when: "record['priority'] != 'low' and not record['hits']"
  limit: 2
  actions:
    - set: {{hits: 1}}
    - webhook: {{url: "{HOOK}"}}
weekly:
  entity: ticket
  on: {{schedule: "0 8 * * 1"}}
  actions: [{{webhook: {{url: "{HOOK}"}}}}]"""


@dataclass
class World:
    engine: sa.Engine
    portal: CompiledPortal
    store: RecordStore

    def live(self) -> dict[str, CompiledPortal]:
        return {SLUG: self.portal}

    def tick(self, now: datetime, engine: sa.Engine | None = None) -> int:
        return schedule_tick(engine or self.engine, self.live, now=now)

    def schedule(self) -> dict[str, tuple[str, datetime, datetime | None]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(schedules).where(schedules.c.portal == SLUG))
            return {
                r.automation: (
                    r.cron,
                    utc(r.next_run_at),
                    utc(r.last_run_at) if r.last_run_at else None,
                )
                for r in rows
            }

    def jobs(self, kind: str = JOB_KIND) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(jobs_table).where(jobs_table.c.kind == kind).order_by(jobs_table.c.id)
            )
            return [dict(r) for r in rows.mappings()]

    def ticket(self, subject: str, priority: str = "normal") -> int:
        sam = actor_for(self.engine, self.portal, "sam@support.test")
        return self.store.insert(sam, "ticket", {"subject": subject, "priority": priority}).id

    def hits(self) -> dict[str, Any]:
        table = self.portal.tables["ticket"]
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.select(table.c.subject, table.c.hits)).all())

    def run_automation_jobs(
        self, stores: Callable[[str], RecordStore | None] | None = None
    ) -> list[str]:
        """Claim and run the due `automation` jobs with the real handler; their outcomes."""
        handler = automation_handler(stores or (lambda slug: self.store if slug == SLUG else None))
        outcomes = []
        for job in jobs.claim(self.engine, "test", lease_seconds=60, kinds={JOB_KIND}):
            try:
                handler(job)
            except PermanentFailure as exc:
                jobs.fail(self.engine, job, "test", str(exc), permanent=True)
                outcomes.append(f"dead: {exc}")
            else:
                jobs.complete(self.engine, job, "test")
                outcomes.append("done")
        return outcomes


def utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def build(engine: sa.Engine, checker: Checker, tmp_path: Path, automations: str = NIGHTLY) -> World:
    """Deploy the definition with `automations` (YAML of the section's body)."""
    body = "".join(f"  {line}\n" for line in automations.split("\n"))
    portal = deploy_text(engine, checker, tmp_path / "portal", DEFINITION + body, SEED)
    return World(engine, portal, portal.store(engine))


#: Deploys the definition with these automations; see `build`.
Deploy = Callable[[str], World]


@pytest.fixture
def deploy(db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path) -> Deploy:
    """Deploys the definition with the given automations (once per test)."""
    return partial(build, db_engine, portalis_checker, tmp_path)


@pytest.fixture
def world(deploy: Deploy) -> World:
    return deploy(NIGHTLY)


def with_automations(world: World, **changes: Any) -> CompiledPortal:
    """The portal with some automations replaced (a value None removes one)."""
    current = dict(world.portal.model.automations)
    for name, automation in changes.items():
        if automation is None:
            current.pop(name)
        else:
            current[name] = automation
    model = replace(world.portal.model, automations=frozen_map(current))
    return replace(world.portal, model=model)


# -- cron arithmetic ------------------------------------------------------------------------------
def test_cron_next_is_the_next_matching_time_in_utc() -> None:
    monday_8 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    assert cron_next("0 8 * * 1", monday_8) == datetime(
        2026, 1, 12, 8, 0, tzinfo=UTC
    )  # strictly after
    assert cron_next("0 8 * * 1", monday_8 - timedelta(seconds=1)) == monday_8
    assert cron_next("*/15 9-17 * * mon-fri", datetime(2026, 1, 3, tzinfo=UTC)) == datetime(
        2026, 1, 5, 9, 0, tzinfo=UTC
    )
    # a naive time is UTC; another zone is converted first: 08:30+02:00 is 06:30 UTC
    assert cron_next("0 8 * * *", datetime(2026, 1, 5, 7, 0)) == monday_8
    local = datetime(2026, 1, 5, 8, 30, tzinfo=timezone(timedelta(hours=2)))
    found = cron_next("0 8 * * *", local)
    assert found == monday_8 and found.tzinfo == UTC
    assert cron_next("0 0 29 2 *", T0) == datetime(2028, 2, 29, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cron", "why"),
    [
        ("0 8 * *", "five fields"),
        ("0 0 8 * * 1", "five fields"),
        ("61 * * * *", "not a valid schedule"),
        ("0 0 30 2 *", "not a valid schedule"),
        ("every monday", "five fields"),
    ],
)
def test_cron_texts_that_are_refused(cron: str, why: str) -> None:
    with pytest.raises(CronError, match=why):
        cron_next(cron, T0)
    assert why in (check_cron(cron) or "")


def test_check_cron_accepts_valid_schedules() -> None:
    for cron in ("0 8 * * 1", "*/5 * * * *", "0 3 1 jan,jul *", "30 2 * * sun"):
        assert check_cron(cron) is None


# -- rows -----------------------------------------------------------------------------------------
def test_tick_keeps_one_row_per_scheduled_automation(world: World) -> None:
    assert world.tick(T0) == 0
    expected = {
        "nightly": ("0 3 * * *", datetime(2026, 1, 6, 3, 0, tzinfo=UTC), None),
        "weekly": ("0 8 * * 1", datetime(2026, 1, 12, 8, 0, tzinfo=UTC), None),
    }
    assert world.schedule() == expected
    assert world.tick(T0 + timedelta(hours=1)) == 0  # nothing due, nothing changes
    assert world.schedule() == expected and world.jobs() == []


def test_changed_cron_moves_the_row_and_removed_automations_lose_theirs(world: World) -> None:
    world.tick(T0)
    model = world.portal.model
    nightly = replace(model.automations["nightly"], cron="30 4 * * *")
    world.portal = with_automations(world, nightly=nightly)
    world.tick(T0 + timedelta(hours=1))
    assert world.schedule()["nightly"][:2] == (
        "30 4 * * *",
        datetime(2026, 1, 6, 4, 30, tzinfo=UTC),
    )
    world.portal = with_automations(world, weekly=None, nightly=replace(nightly, enabled=False))
    world.tick(T0 + timedelta(hours=2))
    assert world.schedule() == {}
    world.portal = with_automations(world, nightly=nightly)  # enabled again: from now on
    world.tick(T0 + timedelta(days=3))
    assert world.schedule()["nightly"][1] == datetime(2026, 1, 9, 4, 30, tzinfo=UTC)
    assert world.jobs() == []


def test_tick_leaves_portals_that_are_not_live_alone(world: World) -> None:
    world.tick(T0)
    assert schedule_tick(world.engine, dict, now=T0 + timedelta(days=30)) == 0
    assert set(world.schedule()) == {"nightly", "weekly"} and world.jobs() == []


def test_odd_schedule_is_logged_and_skipped(world: World, caplog: pytest.LogCaptureFixture) -> None:
    broken = replace(world.portal.model.automations["weekly"], cron="every monday")
    world.portal = with_automations(world, weekly=broken)
    world.tick(T0)
    assert set(world.schedule()) == {"nightly"}
    assert "automation weekly" in caplog.text and "five fields" in caplog.text


# -- due slots ------------------------------------------------------------------------------------
def test_due_slot_queues_one_job_and_missed_runs_run_once(world: World) -> None:
    world.tick(T0)
    first = datetime(2026, 1, 6, 3, 0, 30, tzinfo=UTC)
    assert world.tick(first) == 1
    (job,) = world.jobs()
    assert job["key"] == f"automation:{SLUG}:nightly:2026-01-06T03:00:00+00:00"
    assert job["portal"] == SLUG and job["status"] == "pending"
    assert job["payload"] == {
        "portal": SLUG,
        "automation": "nightly",
        "due": "2026-01-06T03:00:00+00:00",
        "cron": "0 3 * * *",
    }
    assert world.schedule()["nightly"][1:] == (datetime(2026, 1, 7, 3, 0, tzinfo=UTC), first)
    assert world.tick(first) == 0
    # three weeks without a worker: one run each, then on from now
    later = datetime(2026, 1, 27, 12, 0, tzinfo=UTC)
    assert world.tick(later) == 2
    assert [j["payload"]["automation"] for j in world.jobs()] == ["nightly", "nightly", "weekly"]
    assert world.schedule()["nightly"][1] == datetime(2026, 1, 28, 3, 0, tzinfo=UTC)
    assert world.schedule()["weekly"][1] == datetime(2026, 2, 2, 8, 0, tzinfo=UTC)


def race(world: World, engines: list[sa.Engine], due: datetime) -> list[int]:
    """Every engine's tick for `due` at once (a barrier lines them up); their results."""
    barrier = threading.Barrier(len(engines))
    counts: list[int] = []
    errors: list[BaseException] = []

    def tick(engine: sa.Engine) -> None:
        try:
            barrier.wait(10)
            counts.append(world.tick(due, engine))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=tick, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    return sorted(counts)


def test_concurrent_ticks_queue_exactly_one_job_per_due_slot(world: World) -> None:
    world.tick(T0)
    url = world.engine.url.render_as_string(hide_password=False)
    engines = [create_engine(url) for _ in range(4)]  # own pools: separate connections
    try:
        for day in range(3):
            due = datetime(2026, 1, 6 + day, 3, 0, 1, tzinfo=UTC)
            assert race(world, engines, due) == [0, 0, 0, 1]
    finally:
        for engine in engines:
            engine.dispose()
    queued = world.jobs()
    assert len({j["key"] for j in queued}) == 3
    assert [j["payload"]["due"] for j in queued] == [
        "2026-01-06T03:00:00+00:00",
        "2026-01-07T03:00:00+00:00",
        "2026-01-08T03:00:00+00:00",
    ]


def test_postgresql_claim_loses_to_a_concurrent_claim(
    postgres_url_fixture: str, portalis_checker: Checker, tmp_path: Path
) -> None:
    engine = create_engine(postgres_url_fixture)
    other = create_engine(postgres_url_fixture)
    try:
        world = build(engine, portalis_checker, tmp_path)
        world.tick(T0)
        due = datetime(2026, 1, 6, 3, 0, 1, tzinfo=UTC)
        result: list[int] = []
        with engine.connect() as first:
            with first.begin():
                # worker A holds the row (as its guarded UPDATE would) ...
                first.execute(
                    sa.select(schedules.c.cron)
                    .where(schedules.c.automation == "nightly")
                    .with_for_update()
                )
                # ... while worker B, on its own connection, finds the slot due and waits
                racer = threading.Thread(target=lambda: result.append(world.tick(due, other)))
                racer.start()
                deadline = time.monotonic() + 10
                while not _waiting_for_lock(engine) and time.monotonic() < deadline:
                    time.sleep(0.02)
                assert _waiting_for_lock(engine), "the second tick never waited for the row"
                first.execute(
                    schedules.update()
                    .where(schedules.c.automation == "nightly")
                    .values(next_run_at=datetime(2026, 1, 7, 3, 0, tzinfo=UTC))
                )
            racer.join(10)
        assert result == [0] and world.jobs() == []  # B saw next_run_at move: no second run
    finally:
        other.dispose()
        engine.dispose()


def _waiting_for_lock(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar()
        )


# -- running ---------------------------------------------------------------------------------------
def test_handler_acts_on_matching_records_only_at_most_limit_per_run(world: World) -> None:
    for subject, priority in [("a", "normal"), ("b", "low"), ("c", "urgent"), ("d", "normal")]:
        world.ticket(subject, priority)
    world.tick(T0)
    audit_before = _count(world.engine, audit_table)
    world.tick(datetime(2026, 1, 6, 3, 0, 1, tzinfo=UTC))
    assert world.run_automation_jobs() == ["done"]
    assert world.hits() == {"a": 1, "b": None, "c": 1, "d": None}  # limit 2, in id order
    hooks = world.jobs("webhook")
    assert [h["payload"]["body"]["record"]["subject"] for h in hooks] == ["a", "c"]
    assert {h["payload"]["event"] for h in hooks} == {"ticket.nightly"}
    with world.engine.connect() as conn:
        entries = conn.execute(
            sa.select(audit_table.c.action, audit_table.c.actor_id, audit_table.c.detail).where(
                audit_table.c.id > audit_before
            )
        ).all()
    assert [(a, actor, detail) for a, actor, detail in entries] == [
        ("update", None, {"via": "automation nightly"}),
        ("update", None, {"via": "automation nightly"}),
    ]
    world.tick(datetime(2026, 1, 7, 3, 0, 1, tzinfo=UTC))  # the next run works off the rest
    assert world.run_automation_jobs() == ["done"]
    assert world.hits() == {"a": 1, "b": None, "c": 1, "d": 1}
    world.tick(datetime(2026, 1, 8, 3, 0, 1, tzinfo=UTC))
    assert world.run_automation_jobs() == ["done"]
    assert len(world.jobs("webhook")) == 3


def test_a_failing_run_writes_nothing_and_is_dead_with_the_reason(
    deploy: Deploy,
) -> None:
    world = deploy(
        f"""\
strict:
  entity: ticket
  on: {{schedule: "0 3 * * *"}}
  actions:
    - webhook: {{url: "{HOOK}"}}
    - set: {{hits: {{expr: "1 if record['subject'] != 'bad' else record['subject'] + 1"}}}}""",
    )
    for subject in ("ok1", "bad", "ok2"):
        world.ticket(subject)
    audit_before = _count(world.engine, audit_table)
    world.tick(T0)
    world.tick(datetime(2026, 1, 6, 3, 0, 1, tzinfo=UTC))
    (outcome,) = world.run_automation_jobs()
    assert outcome.startswith("dead: ") and "automation strict failed" in outcome
    assert world.hits() == {"ok1": None, "bad": None, "ok2": None}
    assert world.jobs("webhook") == [] and _count(world.engine, audit_table) == audit_before
    (job,) = world.jobs()
    assert job["status"] == "dead" and "automation strict failed" in job["last_error"]


def test_handler_is_a_no_op_for_gone_portals_and_automations(world: World) -> None:
    world.ticket("a")
    world.tick(T0)
    world.tick(datetime(2026, 1, 6, 3, 0, 1, tzinfo=UTC))
    assert world.run_automation_jobs(lambda slug: None) == ["done"]  # portal not live
    assert world.hits() == {"a": None}
    handler = automation_handler(lambda slug: world.store)
    now = datetime.now(UTC)

    def job(payload: dict[str, Any]) -> Job:
        return Job(1, SLUG, JOB_KIND, payload, jobs.RUNNING, now, 1, 8, None, None, now, None)

    handler(job({"portal": SLUG, "automation": "removed_since"}))
    disabled = replace(world.portal.model.automations["nightly"], enabled=False)
    model = replace(world.portal.model, automations=frozen_map({"nightly": disabled}))
    gone = replace(world.portal, model=model).store(world.engine)
    automation_handler(lambda slug: gone)(job({"portal": SLUG, "automation": "nightly"}))
    assert world.hits() == {"a": None}
    with pytest.raises(PermanentFailure):
        handler(job({"automation": 7}))


def test_scheduled_automation_without_entity_runs_once(
    deploy: Deploy,
) -> None:
    world = deploy(
        f"""\
digest:
  on: {{schedule: "0 8 * * 1"}}
  actions:
    - webhook: {{url: "{HOOK}", event: weekly.digest}}
    - create: {{entity: ticket, values: {{subject: Weekly review, priority: low}}}}
    - notify: {{template: digest, to: ["role:agent"]}}""",
    )
    world.tick(T0)
    world.tick(datetime(2026, 1, 12, 8, 0, 5, tzinfo=UTC))
    assert world.run_automation_jobs() == ["done"]
    (hook,) = world.jobs("webhook")
    assert hook["payload"]["event"] == "weekly.digest"
    assert hook["payload"]["body"]["automation"] == "digest"
    table = world.portal.tables["ticket"]
    with world.engine.connect() as conn:
        (created,) = conn.execute(sa.select(table.c.subject, table.c.created_by)).all()
        (bell,) = conn.execute(sa.select(notifications)).mappings().all()
    assert tuple(created) == ("Weekly review", None)
    sam = actor_for(world.engine, world.portal, "sam@support.test")
    assert (bell["user_id"], bell["subject"], bell["entity"]) == (sam.id, "Weekly digest", None)
    assert bell["body"] == "Hello Sam Agent, here is Schedules."
    (mail,) = world.jobs("mail")
    assert mail["payload"]["to"] == "sam@support.test"


def test_worker_ticks_and_runs_scheduled_automations_end_to_end(world: World) -> None:
    world.ticket("a")
    with webhook_receiver() as hooks:
        nightly = world.portal.model.automations["nightly"]
        hook = replace(nightly.actions[1], url=hooks.url("/nightly"))
        world.portal = with_automations(
            world, nightly=replace(nightly, actions=(nightly.actions[0], hook)), weekly=None
        )
        store = world.portal.store(world.engine)
        worker = Worker(
            world.engine,
            {
                JOB_KIND: automation_handler(lambda slug: store),
                "webhook": partial(handle_webhook, policy=LOOPBACK_POLICY),
            },
            poll_seconds=0,
            ticks=[lambda: schedule_tick(world.engine, world.live)],
        )
        assert worker.run_once() == 0  # the first tick only schedules
        with begin_write(world.engine) as conn:  # the slot came due
            conn.execute(
                schedules.update().values(next_run_at=datetime.now(UTC) - timedelta(minutes=1))
            )
        assert worker.drain() == 2  # the run, then its webhook
        hooks.wait_for(1, path="/nightly")
    assert world.hits() == {"a": 1}
    assert hooks.to("/nightly")[0].json["record"]["subject"] == "a"
    assert world.schedule()["nightly"][1] > datetime.now(UTC)


def _count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
