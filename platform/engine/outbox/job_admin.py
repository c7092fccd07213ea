"""Administration of the outbox: list, inspect, retry, discard and purge jobs (`portalis jobs`).

The worker's own life cycle (enqueue, claim, complete, fail) is in `jobs`; these are the
operator's tools and never race a worker: they only touch pending, dead or finished jobs.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta

import sqlalchemy as sa

from ..data.db import begin_write
from ..data.system_tables import jobs
from .jobs import DEAD, DONE, PENDING, STATUSES, Job, job_from_row, update_jobs, utcnow


def list_jobs(
    engine: sa.Engine,
    *,
    status: str | None = None,
    portal: str | None = None,
    kind: str | None = None,
    limit: int = 100,
) -> list[Job]:
    """Jobs matching the filters, newest first."""
    query = sa.select(jobs).order_by(jobs.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(jobs.c.status == status)
    if portal is not None:
        query = query.where(jobs.c.portal == portal)
    if kind is not None:
        query = query.where(jobs.c.kind == kind)
    with engine.connect() as conn:
        return [job_from_row(row) for row in conn.execute(query).mappings()]


def get_job(engine: sa.Engine, job_id: int) -> Job | None:
    """The job with `job_id`, or None."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().first()
    return None if row is None else job_from_row(row)


def retry(engine: sa.Engine, job_id: int) -> bool:
    """Run a dead (or waiting) job again now with a fresh set of attempts; False for an
    unknown, running or done job."""
    waiting = sa.and_(jobs.c.id == job_id, jobs.c.status.in_([DEAD, PENDING]))
    again = dict(status=PENDING, run_at=utcnow(), attempts=0, locked_by=None, locked_until=None,
                 finished_at=None)  # fmt: skip
    return update_jobs(engine, waiting, **again) == 1


def discard(engine: sa.Engine, job_id: int) -> bool:
    """Give up on a pending or dead job (it becomes dead, "discarded"); False for an unknown,
    running or done job — what is done stays done."""
    waiting = sa.and_(jobs.c.id == job_id, jobs.c.status.in_([DEAD, PENDING]))
    gone = dict(status=DEAD, last_error="discarded", locked_until=None, finished_at=utcnow())
    return update_jobs(engine, waiting, **gone) == 1


def counts(engine: sa.Engine) -> dict[str, int]:
    """Number of jobs per status (every status present, zero included)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(jobs.c.status, sa.func.count()).group_by(jobs.c.status))
        found = {str(status): int(n) for status, n in rows}
    return {status: found.get(status, 0) for status in STATUSES} | found


def purge(engine: sa.Engine, *, older_than: timedelta, statuses: Collection[str] = (DONE,)) -> int:
    """Delete finished jobs (default: done only) that finished longer than `older_than` ago;
    returns how many. Pending and running jobs are never purged."""
    kept = [s for s in statuses if s in (DONE, DEAD)]
    if not kept:
        return 0
    cutoff = utcnow() - older_than
    with begin_write(engine) as conn:
        result = conn.execute(
            jobs.delete().where(jobs.c.status.in_(kept), jobs.c.finished_at < cutoff)
        )
    return int(result.rowcount)
