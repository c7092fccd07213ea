"""Workflow timers: `after: 48h` in a state, take a transition or run actions.

Scheduling is a write listener (`after_write`, after the audit listener in `effects`): when a
record enters a state — created in the workflow's initial state, or moved there by a
transition — one outbox job of kind `timer` is queued per timer of that state, due `after`
later, in the write's own transaction (a write that fails queues nothing). The job carries the
record's *entry marker* (`audit.entry_marker`: the id of the audit entry that put the record
into the state).

A timer with `before: 24h, of: starts_at` is due that long before the moment in the record's
date or datetime field instead ("your appointment is tomorrow"); its job also carries that
moment. When the field changes while the record stays in the state, a job for the new moment
is queued and the old one finds the date moved and does nothing. No job is queued when the
field is empty or the moment is already past (a booking made an hour ahead gets no
"tomorrow" reminder).

Firing (`timer_handler`, the worker's handler of `timer` jobs) happens in one write
transaction, and only if the record still exists, is still in the state, has the same entry
marker (it did not leave and come back: that stay has its own timer) and the timer's `when`
holds now. Then the timer takes its `transition` as the system actor — no role is needed, but
the transition's `when` and `require` hold — or runs its `actions`; either is recorded with
`via: timer:<workflow>/<timer>`. Anything else is a no-op, so a job that runs twice (a worker
died after committing) does not move a record twice.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa

from ..data.db import begin_write
from ..data.errors import Forbidden, NotFound, ValidationFailed
from ..data.events import WriteEvent
from ..data.permissions import Actor
from ..definition.flow_model import Timer, Workflow
from ..expr.expressions import EvaluationError
from ..outbox import jobs
from ..outbox.jobs import Job, PermanentFailure
from . import actions, approvals
from .workflow_apply import take

if TYPE_CHECKING:
    from ..data.store import RecordStore

log = logging.getLogger("portalis.timers")

#: The job kind of timers.
TIMER_JOB: Final = "timer"


def via_of(workflow: Workflow, timer: Timer) -> str:
    """How the audit log names writes of a timer: `timer:ticket_flow/urgent_sla`."""
    return f"timer:{workflow.name}/{timer.name}"


def job_key(
    portal: str,
    workflow: str,
    timer: str,
    entity: str,
    record_id: int,
    marker: int,
    moment: str = "",
) -> str:
    """The outbox key of one timer for one stay of a record in a state (at most one job;
    a `before:` timer has one per moment its date held during the stay)."""
    key = f"timer:{portal}:{entity}:{record_id}:{workflow}:{timer}:{marker}"
    if moment:
        key += f":{moment}"
    if len(key) <= 200:
        return key
    return "timer:" + hashlib.sha256(key.encode()).hexdigest()


# -- scheduling -----------------------------------------------------------------------------
def after_write(store: RecordStore, conn: sa.Connection, event: WriteEvent) -> None:
    """The write listener: queue the timers of the state a record just entered, and the
    `before:` timers whose date moved while the record stays in their state."""
    workflows = store.model.workflow_for(event.entity.name)
    if event.kind == "create":
        entered = [(wf, event.record.get(wf.field)) for wf in workflows]
        due = [(wf, t) for wf, state in entered for t in wf.timers if t.state == state]
    elif event.kind == "transition" and event.workflow is not None:
        state = event.record.get(event.workflow.field)
        due = [(event.workflow, t) for t in event.workflow.timers if t.state == state]
    elif event.kind == "update":
        changed = event.changed()
        due = [
            (wf, t)
            for wf in workflows
            for t in wf.timers
            if t.of in changed and t.state == event.record.get(wf.field)
        ]
    else:
        return
    if not due:
        return
    slug = store.model.slug
    record_id = event.record_id
    marker = approvals.current_round(
        conn, portal=slug, entity=event.entity.name, record_id=record_id
    )
    now = jobs.utcnow()
    for wf, timer in due:
        run_at = run_at_of(timer, event.record, now)
        if run_at is None:
            continue  # no date, or its moment has already passed
        payload: dict[str, Any] = {
            "portal": slug,
            "workflow": wf.name,
            "timer": timer.name,
            "entity": event.entity.name,
            "record_id": record_id,
            "state": timer.state,
            "marker": marker,
        }
        key = job_key(slug, wf.name, timer.name, event.entity.name, record_id, marker)
        if timer.of is not None:
            payload["moment"] = moment_text(event.record.get(timer.of))
            key = job_key(slug, wf.name, timer.name, event.entity.name, record_id, marker,
                          payload["moment"])  # fmt: skip
        jobs.enqueue(conn, kind=TIMER_JOB, portal=slug, run_at=run_at, key=key, payload=payload)


def moment_of(value: Any) -> datetime | None:
    """The aware UTC moment of a date (its midnight) or datetime (naive: UTC) value."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC)
    return None


def moment_text(value: Any) -> str:
    """The moment a `before:` timer was set for, as kept in its job (ISO 8601, UTC)."""
    moment = moment_of(value)
    return moment.astimezone(UTC).isoformat() if moment is not None else ""


def run_at_of(timer: Timer, record: Mapping[str, Any], now: datetime) -> datetime | None:
    """When `timer` fires for `record`: `after` from now, or `before` its date; None when
    the record has no date or the moment is already past."""
    if timer.of is None:
        return now + timedelta(seconds=timer.after_seconds)
    moment = moment_of(record.get(timer.of))
    if moment is None:
        return None
    run_at = moment - timedelta(seconds=timer.before_seconds)
    return run_at if run_at >= now else None


# -- firing ---------------------------------------------------------------------------------
def timer_handler(stores: Callable[[str], RecordStore | None]) -> Callable[[Job], None]:
    """The worker's handler of `timer` jobs; `stores(slug)` gives the live portal's record
    store (None when the portal is not live: the job is then a no-op). A timer whose
    condition cannot be evaluated, or whose transition or actions fail, is dead at once
    (retrying would fail the same way) with nothing of it written."""

    def handle(job: Job) -> None:
        payload = job.payload
        slug = payload.get("portal") or job.portal
        if not isinstance(slug, str):
            raise PermanentFailure("a timer job names no portal")
        store = stores(slug)
        if store is None:
            log.info("job #%s: portal %s is not live; timer not run", job.id, slug)
            return
        outcome = fire(store, payload)
        log.info("job #%s: timer %s/%s on %s #%s: %s", job.id, payload.get("workflow"),
                 payload.get("timer"), payload.get("entity"), payload.get("record_id"),
                 outcome)  # fmt: skip

    return handle


def fire(store: RecordStore, payload: Mapping[str, Any]) -> str:
    """Fire one queued timer (see the module docstring); returns what happened, in words.

    PermanentFailure when the payload is malformed or the timer's condition, transition or
    actions fail.
    """
    try:
        wf_name, timer_name = str(payload["workflow"]), str(payload["timer"])
        entity_name, record_id = str(payload["entity"]), int(payload["record_id"])
        marker, state = int(payload["marker"]), str(payload["state"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentFailure(f"malformed timer job: {exc!r}") from None
    wf = store.model.workflows.get(wf_name)
    timer = next((t for t in wf.timers if t.name == timer_name), None) if wf else None
    entity = store.model.entities.get(entity_name)
    if wf is None or timer is None or entity is None or wf.entity != entity_name:
        return "skipped: the timer no longer exists"
    if timer.state != state:
        return "skipped: the timer now belongs to another state"
    system = Actor.system()
    via = via_of(wf, timer)
    try:
        with begin_write(store.engine) as conn:
            try:
                current, _ = store.locked(conn, system, entity, record_id, "transition")
            except NotFound:
                return "skipped: the record no longer exists"
            if current.get(wf.field) != state:
                return "skipped: the record left the state"
            round_ = approvals.current_round(
                conn, portal=store.model.slug, entity=entity.name, record_id=record_id
            )
            if round_ != marker:
                return "skipped: the record left the state and came back"
            if timer.of is not None and moment_text(current.get(timer.of)) != payload.get("moment"):
                return "skipped: the date moved (the timer was set again for the new one)"
            if timer.when is not None and not timer.when.test(record=current, actor=system):
                return "skipped: condition false"
            if timer.transition is not None:
                take(store, system, entity.name, record_id, timer.transition, conn=conn, via=via)
                current = store.load_raw(conn, entity, record_id)
            if timer.actions:
                actions.run_actions(
                    store, conn, timer.actions, entity=entity, record=current, actor=system,
                    where=via, trigger=timer.name,
                )  # fmt: skip
    except Forbidden as exc:
        # the transition's own `when` is false now: the record does not qualify
        return f"skipped: {exc.reason or exc}"
    except EvaluationError as exc:
        raise PermanentFailure(f"{via}: the condition could not be evaluated: {exc}") from None
    except ValidationFailed as exc:
        raise PermanentFailure(f"{via} failed: {exc}") from None
    if timer.transition is not None:
        return f"took {timer.transition}"
    return "ran its actions"
