"""The outbox (`portalis.engine.outbox.jobs`) on SQLite and PostgreSQL: enqueue in the caller's
transaction, key dedupe, claim/complete/fail, backoff with jitter, dead letters, admin retry and
discard, lease expiry and take-over."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portalis.engine.data.db import begin_write
from portalis.engine.data.system_tables import jobs as jobs_table
from portalis.engine.outbox import job_admin, jobs


@pytest.fixture
def engine(platform_engine: sa.Engine) -> sa.Engine:
    return platform_engine


def add(engine: sa.Engine, kind: str = "webhook", **kwargs: object) -> int:
    payload = kwargs.pop("payload", {"n": 1})
    with begin_write(engine) as conn:
        job_id = jobs.enqueue(conn, kind=kind, payload=payload, **kwargs)  # type: ignore[arg-type]
    assert job_id is not None
    return job_id


def row_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(jobs_table)).scalar_one())


def job(engine: sa.Engine, job_id: int) -> jobs.Job:
    found = job_admin.get_job(engine, job_id)
    assert found is not None
    return found


def test_r6_enqueue_in_a_rolled_back_transaction_leaves_nothing(engine: sa.Engine) -> None:
    with pytest.raises(RuntimeError), begin_write(engine) as conn:
        assert jobs.enqueue(conn, kind="mail", payload={"to": "a@b.test"}) is not None
        raise RuntimeError("the change failed after queuing its mail")
    assert row_count(engine) == 0

    job_id = add(engine, "mail", payload={"to": "a@b.test"}, portal="acme-support")
    stored = job(engine, job_id)
    assert stored.status == jobs.PENDING and stored.attempts == 0 and stored.max_attempts == 8
    assert stored.portal == "acme-support" and stored.payload == {"to": "a@b.test"}
    assert stored.run_at.tzinfo is not None and stored.created_at.tzinfo is not None
    assert stored.finished_at is None and stored.last_error is None


def test_enqueue_with_a_known_key_adds_nothing(engine: sa.Engine) -> None:
    first = add(engine, "timer", key="ticket:7:sla", payload={"record": 7})
    with begin_write(engine) as conn:
        assert jobs.enqueue(conn, kind="timer", payload={"record": 8}, key="ticket:7:sla") is None
    assert row_count(engine) == 1 and job(engine, first).payload == {"record": 7}
    # done or dead, the key stays taken: a timer fires once per state entry
    with begin_write(engine) as conn:
        assert jobs.cancel(conn, "ticket:7:sla")
        assert not jobs.cancel(conn, "ticket:7:sla")  # only a pending job can be cancelled
        assert jobs.enqueue(conn, kind="timer", payload={}, key="ticket:7:sla") is None
    cancelled = job(engine, first)
    assert cancelled.status == jobs.DEAD and cancelled.last_error == "cancelled"
    assert add(engine, "timer", key="ticket:7:sla:2") != first


def test_enqueue_checks_its_arguments_before_writing(engine: sa.Engine) -> None:
    with begin_write(engine) as conn:
        for bad in ({"when": datetime.now(UTC)}, {"x": float("nan")}, {"s": {1, 2}}):
            with pytest.raises(TypeError, match="JSON"):
                jobs.enqueue(conn, kind="webhook", payload=bad)
        with pytest.raises(TypeError):
            jobs.enqueue(conn, kind="webhook", payload=[1, 2])  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            jobs.enqueue(conn, kind="", payload={})
        with pytest.raises(ValueError):
            jobs.enqueue(conn, kind="x" * 41, payload={})
        with pytest.raises(ValueError):
            jobs.enqueue(conn, kind="webhook", payload={}, max_attempts=0)
    assert row_count(engine) == 0
    # the worker sees what JSON gives back, not the caller's objects
    assert job(engine, add(engine, payload={"t": (1, 2), 3: "x"})).payload == {
        "t": [1, 2],
        "3": "x",
    }


def test_claim_takes_due_jobs_oldest_first_and_complete_finishes_them(engine: sa.Engine) -> None:
    later = add(engine, run_at=datetime.now(UTC) + timedelta(hours=1))
    a, b, c = add(engine), add(engine), add(engine, kind="mail")
    claimed = jobs.claim(engine, "w1", lease_seconds=60, limit=2)
    assert [j.id for j in claimed] == [a, b]
    for j in claimed:
        assert j.status == jobs.RUNNING and j.attempts == 1 and j.locked_by == "w1"
        assert j.locked_until is not None and j.locked_until > datetime.now(UTC)
    assert [j.id for j in jobs.claim(engine, "w2", lease_seconds=60, kinds={"mail"})] == [c]
    assert jobs.claim(engine, "w2", lease_seconds=60) == []  # `later` is not due
    assert jobs.claim(engine, "w2", lease_seconds=60, kinds=()) == []

    assert jobs.complete(engine, claimed[0], "w1")
    done = job(engine, a)
    assert done.status == jobs.DONE and done.finished_at is not None and done.locked_until is None
    assert not jobs.complete(engine, claimed[0], "w1")  # once
    assert job_admin.counts(engine) == {"pending": 1, "running": 2, "done": 1, "dead": 0}
    assert job(engine, later).status == jobs.PENDING


def test_r4_backoff_is_exponential_capped_with_full_jitter() -> None:
    top = [jobs.backoff(n, rand=lambda: 1.0) for n in range(1, 12)]
    assert top[:5] == [30.0, 60.0, 120.0, 240.0, 480.0]
    assert top[-1] == jobs.BACKOFF_CAP and max(top) == jobs.BACKOFF_CAP
    assert jobs.backoff(3, rand=lambda: 0.0) == 0.0
    assert jobs.backoff(3, rand=lambda: 0.25) == 30.0
    assert jobs.backoff(10_000, rand=lambda: 1.0) == jobs.BACKOFF_CAP  # no overflow
    # real jitter: spread over the whole window, not clustered at its end
    samples = [jobs.backoff(4) for _ in range(400)]
    assert all(0 <= s <= 240 for s in samples)
    assert min(samples) < 60 and max(samples) > 180


def test_r4_fail_reschedules_with_backoff_or_retry_after(engine: sa.Engine) -> None:
    job_id = add(engine)
    (claimed,) = jobs.claim(engine, "w1", lease_seconds=60)
    before = datetime.now(UTC)
    assert jobs.fail(engine, claimed, "w1", "HTTP 503", rand=lambda: 0.5) == jobs.PENDING
    waiting = job(engine, job_id)
    assert waiting.status == jobs.PENDING and waiting.last_error == "HTTP 503"
    assert waiting.locked_by is None and waiting.attempts == 1
    delay = (waiting.run_at - before).total_seconds()
    assert 14 <= delay <= 16  # half of the first 30 s window
    assert jobs.claim(engine, "w1", lease_seconds=60) == []  # not due yet

    # a longer Retry-After wins; a shorter one does not shorten the backoff
    for after, low, high in ((600.0, 599, 601), (1.0, 14, 16), (10**9, 86399, 86401)):
        with engine.begin() as conn:
            conn.execute(jobs_table.update().values(run_at=datetime.now(UTC)))
        (again,) = jobs.claim(engine, "w1", lease_seconds=60)
        now = datetime.now(UTC)
        jobs.fail(engine, again, "w1", "HTTP 429", retry_after=after, rand=lambda: 0.0)
        seconds = (job(engine, job_id).run_at - now).total_seconds()
        if after == 1.0:  # backoff 0 with rand 0: the Retry-After of 1 s applies
            assert 0.5 <= seconds <= 1.5
        else:
            assert low <= seconds <= high


def test_r4_dead_letter_after_max_attempts_or_a_permanent_failure(engine: sa.Engine) -> None:
    job_id = add(engine, max_attempts=2)
    (first,) = jobs.claim(engine, "w1", lease_seconds=60)
    assert jobs.fail(engine, first, "w1", "timeout", rand=lambda: 0.0) == jobs.PENDING
    (second,) = jobs.claim(engine, "w1", lease_seconds=60)
    assert second.attempts == 2
    assert jobs.fail(engine, second, "w1", "timeout again", rand=lambda: 0.0) == jobs.DEAD
    dead = job(engine, job_id)
    assert dead.status == jobs.DEAD and dead.finished_at is not None
    assert dead.last_error == "timeout again"
    assert jobs.claim(engine, "w1", lease_seconds=60) == []
    assert [j.id for j in job_admin.list_jobs(engine, status=jobs.DEAD)] == [job_id]

    other = add(engine)
    (claimed,) = jobs.claim(engine, "w1", lease_seconds=60)
    assert jobs.fail(engine, claimed, "w1", "HTTP 404", permanent=True) == jobs.DEAD
    assert job(engine, other).attempts == 1
    assert jobs.fail(engine, claimed, "w1", "again") == jobs.STALE
    long_error = "x" * (jobs.MAX_ERROR_LENGTH + 100)
    third = add(engine)
    (claimed,) = jobs.claim(engine, "w1", lease_seconds=60)
    jobs.fail(engine, claimed, "w1", long_error, permanent=True)
    assert len(job(engine, third).last_error or "") == jobs.MAX_ERROR_LENGTH


def test_retry_and_discard(engine: sa.Engine) -> None:
    dead_id = add(engine, max_attempts=1)
    (claimed,) = jobs.claim(engine, "w1", lease_seconds=60)
    assert jobs.fail(engine, claimed, "w1", "HTTP 500") == jobs.DEAD

    assert job_admin.retry(engine, dead_id)
    again = job(engine, dead_id)
    assert again.status == jobs.PENDING and again.attempts == 0 and again.finished_at is None
    assert again.run_at <= datetime.now(UTC)
    (claimed,) = jobs.claim(engine, "w1", lease_seconds=60)
    assert claimed.id == dead_id and claimed.attempts == 1
    assert not job_admin.retry(engine, dead_id) and not job_admin.discard(
        engine, dead_id
    )  # running
    assert jobs.complete(engine, claimed, "w1")
    assert not job_admin.retry(engine, dead_id)  # done stays done
    assert not job_admin.discard(engine, dead_id)
    assert job(engine, dead_id).status == jobs.DONE

    waiting = add(engine, run_at=datetime.now(UTC) + timedelta(days=1))
    assert job_admin.discard(engine, waiting)
    gone = job(engine, waiting)
    assert gone.status == jobs.DEAD and gone.last_error == "discarded"
    assert jobs.claim(engine, "w1", lease_seconds=60) == []
    assert job_admin.retry(engine, waiting) and job(engine, waiting).status == jobs.PENDING
    assert not job_admin.retry(engine, 999_999) and not job_admin.discard(engine, 999_999)
    assert job_admin.get_job(engine, 999_999) is None


def test_lease_expiry_lets_another_worker_take_over(engine: sa.Engine) -> None:
    job_id = add(engine)
    (mine,) = jobs.claim(engine, "dead-worker", lease_seconds=60)
    assert jobs.claim(engine, "w2", lease_seconds=60) == []  # the lease still holds
    # the worker dies: its lease runs out (set in the past rather than slept through, so a
    # busy machine cannot make the lease expire before the check above)
    with begin_write(engine) as conn:
        expired = datetime.now(UTC) - timedelta(seconds=1)
        conn.execute(
            jobs_table.update().where(jobs_table.c.id == job_id).values(locked_until=expired)
        )
    (taken,) = jobs.claim(engine, "w2", lease_seconds=60)
    assert taken.id == job_id and taken.attempts == 2 and taken.locked_by == "w2"
    assert taken.last_error == "worker dead-worker stopped (lease expired)"

    # the old owner wakes up: it can neither complete nor fail nor extend the job
    assert not jobs.complete(engine, mine, "dead-worker")
    assert jobs.fail(engine, mine, "dead-worker", "late") == jobs.STALE
    assert jobs.extend(engine, [job_id], "dead-worker", 60) == 0
    assert not jobs.release(engine, mine, "dead-worker")
    assert job(engine, job_id).locked_by == "w2"
    assert jobs.extend(engine, [job_id], "w2", 120) == 1
    assert jobs.complete(engine, taken, "w2")
    assert job(engine, job_id).status == jobs.DONE


def test_a_worker_lost_during_the_last_attempt_makes_the_job_dead(engine: sa.Engine) -> None:
    job_id = add(engine, max_attempts=1)
    jobs.claim(engine, "crashing-worker", lease_seconds=0.05)
    time.sleep(0.1)
    assert jobs.claim(engine, "w2", lease_seconds=60) == []
    dead = job(engine, job_id)
    assert dead.status == jobs.DEAD and dead.attempts == 1
    assert "crashing-worker" in (dead.last_error or "") and "last attempt" in (
        dead.last_error or ""
    )


def test_release_gives_an_unstarted_job_back(engine: sa.Engine) -> None:
    job_id = add(engine)
    (claimed,) = jobs.claim(engine, "w1", lease_seconds=60)
    assert jobs.release(engine, claimed, "w1")
    back = job(engine, job_id)
    assert back.status == jobs.PENDING and back.attempts == 0 and back.locked_by is None
    assert [j.id for j in jobs.claim(engine, "w2", lease_seconds=60)] == [job_id]


def test_redacted_payload_keys_are_dropped_once_done(engine: sa.Engine) -> None:
    payload = {"to": "a@b.test", "text": "https://x/reset/SECRET", jobs.REDACT_KEY: ["text"]}
    job_id = add(engine, "mail", payload=payload)
    (claimed,) = jobs.claim(engine, "w1", lease_seconds=60)
    assert claimed.payload["text"].endswith("SECRET")
    assert jobs.complete(engine, claimed, "w1")
    assert job(engine, job_id).payload == {"to": "a@b.test", jobs.REDACT_KEY: ["text"]}


def test_list_filters_counts_and_purge(engine: sa.Engine) -> None:
    a = add(engine, "mail", portal="acme-support")
    b = add(engine, "webhook", portal="acme-support")
    c = add(engine, "webhook", portal="globex")
    assert [j.id for j in job_admin.list_jobs(engine)] == [c, b, a]  # newest first
    assert [j.id for j in job_admin.list_jobs(engine, portal="acme-support", kind="webhook")] == [b]
    assert [j.id for j in job_admin.list_jobs(engine, limit=1)] == [c]
    for claimed in jobs.claim(engine, "w1", lease_seconds=60):
        assert jobs.complete(engine, claimed, "w1")
    assert job_admin.counts(engine) == {"pending": 0, "running": 0, "done": 3, "dead": 0}
    assert job_admin.purge(engine, older_than=timedelta(days=1)) == 0  # too recent
    with engine.begin() as conn:
        old = datetime.now(UTC) - timedelta(days=40)
        conn.execute(jobs_table.update().where(jobs_table.c.id != c).values(finished_at=old))
    assert job_admin.purge(engine, older_than=timedelta(days=30)) == 2
    assert [j.id for j in job_admin.list_jobs(engine)] == [c]
    assert job_admin.purge(engine, older_than=timedelta(0), statuses=(jobs.PENDING,)) == 0


def test_jobs_concurrent_claims_never_overlap(engine: sa.Engine) -> None:
    """Four threads claim from one queue: every job is claimed exactly once (SKIP LOCKED on
    PostgreSQL, BEGIN IMMEDIATE on SQLite)."""
    with begin_write(engine) as conn:
        for n in range(120):
            jobs.enqueue(conn, kind="webhook", payload={"n": n})
    claimed: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def claimer(name: str) -> None:
        try:
            while batch := jobs.claim(engine, name, lease_seconds=60, limit=7):
                with lock:
                    claimed.extend(j.id for j in batch)
                for j in batch:
                    assert jobs.complete(engine, j, name)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert len(claimed) == 120 and len(set(claimed)) == 120
    assert job_admin.counts(engine)["done"] == 120
