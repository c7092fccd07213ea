"""The job worker: claims due outbox jobs, runs their handlers, records the outcome.

A handler is a plain callable taking the `Job`. It returns normally when the job is done,
raises `RetryLater` (optionally with a minimum delay) for a transient failure,
`PermanentFailure` when retrying cannot help; any other exception counts as a transient
failure and is logged with its traceback. Jobs run at least once: a worker killed mid-job
loses its lease and another worker runs the job again, so handlers must be idempotent (the
webhook handler sends `Idempotency-Key: job-<id>` for its receivers).

While a batch is in hand a heartbeat thread renews its lease, so a slow job is not taken
over by another worker as long as its own worker lives.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType

import sqlalchemy as sa

from . import jobs
from .jobs import Job, PermanentFailure, RetryLater

log = logging.getLogger("portalis.worker")

#: Runs one job; see the module docstring for how it reports failure.
Handler = Callable[[Job], None]

#: Seconds a worker waits before polling again after the database (or a bug) failed it (R9).
DATABASE_RETRY_SECONDS = 2.0


def default_worker_id() -> str:
    """`<hostname>:<pid>:<random>`: unique across hosts, processes and restarts."""
    host = socket.gethostname()[:50] or "localhost"
    return f"{host}:{os.getpid()}:{secrets.token_hex(3)}"


class Worker:
    """Runs outbox jobs with `handlers` (job kind → handler).

    `ticks` are periodic callables (e.g. a cron scheduler) run before each claim; a tick that
    raises is logged and never stops the worker.
    """

    def __init__(
        self,
        engine: sa.Engine,
        handlers: Mapping[str, Handler],
        *,
        worker_id: str | None = None,
        lease_seconds: float = 300,
        poll_seconds: float = 1.0,
        batch: int = 10,
        ticks: Sequence[Callable[[], None]] = (),
    ) -> None:
        if lease_seconds <= 0 or poll_seconds < 0 or batch < 1:
            raise ValueError("lease_seconds > 0, poll_seconds >= 0 and batch >= 1 are required")
        self.engine = engine
        self.handlers = dict(handlers)
        self.worker_id = worker_id or default_worker_id()
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.ticks = tuple(ticks)
        self._stop: threading.Event | None = None

    def run_once(self) -> int:
        """Run the ticks, then claim one batch of due jobs and run it; returns how many jobs
        were run (claimed jobs given back because the worker is stopping do not count)."""
        self._run_ticks()
        batch = jobs.claim(
            self.engine, self.worker_id, lease_seconds=self.lease_seconds, limit=self.batch
        )
        if not batch:
            return 0
        ran = 0
        with _Heartbeat(self, [job.id for job in batch]) as heartbeat:
            for index, job in enumerate(batch):
                if self._stop is not None and self._stop.is_set():
                    for waiting in batch[index:]:
                        jobs.release(self.engine, waiting, self.worker_id)
                    break
                self._run_job(job)
                heartbeat.finished(job.id)
                ran += 1
        return ran

    def drain(self) -> int:
        """Run due jobs until none is left; returns how many were run."""
        total = 0
        while (ran := self.run_once()) > 0:
            total += ran
        return total

    def run(self, stop: threading.Event) -> None:
        """Work until `stop` is set: the job in hand is finished, the rest of its batch is
        given back. Idle, the worker sleeps `poll_seconds` (waking at once on `stop`); when the
        database is unreachable it logs, waits and tries again — jobs stay queued (R9)."""
        self._stop = stop
        log.info("worker %s started", self.worker_id)
        try:
            while not stop.is_set():
                try:
                    ran = self.run_once()
                except sa.exc.SQLAlchemyError as exc:
                    log.warning("worker %s: database unavailable: %s", self.worker_id, exc)
                    stop.wait(DATABASE_RETRY_SECONDS)
                    continue
                except Exception:  # a bug must not end the queue: log, pause, go on
                    log.exception("worker %s: unexpected error", self.worker_id)
                    stop.wait(DATABASE_RETRY_SECONDS)
                    continue
                if ran == 0:
                    stop.wait(self.poll_seconds)
        finally:
            self._stop = None
            log.info("worker %s stopped", self.worker_id)

    def _run_ticks(self) -> None:
        for tick in self.ticks:
            try:
                tick()
            except Exception:  # a broken schedule must not stop the queue
                log.exception("worker %s: tick %r failed", self.worker_id, tick)

    def _run_job(self, job: Job) -> None:
        handler = self.handlers.get(job.kind)
        if handler is None:
            known = ", ".join(sorted(self.handlers)) or "none"
            self._fail(job, f"no handler for job kind {job.kind!r} (known: {known})", None, True)
            return
        try:
            handler(job)
        except RetryLater as exc:
            self._fail(job, str(exc) or "retry later", exc.after, False)
        except PermanentFailure as exc:
            self._fail(job, str(exc) or "permanent failure", None, True)
        except Exception as exc:  # anything unexpected is retried, with its traceback logged
            log.exception("job #%s (%s) raised", job.id, job.kind)
            self._fail(job, f"{type(exc).__name__}: {exc}", None, False)
        else:
            if jobs.complete(self.engine, job, self.worker_id):
                log.info("job #%s (%s) done", job.id, job.kind)
            else:
                log.warning(
                    "job #%s (%s) finished after its lease was taken over", job.id, job.kind
                )

    def _fail(self, job: Job, error: str, after: float | None, permanent: bool) -> None:
        status = jobs.fail(
            self.engine, job, self.worker_id, error, retry_after=after, permanent=permanent
        )
        if status == jobs.DEAD:
            log.error("job #%s (%s) is dead after %s attempt(s): %s",
                      job.id, job.kind, job.attempts, error)  # fmt: skip
        elif status == jobs.PENDING:
            log.warning("job #%s (%s) attempt %s/%s failed, will retry: %s",
                        job.id, job.kind, job.attempts, job.max_attempts, error)  # fmt: skip
        else:
            log.warning("job #%s (%s) failed after its lease was taken over: %s",
                        job.id, job.kind, error)  # fmt: skip


class _Heartbeat:
    """Renews the lease of the jobs still in hand every third of the lease."""

    def __init__(self, worker: Worker, job_ids: list[int]) -> None:
        self._worker = worker
        self._ids = set(job_ids)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"portalis-heartbeat-{worker.worker_id}", daemon=True
        )

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def finished(self, job_id: int) -> None:
        """`job_id` is no longer in hand."""
        with self._lock:
            self._ids.discard(job_id)

    def _beat(self) -> None:
        worker = self._worker
        while not self._stop.wait(worker.lease_seconds / 3):
            with self._lock:
                ids = sorted(self._ids)
            try:
                jobs.extend(worker.engine, ids, worker.worker_id, worker.lease_seconds)
            except sa.exc.SQLAlchemyError as exc:  # the lease may lapse; the job then reruns
                log.warning("worker %s: cannot renew its lease: %s", worker.worker_id, exc)
