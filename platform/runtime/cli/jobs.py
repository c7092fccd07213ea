"""`portalis worker` (runs outbox jobs) and `portalis jobs list|retry|discard|purge`.

`worker` runs until SIGTERM or SIGINT: it finishes the job in hand, gives the rest of its
batch back and exits 0 (a second signal stops it at once). `--once` runs the jobs that are
due and exits. On PostgreSQL any number of workers share the queue.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import click

from portalis.engine.outbox import jobs  # the statuses `--status` offers

from .common import (
    database_option,
    handle_errors,
    migrate_database,
    migrated_engine,
    open_engine,
)

if TYPE_CHECKING:
    import sqlalchemy as sa

    from portalis.engine.outbox.jobs import Job


def _engine(database_url: str | None) -> sa.Engine:
    engine = open_engine(database_url)
    migrate_database(engine)  # under the database lock: several workers may start at once
    return engine


def register_job_commands(cli: click.Group) -> None:
    """Add `worker` and the `jobs` group to the CLI group."""

    @cli.command()
    @click.option("--once", is_flag=True, help="Run the jobs that are due, then exit.")
    @database_option
    @click.option(
        "--lease",
        "lease",
        type=click.FloatRange(min=1),
        default=300.0,
        show_default=True,
        help="Seconds a claimed job is reserved for this worker.",
    )
    @click.option(
        "--poll",
        "poll",
        type=click.FloatRange(min=0),
        default=1.0,
        show_default=True,
        help="Seconds to wait when no job is due.",
    )
    @click.option("--batch", type=click.IntRange(min=1), default=10, show_default=True,
                  help="Jobs claimed at a time.")  # fmt: skip
    @handle_errors
    def worker(once: bool, database_url: str | None, lease: float, poll: float, batch: int) -> None:
        """Run outbox jobs (mail, webhooks, timers, scheduled automations) until stopped."""
        from portalis.engine.outbox.worker import Worker

        # the runtime's plugins first: `job_handlers` and `auth.reset` import each other, and
        # only this order completes when a process imports neither yet
        from .. import default_plugins  # noqa: F401
        from ..job_handlers import build_handlers, living_ticks, standalone_registry
        from ..settings import Settings

        env = dict(os.environ)
        if database_url:
            env["PORTALIS_DATABASE_URL"] = database_url
        # a worker signs nothing: no secret key file is created for it
        env.setdefault("PORTALIS_SECRET_KEY", "not-used-by-the-worker")
        settings = Settings.from_env(env)
        engine = _engine(settings.database_url)
        registry = standalone_registry(settings, engine)
        runner = Worker(engine, build_handlers(settings, registry=registry), lease_seconds=lease,
                        poll_seconds=poll, batch=batch, ticks=living_ticks(registry))  # fmt: skip
        try:
            if once:
                click.echo(f"ran {runner.drain()} job(s)")
                return
            stop = threading.Event()
            _stop_on_signals(stop)
            click.echo(f"worker {runner.worker_id} started (lease {lease:g}s, poll {poll:g}s)",
                       err=True)  # fmt: skip
            runner.run(stop)
            click.echo(f"worker {runner.worker_id} stopped", err=True)
        finally:
            engine.dispose()

    @cli.group(name="jobs")
    def jobs_group() -> None:
        """Inspect and repair the outbox: waiting, failed and dead jobs."""

    @jobs_group.command(name="list")
    @click.option("--status", type=click.Choice(jobs.STATUSES), default=None)
    @click.option("--portal", default=None)
    @click.option("--kind", default=None)
    @click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
    @click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
    @database_option
    @handle_errors
    def jobs_list(
        status: str | None,
        portal: str | None,
        kind: str | None,
        limit: int,
        as_json: bool,
        database_url: str | None,
    ) -> None:
        """List jobs, newest first (dead letters: --status dead)."""
        from portalis.engine.outbox import job_admin

        with migrated_engine(database_url) as engine:
            found = job_admin.list_jobs(
                engine, status=status, portal=portal, kind=kind, limit=limit
            )
            if as_json:
                for job in found:
                    click.echo(json.dumps(job_dict(job), ensure_ascii=False))
                return
            for job in found:
                click.echo(job_line(job))
            totals = job_admin.counts(engine)
            click.echo(", ".join(f"{n} {s}" for s, n in totals.items()), err=True)

    @jobs_group.command(name="retry")
    @click.argument("job_id", type=int)
    @database_option
    @handle_errors
    def jobs_retry(job_id: int, database_url: str | None) -> None:
        """Run a dead (or waiting) job again now, with fresh attempts."""
        from portalis.engine.outbox import job_admin

        with migrated_engine(database_url) as engine:
            if not job_admin.retry(engine, job_id):
                _refuse(engine, job_id, "retried")
            click.echo(f"job #{job_id} will run again")

    @jobs_group.command(name="discard")
    @click.argument("job_id", type=int)
    @database_option
    @handle_errors
    def jobs_discard(job_id: int, database_url: str | None) -> None:
        """Give up on a waiting or dead job (it stays listed as dead, "discarded")."""
        from portalis.engine.outbox import job_admin

        with migrated_engine(database_url) as engine:
            if not job_admin.discard(engine, job_id):
                _refuse(engine, job_id, "discarded")
            click.echo(f"job #{job_id} discarded")

    @jobs_group.command(name="purge")
    @click.option(
        "--older-than",
        "days",
        type=click.FloatRange(min=0),
        default=30.0,
        show_default=True,
        help="Days since the job finished.",
    )
    @click.option("--dead", is_flag=True, help="Purge dead jobs too (not only done ones).")
    @database_option
    @handle_errors
    def jobs_purge(days: float, dead: bool, database_url: str | None) -> None:
        """Delete finished jobs older than --older-than days."""  # fmt: skip
        from portalis.engine.outbox import job_admin

        with migrated_engine(database_url) as engine:
            statuses = (jobs.DONE, jobs.DEAD) if dead else (jobs.DONE,)
            removed = job_admin.purge(engine, older_than=timedelta(days=days), statuses=statuses)
            click.echo(f"purged {removed} job(s)")


def job_dict(job: Job) -> dict[str, Any]:
    """A job as JSON-ready data; payload entries named in `_redact` are masked."""
    hidden = job.payload.get(jobs.REDACT_KEY)
    masked = set(hidden) if isinstance(hidden, list) else set()
    payload = {k: ("***" if k in masked else v) for k, v in job.payload.items()}
    return {
        "id": job.id,
        "portal": job.portal,
        "kind": job.kind,
        "status": job.status,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "run_at": job.run_at.isoformat(),
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "locked_by": job.locked_by,
        "key": job.key,
        "last_error": job.last_error,
        "payload": payload,
    }


def job_line(job: Job) -> str:
    """One human-readable line per job."""
    when = (job.finished_at or job.run_at).strftime("%Y-%m-%d %H:%M:%S")
    error = " ".join((job.last_error or "").split())
    if len(error) > 80:
        error = error[:79] + "…"
    return (
        f"{job.id:>6}  {job.status:<7} {job.kind:<12} {job.portal or '-':<16} "
        f"{job.attempts}/{job.max_attempts}  {when}  {error}"
    ).rstrip()


def _refuse(engine: sa.Engine, job_id: int, what: str) -> None:
    from portalis.engine.outbox import job_admin

    job = job_admin.get_job(engine, job_id)
    if job is None:
        click.echo(f"error: no job #{job_id}", err=True)
    else:
        click.echo(f"error: job #{job_id} is {job.status} and cannot be {what}", err=True)
    sys.exit(1)


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: Any) -> None:
        stop.set()
        signal.signal(signum, signal.SIG_DFL)  # a second signal ends the process at once

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
