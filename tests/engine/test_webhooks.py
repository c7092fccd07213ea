"""Outgoing webhooks against a real HTTP server on 127.0.0.1 (R4): signatures receivers can
verify, retries for 5xx/408/429/timeouts honouring Retry-After, no retry for other 4xx, no
redirects followed. Worker runs use SQLite and PostgreSQL. Deliveries allow-list the loopback
receiver (`LOOPBACK_POLICY`); the SSRF rules themselves are tests/security/test_outbound_ssrf.py."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import partial

import pytest
import sqlalchemy as sa

from portalis.engine.data.db import begin_write
from portalis.engine.data.system_tables import jobs as jobs_table
from portalis.engine.outbox import job_admin, jobs
from portalis.engine.outbox.jobs import Job, PermanentFailure, RetryLater
from portalis.engine.outbox.webhooks import (
    MAX_RESPONSE_BYTES,
    enqueue_webhook,
    handle_webhook,
    parse_retry_after,
    sign,
    verify_signature,
)
from portalis.engine.outbox.worker import Worker
from portalis.testing.smtp import free_port
from portalis.testing.webhooks import LOOPBACK_POLICY, Reply, WebhookReceiver

BODY = {"event": "ticket.created", "ticket": {"id": 7, "subject": "Rechnung falsch ✓"}}


@pytest.fixture
def hooks(webhook_hooks: WebhookReceiver) -> WebhookReceiver:
    return webhook_hooks


@pytest.fixture
def engine(platform_engine: sa.Engine) -> sa.Engine:
    return platform_engine


def a_job(url: str, *, secret: str | None = None, job_id: int = 42) -> Job:
    now = datetime.now(UTC)
    payload: dict[str, object] = {"url": url, "event": "ticket.created", "body": BODY}
    if secret:
        payload["secret"] = secret
    return Job(job_id, "acme-support", "webhook", payload, jobs.RUNNING, now, 1, 8, None, None,
               now, None)  # fmt: skip


def queue(engine: sa.Engine, url: str, secret: str | None = None) -> int:
    with begin_write(engine) as conn:
        job_id = enqueue_webhook(
            conn, portal="acme-support", url=url, event="ticket.created", body=BODY, secret=secret
        )
    assert job_id is not None
    return job_id


def worker(engine: sa.Engine, timeout: float = 5.0) -> Worker:
    handler = partial(handle_webhook, timeout=timeout, policy=LOOPBACK_POLICY)
    return Worker(engine, {"webhook": handler}, worker_id="test-worker", poll_seconds=0)


def make_due(engine: sa.Engine) -> None:
    """Skip the backoff wait: the next run_once retries at once."""
    with engine.begin() as conn:
        conn.execute(
            jobs_table.update()
            .where(jobs_table.c.status == jobs.PENDING)
            .values(run_at=datetime.now(UTC) - timedelta(seconds=1))
        )


def stored(engine: sa.Engine, job_id: int) -> Job:
    found = job_admin.get_job(engine, job_id)
    assert found is not None
    return found


def test_r4_webhook_request_shape_and_verifiable_signature(hooks: WebhookReceiver) -> None:
    handle_webhook(a_job(hooks.url("/hook"), secret="whsec_test"), policy=LOOPBACK_POLICY)
    (request,) = hooks.requests
    assert request.json == BODY
    assert request.header("Content-Type") == "application/json"
    assert request.header("User-Agent") == "Portalis"
    assert request.header("X-Portalis-Event") == "ticket.created"
    assert request.header("Idempotency-Key") == "job-42"
    signature = request.header("X-Portalis-Signature") or ""
    assert verify_signature("whsec_test", request.body, signature)
    # what a receiver in any language does: HMAC-SHA256 over "<t>.<raw body>"
    fields = dict(part.split("=", 1) for part in signature.split(","))
    expected = hmac.new(
        b"whsec_test", fields["t"].encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(fields["v1"], expected)
    assert not verify_signature("other-secret", request.body, signature)
    assert not verify_signature("whsec_test", request.body + b" ", signature)
    stale = int(fields["t"]) + 301
    assert not verify_signature("whsec_test", request.body, signature, now=stale)
    assert not verify_signature("whsec_test", request.body, "v1=" + fields["v1"])
    assert verify_signature("whsec_test", b"{}", sign("whsec_test", b"{}", 1000), now=1100)

    handle_webhook(a_job(hooks.url("/plain")), policy=LOOPBACK_POLICY)
    assert hooks.to("/plain")[0].header("X-Portalis-Signature") is None


def test_r4_webhook_500_then_200_is_retried_with_the_same_idempotency_key(
    engine: sa.Engine, hooks: WebhookReceiver
) -> None:
    hooks.reply("/hook", Reply(500, body=b"database down"), Reply(200))
    job_id = queue(engine, hooks.url("/hook?token=abc"), secret="whsec_test")
    run = worker(engine)
    assert run.run_once() == 1
    failed = stored(engine, job_id)
    assert failed.status == jobs.PENDING and failed.attempts == 1
    assert failed.last_error is not None and "HTTP 500" in failed.last_error
    assert "database down" in failed.last_error and "token=abc" not in failed.last_error
    assert run.run_once() == 0  # backing off
    make_due(engine)
    assert run.run_once() == 1
    done = stored(engine, job_id)
    assert done.status == jobs.DONE and done.attempts == 2
    assert "secret" not in done.payload  # the signing secret does not outlive the delivery
    keys = [r.header("Idempotency-Key") for r in hooks.requests]
    assert keys == [f"job-{job_id}", f"job-{job_id}"]


def test_r4_webhook_429_and_503_honour_retry_after(
    engine: sa.Engine, hooks: WebhookReceiver
) -> None:
    hooks.reply("/slow", Reply(429, headers={"Retry-After": "120"}))
    job_id = queue(engine, hooks.url("/slow"))
    worker(engine).run_once()
    waiting = stored(engine, job_id)
    assert waiting.status == jobs.PENDING and "HTTP 429" in (waiting.last_error or "")
    seconds = (waiting.run_at - datetime.now(UTC)).total_seconds()
    assert 115 <= seconds <= 121

    later = datetime.now(UTC) + timedelta(hours=1)
    hooks.reply("/maintenance", Reply(503, headers={"Retry-After": format_datetime(later, True)}))
    other = queue(engine, hooks.url("/maintenance"))
    worker(engine).run_once()
    seconds = (stored(engine, other).run_at - datetime.now(UTC)).total_seconds()
    assert 3590 <= seconds <= 3601


def test_r4_webhook_408_is_retried(engine: sa.Engine, hooks: WebhookReceiver) -> None:
    hooks.reply("/hook", Reply(408))
    job_id = queue(engine, hooks.url("/hook"))
    worker(engine).run_once()
    assert stored(engine, job_id).status == jobs.PENDING
    make_due(engine)
    worker(engine).run_once()
    assert stored(engine, job_id).status == jobs.DONE and len(hooks.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
def test_r4_webhook_4xx_is_never_retried(
    engine: sa.Engine, hooks: WebhookReceiver, status: int
) -> None:
    hooks.reply("/hook", Reply(status, body=b'{"error": "no such hook"}'))
    job_id = queue(engine, hooks.url("/hook"))
    worker(engine).run_once()
    dead = stored(engine, job_id)
    assert dead.status == jobs.DEAD and dead.attempts == 1
    assert f"HTTP {status}" in (dead.last_error or "") and "no such hook" in (dead.last_error or "")
    make_due(engine)
    assert worker(engine).run_once() == 0
    assert len(hooks.requests) == 1
    assert [j.id for j in job_admin.list_jobs(engine, status=jobs.DEAD)] == [job_id]


def test_r4_webhook_redirects_are_not_followed(hooks: WebhookReceiver) -> None:
    hooks.reply("/old", Reply(308, headers={"Location": hooks.url("/new")}))
    with pytest.raises(PermanentFailure, match="redirect"):
        handle_webhook(a_job(hooks.url("/old")), policy=LOOPBACK_POLICY)
    assert [r.path for r in hooks.requests] == ["/old"]


def test_r4_webhook_responses_are_read_up_to_a_limit(hooks: WebhookReceiver) -> None:
    huge = b"x" * (MAX_RESPONSE_BYTES * 16)
    hooks.reply("/big", Reply(503, body=huge), Reply(200, body=huge))
    with pytest.raises(RetryLater) as retry:
        handle_webhook(a_job(hooks.url("/big")), policy=LOOPBACK_POLICY)
    assert "HTTP 503: " + "x" * 300 in str(retry.value) and "x" * 301 not in str(retry.value)
    handle_webhook(a_job(hooks.url("/big")), policy=LOOPBACK_POLICY)  # 200: done
    assert len(hooks.to("/big")) == 2


def test_r4_webhook_timeouts_and_refused_connections_are_retried(
    engine: sa.Engine, hooks: WebhookReceiver
) -> None:
    hooks.reply("/hang", Reply(200, delay=1.5))
    job_id = queue(engine, hooks.url("/hang"))
    assert worker(engine, timeout=0.3).run_once() == 1
    waiting = stored(engine, job_id)
    assert waiting.status == jobs.PENDING and "timed out" in (waiting.last_error or "")

    with pytest.raises(RetryLater, match="POST http://127.0.0.1"):
        handle_webhook(
            a_job(f"http://127.0.0.1:{free_port()}/hook"), timeout=2, policy=LOOPBACK_POLICY
        )


def test_webhook_urls_must_be_http(engine: sa.Engine) -> None:
    for url in ("ftp://example.test/x", "file:///etc/passwd", "javascript:alert(1)", "http://"):
        with pytest.raises(PermanentFailure):
            handle_webhook(a_job(url))
        with pytest.raises(ValueError), begin_write(engine) as conn:
            enqueue_webhook(conn, portal=None, url=url, event="x", body={})
    with pytest.raises(PermanentFailure):
        handle_webhook(a_job("http://127.0.0.1:port/x"))
    job = a_job("http://127.0.0.1/x")
    without_url = Job(**{**{f: getattr(job, f) for f in Job.__dataclass_fields__}, "payload": {}})
    with pytest.raises(PermanentFailure, match="no url"):
        handle_webhook(without_url)


def test_parse_retry_after() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now=now) == 120.0
    assert parse_retry_after(" 0 ", now=now) == 0.0
    assert parse_retry_after("Sun, 01 Mar 2026 12:05:00 GMT", now=now) == 300.0
    assert parse_retry_after("Sun, 01 Mar 2026 11:00:00 GMT", now=now) == 0.0  # in the past
    for junk in (None, "", "soon", "-5", "1.5e9"):
        assert parse_retry_after(junk, now=now) is None
