"""`portalis worker` and `portalis jobs`, mail through the outbox, the embedded worker.

The multi-process tests run real `portalis worker` processes on PostgreSQL against a loopback
HTTP receiver: two workers share 200 webhooks without delivering one twice, and a worker
killed with SIGKILL mid-delivery loses no job — the survivor takes it over once the lease ends.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from flask import Flask

from portalis.engine.data.db import begin_write, create_engine
from portalis.engine.data.platform_tables import ensure_platform_tables
from portalis.engine.outbox import job_admin, jobs
from portalis.engine.outbox.webhooks import enqueue_webhook
from portalis.runtime import mail
from portalis.runtime.app import create_app
from portalis.runtime.cli import cli
from portalis.runtime.job_handlers import start_embedded_worker, stop_embedded_worker
from portalis.runtime.settings import Settings
from portalis.testing.jobs import run_jobs
from portalis.testing.portals import migrate_db
from portalis.testing.smtp import HOST, SmtpServer, free_port
from portalis.testing.webhooks import LOOPBACK_ALLOW, Reply, WebhookReceiver

PORTALIS = str(Path(sys.executable).parent / "portalis")
#: Workers and apps may deliver to the loopback receiver (SSRF allow-list, SECURITY A.34).
LOOPBACK_ENV = {"PORTALIS_OUTBOUND_ALLOW": LOOPBACK_ALLOW}
MAIL = mail.Mail(
    to="anna@acme.test",
    subject="Setzen Sie Ihr Passwort zurück",
    text="Hallo Anna,\nhttp://localhost/acme-support/reset/abc\n",
    html='<html lang="de"><body><a href="http://localhost/acme-support/reset/abc">x</a></body></html>',
    locale="de",
)


@pytest.fixture
def hooks(webhook_hooks: WebhookReceiver) -> WebhookReceiver:
    return webhook_hooks


@pytest.fixture
def engine(platform_engine: sa.Engine) -> sa.Engine:
    return platform_engine


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.05)


def queue_webhooks(engine: sa.Engine, urls: list[str]) -> list[int]:
    with begin_write(engine) as conn:
        ids = [
            enqueue_webhook(conn, portal="acme-support", url=url, event="ticket.created",
                            body={"n": n})
            for n, url in enumerate(urls)
        ]  # fmt: skip
    assert None not in ids
    return [i for i in ids if i is not None]


class WorkerProcess:
    """A `portalis worker` subprocess whose stderr is collected in the background."""

    def __init__(self, url: str, cwd: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [PORTALIS, "worker", "--database-url", url, *args],
            cwd=cwd,
            env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), **LOOPBACK_ENV, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        assert self.proc.stderr is not None
        self._reader = threading.Thread(target=self._read, args=(self.proc.stderr,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line)

    def started(self, timeout: float = 60.0) -> str:
        """Wait for the start line; returns the worker id."""
        wait_until(lambda: any(" started " in line for line in self.lines) or
                   self.proc.poll() is not None, timeout, "worker start")  # fmt: skip
        line = next((line for line in self.lines if " started " in line), None)
        assert line is not None, "".join(self.lines)
        return line.split()[1]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send `sig` and wait for the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code


@pytest.fixture
def processes() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for process in started:  # whatever a failing test left running
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait(10)


def test_jobs_two_workers_no_job_runs_twice(
    postgres_url_fixture: str,
    hooks: WebhookReceiver,
    tmp_path: Path,
    processes: list[WorkerProcess],
) -> None:
    """R4 on PostgreSQL: two `portalis worker` processes share 200 webhook jobs through
    SKIP LOCKED; each job is delivered exactly once and none is lost."""
    engine = create_engine(postgres_url_fixture)
    ensure_platform_tables(engine)
    hooks.default = Reply(200, delay=0.005)  # a receiver that takes a moment, like real ones
    try:
        for _ in range(2):
            processes.append(WorkerProcess(postgres_url_fixture, tmp_path, "--poll", "0.1"))
        worker_ids = {process.started() for process in processes}
        assert len(worker_ids) == 2
        ids = queue_webhooks(engine, [hooks.url("/hook")] * 200)
        hooks.wait_for(200, timeout=120)
        wait_until(lambda: job_admin.counts(engine)["done"] == 200, 60, "200 jobs done")
        time.sleep(0.5)  # a duplicate would arrive now, if there were one
        keys = [r.header("Idempotency-Key") for r in hooks.requests]
        assert len(keys) == 200 and set(keys) == {f"job-{i}" for i in ids}
        assert sorted(r.json["n"] for r in hooks.requests) == list(range(200))
        finished = job_admin.list_jobs(engine, limit=500)
        assert {j.status for j in finished} == {jobs.DONE} and {j.attempts for j in finished} == {1}
        assert {j.locked_by for j in finished} == worker_ids  # both took their share
        for process in processes:
            assert process.stop() == 0
            assert any(" stopped" in line for line in process.lines)
    finally:
        engine.dispose()


def test_jobs_killed_worker_loses_no_job(
    postgres_url_fixture: str,
    hooks: WebhookReceiver,
    tmp_path: Path,
    processes: list[WorkerProcess],
) -> None:
    """R4: a worker killed with SIGKILL mid-delivery keeps its jobs only until its lease ends;
    the other worker then delivers them all (the interrupted one again, same Idempotency-Key)."""
    engine = create_engine(postgres_url_fixture)
    ensure_platform_tables(engine)
    held = threading.Event()
    hooks.reply("/hold", Reply(200, hold=held))  # the first delivery hangs
    try:
        ids = queue_webhooks(engine, [hooks.url("/hold")] + [hooks.url("/hook")] * 9)
        lease = ("--lease", "3", "--poll", "0.1")  # heartbeat every second
        doomed = WorkerProcess(postgres_url_fixture, tmp_path, *lease)
        processes.append(doomed)
        doomed_id = doomed.started()
        hooks.wait_for(1, path="/hold", timeout=30)  # the doomed worker is mid-delivery

        survivor = WorkerProcess(postgres_url_fixture, tmp_path, *lease)
        processes.append(survivor)
        survivor_id = survivor.started()
        time.sleep(4)  # longer than the lease: the living worker's heartbeat keeps its jobs
        assert len(hooks.requests) == 1
        assert {j.locked_by for j in job_admin.list_jobs(engine)} == {doomed_id}

        assert doomed.stop(signal.SIGKILL) == -signal.SIGKILL
        wait_until(lambda: job_admin.counts(engine)["done"] == 10, 30, "take-over")
        assert [r.header("Idempotency-Key") for r in hooks.to("/hold")] == [f"job-{ids[0]}"] * 2
        assert sorted(r.header("Idempotency-Key") or "" for r in hooks.to("/hook")) == sorted(
            f"job-{i}" for i in ids[1:]
        )
        for job in job_admin.list_jobs(engine):
            assert job.status == jobs.DONE and job.locked_by == survivor_id
            assert job.attempts == 2  # the doomed worker's claim counted as an attempt
            assert job.last_error == f"worker {doomed_id} stopped (lease expired)"
        assert survivor.stop() == 0
    finally:
        held.set()
        engine.dispose()


def test_worker_once_runs_mail_and_webhooks(
    database_url: str,
    engine: sa.Engine,
    hooks: WebhookReceiver,
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> None:
    with begin_write(engine) as conn:
        mail.enqueue_mail(conn, portal="acme-support", mail=MAIL)
        enqueue_webhook(conn, portal="acme-support", url=hooks.url(), event="e", body={"a": 1})
    result = subprocess.run(
        [PORTALIS, "worker", "--once", "--database-url", database_url],
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "PORTALIS_SMTP_URL": smtp_server.url,
            **LOOPBACK_ENV,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ran 2 job(s)"
    received = smtp_server.wait_for(to="anna@acme.test")
    assert received.subject == MAIL.subject and received.language == "de"
    assert [r.json for r in hooks.requests] == [{"a": 1}]
    assert job_admin.counts(engine)["done"] == 2


def test_worker_command_reports_an_unreachable_database(tmp_path: Path) -> None:
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    result = CliRunner().invoke(cli, ["worker", "--once", "--database-url", url])
    assert result.exit_code == 1
    assert "database unavailable" in result.output


# -- portalis jobs ------------------------------------------------------------------------------
def invoke(database_url: str, *args: str) -> Any:
    return CliRunner().invoke(cli, ["jobs", *args, "--database-url", database_url])


def test_jobs_list_retry_discard_commands(database_url: str, engine: sa.Engine) -> None:
    with begin_write(engine) as conn:
        dead_id = enqueue_webhook(conn, portal="acme-support", url="https://h.test/x",
                                  event="e", body={}, secret="whsec_1")  # fmt: skip
        waiting_id = jobs.enqueue(conn, kind="mail", payload={"to": "a@b.test"}, portal="globex")
    assert dead_id is not None and waiting_id is not None
    (claimed,) = jobs.claim(engine, "w1", lease_seconds=60, kinds={"webhook"})
    jobs.fail(engine, claimed, "w1", "POST https://h.test/x answered HTTP 410", permanent=True)

    listing = invoke(database_url, "list")
    assert listing.exit_code == 0, listing.output
    lines = [line for line in listing.output.splitlines() if line.strip()]
    assert lines[0].split()[:3] == [str(waiting_id), "pending", "mail"]
    assert lines[1].split()[:3] == [str(dead_id), "dead", "webhook"]
    assert "HTTP 410" in lines[1] and "1/8" in lines[1]
    assert "1 pending, 0 running, 0 done, 1 dead" in listing.output

    dead = invoke(database_url, "list", "--status", "dead", "--json")
    (entry,) = [json.loads(line) for line in dead.output.splitlines() if line.startswith("{")]
    assert entry["id"] == dead_id and entry["status"] == "dead"
    assert entry["payload"]["secret"] == "***"  # never printed
    assert entry["last_error"] == "POST https://h.test/x answered HTTP 410"
    by_portal = invoke(database_url, "list", "--portal", "globex", "--json")
    assert [json.loads(x)["id"] for x in by_portal.output.splitlines() if x.startswith("{")] == [
        waiting_id
    ]

    retried = invoke(database_url, "retry", str(dead_id))
    assert retried.exit_code == 0 and f"job #{dead_id} will run again" in retried.output
    again = job_admin.get_job(engine, dead_id)
    assert again is not None and again.status == jobs.PENDING and again.attempts == 0

    discarded = invoke(database_url, "discard", str(waiting_id))
    assert discarded.exit_code == 0 and f"job #{waiting_id} discarded" in discarded.output
    gone = job_admin.get_job(engine, waiting_id)
    assert gone is not None and gone.status == jobs.DEAD and gone.last_error == "discarded"

    for command in ("retry", "discard"):
        unknown = invoke(database_url, command, "999999")
        assert unknown.exit_code == 1 and "no job #999999" in unknown.output
    (claimed,) = jobs.claim(engine, "w1", lease_seconds=60)
    jobs.complete(engine, claimed, "w1")
    refused = invoke(database_url, "discard", str(dead_id))
    assert refused.exit_code == 1 and "is done and cannot be discarded" in refused.output

    purged = invoke(database_url, "purge", "--older-than", "0", "--dead")
    assert purged.exit_code == 0 and "purged 2 job(s)" in purged.output
    assert job_admin.counts(engine) == {"pending": 0, "running": 0, "done": 0, "dead": 0}


# -- mail through the outbox --------------------------------------------------------------------
def mail_app(database_url: str, tmp_path: Path, smtp_url: str, **env: str) -> Flask:
    settings = Settings.from_env(
        {"PORTALIS_DATABASE_URL": database_url, "PORTALIS_INSTANCE_PATH": str(tmp_path),
         "PORTALIS_SMTP_URL": smtp_url, **LOOPBACK_ENV, **env},
        testing=True,
    )  # fmt: skip
    migrate_db(database_url)  # as `portalis deploy` does: apps create no tables
    return create_app(settings)


def test_r4_mail_is_queued_and_sent_by_the_worker(
    database_url: str, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    app = mail_app(database_url, tmp_path, smtp_server.url)
    try:
        with app.test_request_context("/"):
            queued = mail.deliver(
                app.extensions["portalis"].settings, "reset", to="anna@acme.test", locale="de",
                name="Anna", link="http://localhost/acme-support/reset/abc", minutes=60,
                portal_title="Acme Kundenservice",
            )  # fmt: skip
        assert queued and smtp_server.messages == []  # the request did not send it
        (job,) = job_admin.list_jobs(app.extensions["portalis"].engine)
        assert job.kind == "mail" and job.payload["to"] == "anna@acme.test"
        assert run_jobs(app) == 1
        received = smtp_server.wait_for(to="anna@acme.test")
        assert received.rcpt_tos == ("anna@acme.test",)
        assert received.language == "de" and '<html lang="de">' in received.html
        with app.app_context():
            expected = app.extensions["portalis"].i18n.gettext(
                "de", "Reset your password for %(portal)s", portal="Acme Kundenservice"
            )
        assert received.subject == expected
        assert "/acme-support/reset/abc" in received.text
        done = job_admin.get_job(app.extensions["portalis"].engine, job.id)
        assert done is not None and done.status == jobs.DONE
        assert "text" not in done.payload and "html" not in done.payload  # no link kept
        assert done.payload["subject"] == expected
    finally:
        app.extensions["portalis"].engine.dispose()


def test_r4_request_never_waits_for_the_mail_server(database_url: str, tmp_path: Path) -> None:
    # a mail server that accepts connections and never answers
    with socket.create_server((HOST, 0)) as silent:
        app = mail_app(database_url, tmp_path, f"smtp://{HOST}:{silent.getsockname()[1]}")
        try:
            started = time.monotonic()
            with app.test_request_context("/"):
                assert mail.deliver(app.extensions["portalis"].settings, "reset",
                                    to="ben@acme.test", locale="en", name="Ben", link="x",
                                    minutes=60, portal_title="Acme")  # fmt: skip
            assert time.monotonic() - started < mail.SMTP_TIMEOUT
            silent.settimeout(0.2)
            with pytest.raises(TimeoutError):
                silent.accept()  # nobody even tried to connect
            assert job_admin.counts(app.extensions["portalis"].engine)["pending"] == 1
        finally:
            app.extensions["portalis"].engine.dispose()


def test_r4_mail_is_retried_when_the_server_is_down_and_dead_for_unknown_recipients(
    engine: sa.Engine, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    def settings(url: str) -> Settings:
        return Settings.from_env(
            {"PORTALIS_INSTANCE_PATH": str(tmp_path), "PORTALIS_SECRET_KEY": "k",
             "PORTALIS_SMTP_URL": url}
        )  # fmt: skip

    with begin_write(engine) as conn:
        job_id = mail.enqueue_mail(conn, portal="acme-support", mail=MAIL)
    assert job_id is not None
    down = f"smtp://{HOST}:{free_port()}"
    assert run_jobs(engine, settings=settings(down)) == 1
    waiting = job_admin.get_job(engine, job_id)
    assert waiting is not None and waiting.status == jobs.PENDING
    assert f"sending through {down[7:]} failed" in (waiting.last_error or "")
    assert waiting.payload["text"] == MAIL.text  # kept for the retry

    with engine.begin() as conn:  # the server is back; skip the backoff wait
        conn.execute(sa.text("UPDATE portalis_job SET run_at = created_at"))
    assert run_jobs(engine, settings=settings(smtp_server.url)) == 1
    assert smtp_server.wait_for(to="anna@acme.test").subject == MAIL.subject

    with begin_write(engine) as conn:
        refused_id = mail.enqueue_mail(conn, portal=None, mail=MAIL)
    with _refusing_smtp() as refusing:
        assert run_jobs(engine, settings=settings(refusing)) == 1
    dead = job_admin.get_job(engine, refused_id or 0)
    assert dead is not None and dead.status == jobs.DEAD
    assert "550" in (dead.last_error or "") and "anna@acme.test" in (dead.last_error or "")


class _RefuseRecipients:
    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return "550 5.1.1 no such mailbox"


class _refusing_smtp:  # noqa: N801 - used like a function
    """An SMTP server that refuses every recipient permanently; yields its URL."""

    def __enter__(self) -> str:
        self.controller = Controller(_RefuseRecipients(), hostname=HOST, port=free_port())
        self.controller.start()
        return f"smtp://{HOST}:{self.controller.port}"

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


# -- the embedded worker ------------------------------------------------------------------------
def test_the_embedded_worker_thread_picks_jobs_up(
    database_url: str, tmp_path: Path, hooks: WebhookReceiver
) -> None:
    app = mail_app(database_url, tmp_path, "")
    engine = app.extensions["portalis"].engine
    try:
        assert start_embedded_worker(app) is None  # testing apps run no thread by themselves
        thread = start_embedded_worker(app, force=True, poll_seconds=0.05)
        assert thread is not None and thread.is_alive() and thread.daemon
        assert start_embedded_worker(app, force=True) is thread  # one per app
        with begin_write(engine) as conn:
            enqueue_webhook(conn, portal=None, url=hooks.url(), event="e", body={"x": 1})
        hooks.wait_for(1, timeout=15)
        wait_until(lambda: job_admin.counts(engine)["done"] == 1, 15, "job done")
        assert stop_embedded_worker(app) and not thread.is_alive()
        assert stop_embedded_worker(app)  # nothing left to stop
    finally:
        stop_embedded_worker(app)
        engine.dispose()

    for mode in ("external", "off"):
        other = mail_app(database_url, tmp_path, "", PORTALIS_WORKER=mode)
        try:
            assert other.extensions["portalis"].settings.worker == mode
            assert start_embedded_worker(other, force=True) is None
        finally:
            other.extensions["portalis"].engine.dispose()
    with pytest.raises(ValueError, match="PORTALIS_WORKER"):
        Settings.from_env({"PORTALIS_SECRET_KEY": "k", "PORTALIS_WORKER": "sometimes"})


def test_create_app_starts_the_embedded_worker_outside_tests(
    database_url: str, tmp_path: Path, hooks: WebhookReceiver
) -> None:
    settings = Settings.from_env(
        {"PORTALIS_DATABASE_URL": database_url, "PORTALIS_INSTANCE_PATH": str(tmp_path),
         **LOOPBACK_ENV}
    )  # fmt: skip
    migrate_db(database_url)  # as `portalis deploy` does: apps create no tables
    app = create_app(settings)
    engine = app.extensions["portalis"].engine
    try:
        assert any(t.name == "portalis-worker" for t in threading.enumerate())
        with begin_write(engine) as conn:
            enqueue_webhook(conn, portal=None, url=hooks.url(), event="e", body={})
        hooks.wait_for(1, timeout=15)  # polls every second by default
    finally:
        assert stop_embedded_worker(app)
        engine.dispose()
