"""The job worker (`portalis.engine.outbox.worker`) on SQLite and PostgreSQL: handler outcomes, ticks,
stopping, lease renewal while a job runs, and surviving a database outage (R9)."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.engine.data.db import begin_write, create_engine
from portalis.engine.data.platform_tables import ensure_platform_tables
from portalis.engine.outbox import job_admin, jobs
from portalis.engine.outbox.jobs import Job, PermanentFailure, RetryLater
from portalis.engine.outbox.worker import Worker, default_worker_id


@pytest.fixture
def engine(platform_engine: sa.Engine) -> sa.Engine:
    return platform_engine


def add(engine: sa.Engine, kind: str, **payload: object) -> int:
    with begin_write(engine) as conn:
        job_id = jobs.enqueue(conn, kind=kind, payload=payload)
    assert job_id is not None
    return job_id


def stored(engine: sa.Engine, job_id: int) -> Job:
    found = job_admin.get_job(engine, job_id)
    assert found is not None
    return found


def wait_until(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_handler_outcomes(engine: sa.Engine, caplog: pytest.LogCaptureFixture) -> None:
    seen: list[tuple[str, dict[str, object]]] = []

    def ok(job: Job) -> None:
        seen.append((job.kind, job.payload))

    def later(job: Job) -> None:
        raise RetryLater("mailbox busy", after=300)

    def never(job: Job) -> None:
        raise PermanentFailure("recipient does not exist")

    def broken(job: Job) -> None:
        raise ValueError("a bug in the handler")

    handlers = {"ok": ok, "later": later, "never": never, "broken": broken}
    ids = {kind: add(engine, kind, n=1) for kind in (*handlers, "mystery")}
    with caplog.at_level(logging.INFO, logger="portalis.worker"):
        assert Worker(engine, handlers, poll_seconds=0).run_once() == 5
    assert seen == [("ok", {"n": 1})]
    assert stored(engine, ids["ok"]).status == jobs.DONE
    retried = stored(engine, ids["later"])
    assert retried.status == jobs.PENDING and retried.last_error == "mailbox busy"
    assert retried.run_at.timestamp() - time.time() > 290  # at least the handler's 300 s
    dead = stored(engine, ids["never"])
    assert dead.status == jobs.DEAD and dead.last_error == "recipient does not exist"
    crashed = stored(engine, ids["broken"])
    assert crashed.status == jobs.PENDING
    assert crashed.last_error == "ValueError: a bug in the handler"
    assert "Traceback" in caplog.text and "a bug in the handler" in caplog.text
    unknown = stored(engine, ids["mystery"])
    assert unknown.status == jobs.DEAD
    assert unknown.last_error == (
        "no handler for job kind 'mystery' (known: broken, later, never, ok)"
    )
    assert "is dead after 1 attempt(s)" in caplog.text


def test_ticks_run_before_each_claim_and_a_failing_tick_is_only_logged(
    engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    def schedule() -> None:
        calls.append("tick")
        add(engine, "ok")  # a cron tick enqueues; the same round runs it

    def broken() -> None:
        raise RuntimeError("cron table unreadable")

    ran: list[int] = []
    run = Worker(engine, {"ok": lambda job: ran.append(job.id)}, ticks=[broken, schedule])
    with caplog.at_level(logging.ERROR, logger="portalis.worker"):
        assert run.run_once() == 1
        assert run.run_once() == 1
    assert calls == ["tick", "tick"] and len(ran) == 2
    assert "cron table unreadable" in caplog.text


def test_run_stops_promptly_and_gives_back_the_rest_of_its_batch(engine: sa.Engine) -> None:
    stop = threading.Event()
    handled: list[int] = []

    def first_stops(job: Job) -> None:
        handled.append(job.id)
        stop.set()  # a SIGTERM arriving while this job runs

    ids = [add(engine, "work", n=n) for n in range(3)]
    run = Worker(engine, {"work": first_stops}, poll_seconds=30)
    thread = threading.Thread(target=run.run, args=(stop,))
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    assert handled == ids[:1]
    assert stored(engine, ids[0]).status == jobs.DONE
    for job_id in ids[1:]:
        back = stored(engine, job_id)
        assert back.status == jobs.PENDING and back.attempts == 0 and back.locked_by is None

    # idle, it sleeps `poll_seconds` but wakes at once when stopped
    stop = threading.Event()
    idle = Worker(engine, {}, poll_seconds=30)
    thread = threading.Thread(target=idle.run, args=(stop,))
    with begin_write(engine) as conn:
        conn.execute(sa.delete(sa.table("portalis_job")))
    thread.start()
    time.sleep(0.2)
    started = time.monotonic()
    stop.set()
    thread.join(10)
    assert not thread.is_alive() and time.monotonic() - started < 2


def test_the_lease_is_renewed_while_a_slow_job_runs(engine: sa.Engine) -> None:
    job_id = add(engine, "slow")
    other_claims: list[list[Job]] = []

    def slow(job: Job) -> None:
        for _ in range(4):  # 1.2 s: four times the lease
            time.sleep(0.3)
            other_claims.append(jobs.claim(engine, "intruder", lease_seconds=60))

    Worker(engine, {"slow": slow}, lease_seconds=0.3).run_once()
    assert other_claims == [[], [], [], []]  # never taken over while its worker lives
    done = stored(engine, job_id)
    assert done.status == jobs.DONE and done.attempts == 1


def test_default_worker_ids_are_unique() -> None:
    ids = {default_worker_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(i.split(":")[1] == str(os.getpid()) and len(i) <= 80 for i in ids)
    with pytest.raises(ValueError):
        Worker(sa.create_engine("sqlite://"), {}, lease_seconds=0)


class _Outage:
    """Makes the database unreachable and brings it back: a TCP forwarder in front of
    PostgreSQL that can be cut, or (SQLite) the database folder moved away and back."""

    def __init__(self, url: str, tmp_path: Path) -> None:
        self.url = sa.make_url(url)
        self.tmp_path = tmp_path
        self.down = threading.Event()
        self._listener: socket.socket | None = None
        self._pipes: list[socket.socket] = []
        if self.url.get_backend_name() == "postgresql":
            self._listener = socket.create_server(("127.0.0.1", 0))
            self._listener.settimeout(0.1)
            threading.Thread(target=self._accept, daemon=True).start()
            port = self._listener.getsockname()[1]
            self.worker_url = self.url.set(host="127.0.0.1", port=port)
        else:
            self.worker_url = self.url

    def cut(self) -> None:
        self.down.set()
        if self._listener is None:
            db = Path(self.url.database or "")
            db.parent.rename(self.tmp_path / "away")
        self._hang_up()

    def restore(self) -> None:
        if self._listener is None:
            (self.tmp_path / "away").rename(Path(self.url.database or "").parent)
        self.down.clear()

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self._hang_up()

    def _hang_up(self) -> None:
        # shutdown, not just close: close() does not wake a recv() blocked in another thread
        for pipe in list(self._pipes):
            try:
                pipe.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            pipe.close()

    def _accept(self) -> None:
        while self._listener is not None:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.down.is_set():
                client.close()
                continue
            upstream = socket.create_connection(
                (self.url.host or "127.0.0.1", self.url.port or 5432)
            )
            self._pipes += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, target):
                try:
                    s.close()
                except OSError:
                    pass


def test_r9_worker_survives_a_database_outage_and_loses_no_job(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if database_url.startswith("sqlite"):  # a folder of its own, so it can be moved away
        folder = tmp_path / "db"
        folder.mkdir()
        source = Path(sa.make_url(database_url).database or "")
        database_url = f"sqlite:///{folder / source.name}"
    setup = create_engine(database_url)
    ensure_platform_tables(setup)
    outage = _Outage(database_url, tmp_path)
    worker_engine = create_engine(
        outage.worker_url.render_as_string(hide_password=False), poolclass=sa.pool.NullPool
    )
    done: list[int] = []
    stop = threading.Event()
    run = Worker(worker_engine, {"ok": lambda job: done.append(job.id)}, poll_seconds=0.05)
    thread = threading.Thread(target=run.run, args=(stop,))
    try:
        before = add(setup, "ok")
        with begin_write(setup) as conn:  # falls due while the database is away
            due_at = datetime.now(UTC) + timedelta(seconds=0.5)
            during = jobs.enqueue(conn, kind="ok", payload={}, run_at=due_at)
        with caplog.at_level(logging.WARNING, logger="portalis.worker"):
            thread.start()
            wait_until(lambda: stored(setup, before).status == jobs.DONE)
            outage.cut()
            wait_until(lambda: "database unavailable" in caplog.text)
            time.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds()) + 0.2)
            assert thread.is_alive() and done == [before]
            setup.dispose()  # (SQLite) no connection may keep the moved file open
            outage.restore()
        assert during is not None
        wait_until(lambda: stored(setup, during).status == jobs.DONE, timeout=15)
        assert done == [before, during]
    finally:
        stop.set()
        thread.join(10)
        outage.close()
        worker_engine.dispose()
        setup.dispose()
    assert not thread.is_alive()
    shutil.rmtree(tmp_path / "away", ignore_errors=True)
