"""The cron scheduler of `on: {schedule: "<cron>"}` automations.

Every worker calls `schedule_tick` before it claims jobs (a worker *tick*). The tick keeps one
row per scheduled automation of every live portal in `portalis_schedule` — created with the
next run after now, moved to the next run after now when the cron text changed, removed when
the automation was removed or disabled — and claims each due row:

    UPDATE portalis_schedule SET next_run_at = <next after now>, last_run_at = now
     WHERE portal = :portal AND automation = :name AND next_run_at = :seen

Of several workers that saw the same due row, exactly one changes it (on PostgreSQL the others
wait for its row lock and then find `next_run_at` moved; SQLite serialises the writers), and
only that one enqueues the `automation` job, in the same transaction. The job's key
(`automation:<portal>:<name>:<due>`) makes a second enqueue of the same slot impossible even so.
Runs missed while no worker was up are run once, not once per missed slot: the next run is
always computed from now.

Cron texts have five fields (minute hour day-of-month month day-of-week) and are read in UTC;
`croniter` does the arithmetic. `automation_handler` runs a claimed job: the whole run is one
write transaction, so a failed run leaves nothing behind and its retry cannot notify twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

import sqlalchemy as sa
from croniter import CroniterError, croniter
from sqlalchemy.dialects import postgresql, sqlite

from ..data.db import begin_write, is_sqlite
from ..data.system_tables import aware, schedules
from ..outbox import jobs
from ..outbox.jobs import Job, PermanentFailure
from .automations import AutomationFailed, run_scheduled

if TYPE_CHECKING:
    from ..data.store import RecordStore
    from ..definition.model import PortalModel

log = logging.getLogger("portalis.scheduler")


class LivePortal(Protocol):
    """What the scheduler needs of a published portal (a `LivePortal` is one): its model."""

    @property
    def model(self) -> PortalModel:
        """The compiled model of the published version."""
        ...


#: The job kind of a scheduled run (payload: portal, automation, due, cron).
JOB_KIND = "automation"
#: Number of fields of an accepted cron text.
CRON_FIELDS = 5

#: (portal slug, automation name)
Key = tuple[str, str]


class CronError(ValueError):
    """A cron text Portalis does not accept."""


def check_cron(cron: str) -> str | None:
    """None when `cron` is a usable five-field cron text, else why not (for the validator)."""
    try:
        cron_next(cron, datetime(2000, 1, 1, tzinfo=UTC))
    except CronError as exc:
        return str(exc)
    return None


def cron_next(cron: str, after: datetime) -> datetime:
    """The first time strictly after `after` that `cron` names, as aware UTC (a naive
    `after` is taken as UTC); CronError for a text that is not a valid five-field cron."""
    fields = cron.split()
    if len(fields) != CRON_FIELDS:
        raise CronError(
            f"a schedule has five fields (minute hour day month weekday), not {len(fields)}: "
            f"{cron!r}"
        )
    start = _utc(after)
    try:
        found = croniter(" ".join(fields), start).get_next(datetime)
    except CroniterError as exc:  # bad syntax, values out of range, never matching (`0 0 30 2 *`)
        raise CronError(f"not a valid schedule {cron!r}: {exc}") from None
    if not isinstance(found, datetime):  # pragma: no cover - croniter returns what was asked
        raise CronError(f"not a valid schedule {cron!r}")
    return _utc(found)


def scheduled(portals: Mapping[str, LivePortal]) -> dict[Key, str]:
    """The enabled scheduled automations of `portals` with their cron text; one whose cron
    text is unusable is left out with an error in the log (it must not stop the others)."""
    out: dict[Key, str] = {}
    for slug, portal in portals.items():
        for automation in portal.model.automations.values():
            if automation.trigger != "schedule" or not automation.enabled:
                continue
            problem = "no schedule" if automation.cron is None else check_cron(automation.cron)
            if problem is not None or automation.cron is None:
                log.error("portal %s, automation %s: %s", slug, automation.name, problem)
                continue
            out[(slug, automation.name)] = automation.cron
    return out


def schedule_tick(
    engine: sa.Engine,
    portals: Callable[[], Mapping[str, LivePortal]],
    *,
    now: datetime | None = None,
) -> int:
    """Keep the schedule rows of the live `portals` in step with their definitions and queue
    one `automation` job per due run; returns how many jobs this call queued.

    Idle ticks only read (no write lock is taken on SQLite); `now` is for tests.
    """
    moment = _utc(now) if now is not None else datetime.now(UTC)
    live = portals()
    if not live:
        return 0
    wanted = scheduled(live)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(schedules.c.portal, schedules.c.automation, schedules.c.cron,
                      schedules.c.next_run_at).where(schedules.c.portal.in_(sorted(live)))
        ).all()  # fmt: skip
    have: dict[Key, tuple[str, datetime]] = {}
    for row in rows:
        seen = aware(row.next_run_at)
        assert seen is not None  # the column is NOT NULL
        have[(row.portal, row.automation)] = (row.cron, seen)
    new = [key for key in wanted if key not in have]
    changed = [key for key in wanted if key in have and have[key][0] != wanted[key]]
    gone = [key for key in have if key not in wanted]
    due = [key for key in wanted if key in have and key not in changed and have[key][1] <= moment]
    if not (new or changed or gone or due):
        return 0
    queued = 0
    with begin_write(engine) as conn:
        for key in new:
            _create(conn, key, wanted[key], moment)
        for key in changed:
            _reschedule(conn, key, have[key][0], wanted[key], moment)
        for key in gone:
            _remove(conn, key, have[key][0])
        for key in due:
            queued += _claim(conn, key, wanted[key], have[key][1], moment)
    return queued


def _create(conn: sa.Connection, key: Key, cron: str, moment: datetime) -> None:
    values = dict(portal=key[0], automation=key[1], cron=cron,
                  next_run_at=cron_next(cron, moment))  # fmt: skip
    insert = sqlite.insert(schedules) if is_sqlite(conn) else postgresql.insert(schedules)
    # a concurrent tick may create the same row first: then its row stands
    conn.execute(insert.values(values).on_conflict_do_nothing())
    log.info("portal %s, automation %s: scheduled %r", key[0], key[1], cron)


def _reschedule(conn: sa.Connection, key: Key, old: str, cron: str, moment: datetime) -> None:
    result = conn.execute(
        schedules.update()
        .where(_row(key), schedules.c.cron == old)
        .values(cron=cron, next_run_at=cron_next(cron, moment))
    )
    if result.rowcount:
        log.info("portal %s, automation %s: schedule now %r", key[0], key[1], cron)


def _remove(conn: sa.Connection, key: Key, cron: str) -> None:
    result = conn.execute(schedules.delete().where(_row(key), schedules.c.cron == cron))
    if result.rowcount:
        log.info("portal %s, automation %s: no longer scheduled", key[0], key[1])


def _claim(conn: sa.Connection, key: Key, cron: str, seen: datetime, moment: datetime) -> int:
    """Move a due row on and queue its run; 0 when another tick did it first."""
    result = conn.execute(
        schedules.update()
        .where(_row(key), schedules.c.cron == cron, schedules.c.next_run_at == seen)
        .values(next_run_at=cron_next(cron, moment), last_run_at=moment)
    )
    if result.rowcount != 1:
        return 0
    slot = seen.astimezone(UTC).isoformat()
    job = jobs.enqueue(
        conn,
        kind=JOB_KIND,
        payload={"portal": key[0], "automation": key[1], "due": slot, "cron": cron},
        portal=key[0],
        key=f"{JOB_KIND}:{key[0]}:{key[1]}:{slot}",
    )
    if job is None:
        return 0
    log.info("portal %s, automation %s: run due %s queued as job #%s", key[0], key[1], slot, job)
    return 1


def _row(key: Key) -> sa.ColumnElement[bool]:
    return sa.and_(schedules.c.portal == key[0], schedules.c.automation == key[1])


def _utc(value: datetime) -> datetime:
    # SQLite compares stored times as text: every stored time must be UTC
    normalised = aware(value)
    assert normalised is not None
    return normalised.astimezone(UTC)


# -- running a claimed job ------------------------------------------------------------------
def automation_handler(stores: Callable[[str], RecordStore | None]) -> Callable[[Job], None]:
    """The worker's handler of `automation` jobs; `stores(slug)` gives the live portal's record
    store (None when the portal is not live). A portal or automation that no longer exists,
    or was disabled since the run was queued, makes the job a no-op. A run whose condition or
    action fails is dead at once (the same records would fail the same way; the next
    scheduled run tries again) — with nothing of it written."""

    def handle(job: Job) -> None:
        slug = job.payload.get("portal") or job.portal
        name = job.payload.get("automation")
        if not isinstance(slug, str) or not isinstance(name, str):
            raise PermanentFailure("an automation job names no portal or automation")
        store = stores(slug)
        if store is None:
            log.info("job #%s: portal %s is not live; automation %s not run", job.id, slug, name)
            return
        automation = store.model.automations.get(name)
        if automation is None or automation.trigger != "schedule" or not automation.enabled:
            log.info("job #%s: portal %s has no enabled scheduled automation %s; not run",
                     job.id, slug, name)  # fmt: skip
            return
        try:
            with begin_write(store.engine) as conn:
                count = run_scheduled(store, automation, conn=conn)
        except AutomationFailed as exc:
            raise PermanentFailure(str(exc)) from exc
        log.info("job #%s: automation %s of %s acted on %s record(s)", job.id, name, slug, count)

    return handle
