"""The outbox: side effects written in the caller's transaction, run later by a worker.

A job is enqueued in the same transaction as the change that causes it, so it exists exactly
when the change does. Workers then move it along::

    pending --claim--> running --complete--> done
                          |------fail------> pending (backoff) | dead (attempts used up)
    running with an expired lease (its worker died) is claimed again like a due pending job.

Claiming is atomic: `FOR UPDATE SKIP LOCKED` on PostgreSQL (several workers share the queue
without waiting for each other), a `BEGIN IMMEDIATE` write transaction on SQLite. Every
update a worker makes is guarded by its own id and the attempt it claimed, so a worker whose
lease was taken over cannot overwrite the new owner's outcome.

Times are aware UTC. Keys listed in a payload's `_redact` entry (one-time links, signing
secrets) are removed from the stored payload once the job is done.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..data.db import begin_write, is_sqlite
from ..data.system_tables import aware, jobs

PENDING, RUNNING, DONE, DEAD = "pending", "running", "done", "dead"
#: Every status, in the order a job passes through them.
STATUSES = (PENDING, RUNNING, DONE, DEAD)
#: What `fail` returns when the job was no longer this worker's (lease taken over).
STALE = "stale"
#: First retry waits up to this many seconds; each further retry doubles the ceiling ...
BACKOFF_BASE = 30.0
#: ... up to this ceiling (full jitter: the actual wait is uniform in [0, ceiling]).
BACKOFF_CAP = 6 * 3600.0
#: A receiver's Retry-After is honoured up to one day (a typo must not park a job for years).
RETRY_AFTER_CAP = 24 * 3600.0
#: Longest error text kept on a job.
MAX_ERROR_LENGTH = 4000
#: Payload entry naming the keys removed from the payload once the job is done.
REDACT_KEY = "_redact"
DEFAULT_MAX_ATTEMPTS = 8


class RetryLater(Exception):
    """Raised by a handler: the job failed for now; retry with backoff (at least `after` s)."""

    def __init__(self, message: str, after: float | None = None) -> None:
        super().__init__(message)
        self.after = after


class PermanentFailure(Exception):
    """Raised by a handler: retrying cannot help; the job goes straight to the dead letters."""


@dataclass(frozen=True, slots=True)
class Job:
    """One outbox row as a worker or an administrator sees it."""

    id: int
    portal: str | None
    kind: str
    payload: dict[str, Any]
    status: str
    run_at: datetime
    attempts: int
    max_attempts: int
    last_error: str | None
    key: str | None
    created_at: datetime
    finished_at: datetime | None
    locked_by: str | None = None
    locked_until: datetime | None = None


def utcnow() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


def backoff(
    attempts: int,
    *,
    base: float = BACKOFF_BASE,
    cap: float = BACKOFF_CAP,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after failed attempt number `attempts` (1-based): exponential, capped,
    with full jitter — uniform in [0, min(cap, base·2^(attempts-1))] — so retries of many jobs
    that failed together (a receiver's outage) spread out instead of arriving in waves."""
    exponent = min(max(attempts - 1, 0), 62)  # 2**62·base is far past any cap: no overflow
    return rand() * min(cap, base * 2.0**exponent)


def enqueue(
    conn: sa.Connection,
    *,
    kind: str,
    payload: Mapping[str, Any],
    portal: str | None = None,
    run_at: datetime | None = None,
    key: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> int | None:
    """Add a job inside the caller's transaction; returns its id.

    A job whose `key` already exists (in any status) is not added again: None is returned.
    The payload must be JSON-serialisable (TypeError otherwise, before anything is written).
    """
    data = _checked_payload(payload)
    if not kind or len(kind) > jobs.c.kind.type.length:  # type: ignore[attr-defined]
        raise ValueError(f"job kind must be 1-40 characters, not {kind!r}")
    if key is not None and (not key or len(key) > jobs.c.key.type.length):  # type: ignore[attr-defined]
        raise ValueError("job key must be 1-200 characters")
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    now = utcnow()
    values = dict(portal=portal, kind=kind, payload=data, status=PENDING, attempts=0,
                  run_at=_utc(run_at) if run_at is not None else now, key=key,
                  max_attempts=max_attempts, created_at=now, updated_at=now)  # fmt: skip
    # Portalis runs on SQLite and PostgreSQL: both know INSERT … ON CONFLICT DO NOTHING
    insert = sqlite.insert(jobs) if is_sqlite(conn) else postgresql.insert(jobs)
    statement = insert.values(values)
    if key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=[jobs.c.key])
    new_id = conn.execute(statement.returning(jobs.c.id)).scalar_one_or_none()
    return None if new_id is None else int(new_id)


def cancel(conn: sa.Connection, key: str) -> bool:
    """Cancel the pending job with `key` (e.g. a timer that no longer applies); True if one was."""
    now = utcnow()
    result = conn.execute(
        jobs.update()
        .where(jobs.c.key == key, jobs.c.status == PENDING)
        .values(status=DEAD, last_error="cancelled", finished_at=now, updated_at=now)
    )
    return result.rowcount > 0


def claim(
    engine: sa.Engine,
    worker_id: str,
    *,
    lease_seconds: float,
    limit: int = 10,
    kinds: Collection[str] | None = None,
) -> list[Job]:
    """Take up to `limit` due jobs for `worker_id`, oldest first, and mark them running.

    Due: pending with `run_at` reached, or running with an expired lease (the worker died).
    A job whose worker died during its last allowed attempt becomes dead instead.
    """
    if limit < 1 or (kinds is not None and not kinds):
        return []
    now = utcnow()
    due = sa.or_(
        sa.and_(jobs.c.status == PENDING, jobs.c.run_at <= now),
        sa.and_(jobs.c.status == RUNNING, jobs.c.locked_until < now),
    )
    if kinds is not None:
        due = sa.and_(due, jobs.c.kind.in_(sorted(kinds)))
    if is_sqlite(engine) and not _any(engine, due):
        return []  # an idle poll must not take SQLite's write lock every second
    with begin_write(engine) as conn:
        query = (
            sa.select(jobs.c.id, jobs.c.attempts, jobs.c.max_attempts, jobs.c.locked_by)
            .where(due)
            .order_by(jobs.c.run_at, jobs.c.id)
            .limit(limit)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids: list[int] = []
        for row in conn.execute(query):
            if row.attempts >= row.max_attempts:  # lost during its last attempt
                _bury_lost(conn, row.id, row.locked_by, now)
            else:
                ids.append(row.id)
        if not ids:
            return []
        lost = sa.literal("worker ") + sa.func.coalesce(jobs.c.locked_by, "?")
        conn.execute(
            jobs.update()
            .where(jobs.c.id.in_(ids))
            .values(
                status=RUNNING,
                locked_by=worker_id,
                locked_until=now + timedelta(seconds=lease_seconds),
                attempts=jobs.c.attempts + 1,
                updated_at=now,
                # SET sees the old row: a taken-over job records who lost it
                last_error=sa.case(
                    (jobs.c.status == RUNNING, lost + sa.literal(" stopped (lease expired)")),
                    else_=jobs.c.last_error,
                ),
            )
        )
        rows = conn.execute(
            sa.select(jobs).where(jobs.c.id.in_(ids)).order_by(jobs.c.run_at, jobs.c.id)
        )
        return [job_from_row(row) for row in rows.mappings()]


def extend(engine: sa.Engine, job_ids: Iterable[int], worker_id: str, lease_seconds: float) -> int:
    """Renew the lease on jobs `worker_id` still holds (a heartbeat); returns how many."""
    ids = list(job_ids)
    if not ids:
        return 0
    mine = sa.and_(jobs.c.id.in_(ids), jobs.c.status == RUNNING, jobs.c.locked_by == worker_id)
    return update_jobs(engine, mine, locked_until=utcnow() + timedelta(seconds=lease_seconds))


def complete(engine: sa.Engine, job: Job, worker_id: str) -> bool:
    """Mark `job` done; False when it was no longer this worker's attempt."""
    values: dict[str, Any] = {"status": DONE, "finished_at": utcnow(), "locked_until": None}
    redact = job.payload.get(REDACT_KEY)
    if isinstance(redact, list) and redact:
        values["payload"] = {k: v for k, v in job.payload.items() if k not in redact}
    return update_jobs(engine, _owned(job, worker_id), **values) == 1


def fail(
    engine: sa.Engine,
    job: Job,
    worker_id: str,
    error: str,
    *,
    retry_after: float | None = None,
    permanent: bool = False,
    rand: Callable[[], float] = random.random,
) -> str:
    """Record a failed attempt; returns the job's new status (`pending` for a retry, `dead`)
    or `STALE` when the job was no longer this worker's attempt.

    The retry waits `backoff(attempts)`, or `retry_after` (capped at a day) when that is
    longer. A permanent failure, or the last allowed attempt, makes the job dead.
    """
    now = utcnow()
    values: dict[str, Any] = {"last_error": error[:MAX_ERROR_LENGTH], "locked_until": None}
    if permanent or job.attempts >= job.max_attempts:
        values.update(status=DEAD, finished_at=now)
    else:
        delay = backoff(job.attempts, rand=rand)
        if retry_after is not None:
            delay = max(delay, min(max(retry_after, 0.0), RETRY_AFTER_CAP))
        values.update(status=PENDING, run_at=now + timedelta(seconds=delay), locked_by=None)
    changed = update_jobs(engine, _owned(job, worker_id), **values)
    return str(values["status"]) if changed == 1 else STALE


def release(engine: sa.Engine, job: Job, worker_id: str) -> bool:
    """Give back a claimed job that was not started (a worker stopping): it is due again at
    once and the attempt does not count."""
    back = dict(status=PENDING, attempts=jobs.c.attempts - 1, locked_by=None, locked_until=None)
    return update_jobs(engine, _owned(job, worker_id), **back) == 1


# -- helpers ----------------------------------------------------------------------------------
def _checked_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(payload, Mapping):
        raise TypeError(f"job payload must be a mapping, not {type(payload).__name__}")
    try:
        text = json.dumps(dict(payload), allow_nan=False)
    except (TypeError, ValueError) as exc:  # ValueError: NaN, infinity, circular references
        raise TypeError(f"job payload is not JSON-serialisable: {exc}") from exc
    # what the worker reads back (keys as strings, tuples as lists), not what was passed
    result: dict[str, Any] = json.loads(text)
    return result


def _utc(value: datetime) -> datetime:
    # SQLite compares stored times as text: every time must be UTC to compare correctly
    normalised = aware(value)
    assert normalised is not None
    return normalised.astimezone(UTC)


def update_jobs(engine: sa.Engine, where: sa.ColumnElement[bool], **values: Any) -> int:
    """One guarded UPDATE of outbox rows in its own write transaction; the rows it changed."""
    values.setdefault("updated_at", utcnow())
    with begin_write(engine) as conn:
        return int(conn.execute(jobs.update().where(where).values(values)).rowcount)


def _any(engine: sa.Engine, where: sa.ColumnElement[bool]) -> bool:
    with engine.connect() as conn:
        return conn.execute(sa.select(jobs.c.id).where(where).limit(1)).first() is not None


def _bury_lost(conn: sa.Connection, job_id: int, worker: str | None, now: datetime) -> None:
    error = f"worker {worker or '?'} stopped (lease expired) during the last attempt"
    gone = dict(status=DEAD, last_error=error, locked_until=None, finished_at=now, updated_at=now)
    conn.execute(jobs.update().where(jobs.c.id == job_id).values(gone))


def _owned(job: Job, worker_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        jobs.c.id == job.id,
        jobs.c.status == RUNNING,
        jobs.c.locked_by == worker_id,
        jobs.c.attempts == job.attempts,
    )


def job_from_row(row: sa.RowMapping) -> Job:
    """The `Job` of an outbox row (times aware UTC)."""
    run_at = aware(row["run_at"])
    created_at = aware(row["created_at"])
    assert run_at is not None and created_at is not None
    payload = row["payload"]
    return Job(
        id=int(row["id"]),
        portal=row["portal"],
        kind=str(row["kind"]),
        payload=dict(payload) if isinstance(payload, Mapping) else {},
        status=str(row["status"]),
        run_at=run_at,
        attempts=int(row["attempts"]),
        max_attempts=int(row["max_attempts"]),
        last_error=row["last_error"],
        key=row["key"],
        created_at=created_at,
        finished_at=aware(row["finished_at"]),
        locked_by=row["locked_by"],
        locked_until=aware(row["locked_until"]),
    )
