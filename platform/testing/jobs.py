"""Run outbox jobs in tests, synchronously and with the real handlers.

Testing apps start no background worker, so mail and webhooks wait in the outbox until a test
runs them::

    from portalis.testing.jobs import run_jobs

    client.post("/acme-support/reset", data=...)
    run_jobs(app)                      # sends the reset mail to PORTALIS_SMTP_URL
    smtp_server.wait_for(to="anna@acme.test")

The `run_jobs` fixture returns the same function.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

import pytest
import sqlalchemy as sa
from flask import Flask

from portalis.engine.data.db import create_engine
from portalis.engine.outbox.worker import Handler, Worker
from portalis.runtime.job_handlers import build_handlers, living_ticks
from portalis.runtime.settings import Settings


def run_jobs(
    target: sa.Engine | str | Flask,
    *,
    settings: Settings | None = None,
    extra: Mapping[str, Handler] | None = None,
) -> int:
    """Run every due job now, in this thread; returns how many ran.

    `target` is a Portalis app (its engine and settings are used), an engine or a database
    URL. Without an app, `settings` default to the environment (PORTALIS_SMTP_URL, …).
    With an app, workflow timers and scheduled automations run against its live portals (and
    due scheduled automations are queued first), exactly as its embedded worker would.
    `extra` adds or replaces handlers.
    """
    if isinstance(target, Flask):
        state = target.extensions["portalis"]
        handlers = build_handlers(settings or state.settings, extra, registry=state.registry)
        worker = Worker(state.engine, handlers, poll_seconds=0, ticks=living_ticks(state.registry))
        return worker.drain()
    if isinstance(target, sa.Engine):
        url = target.url.render_as_string(hide_password=False)
        return _drain(target, settings or _env_settings(url), extra)
    engine = create_engine(target)
    try:
        return _drain(engine, settings or _env_settings(target), extra)
    finally:
        engine.dispose()


@pytest.fixture(name="run_jobs")
def run_jobs_fixture() -> Callable[..., int]:
    """The `run_jobs` helper, as a fixture."""
    return run_jobs


def _drain(engine: sa.Engine, settings: Settings, extra: Mapping[str, Handler] | None) -> int:
    return Worker(engine, build_handlers(settings, extra), poll_seconds=0).drain()


def _env_settings(url: str) -> Settings:
    # the secret key is irrelevant to jobs; a fixed one keeps instance folders out of the cwd
    env = {**os.environ, "PORTALIS_DATABASE_URL": url}
    env.setdefault("PORTALIS_SECRET_KEY", "portalis-testing-jobs")
    return Settings.from_env(env)
