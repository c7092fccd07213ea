"""Pytest fixtures for Portalis, its plugins and blueprints.

`database_url` runs a test on SQLite and on PostgreSQL; `run_jobs` runs the outbox's due jobs.
A test that needs a missing service skips with a reason; with `CI=true` such a skip fails the
run instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.engine.db import create_engine
from portalis.engine.platform_tables import ensure_platform_tables
from portalis.engine.plugins import make_plugin_manager
from portalis.engine.validator import Checker

from .databases import postgres_available, postgres_database, sqlite_database
from .jobs import run_jobs_fixture  # noqa: F401 - registers the `run_jobs` fixture
from .smtp import SmtpServer, running_smtp_server, smtp_unavailable
from .webhooks import WebhookReceiver, webhook_receiver


def in_ci() -> bool:
    """True when running under CI (`CI=true`), where missing services are failures."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_service(reason: str | None) -> None:
    """Skip (locally) or fail (in CI) when `reason` says a service is missing."""
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"required service missing in CI: {reason}")
    pytest.skip(reason)


_pg_state: dict[str, str | None] = {}


def _pg_reason() -> str | None:
    if "reason" not in _pg_state:
        _pg_state["reason"] = postgres_available()
    return _pg_state["reason"]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        with sqlite_database(tmp_path) as url:
            yield url
        return
    require_service(_pg_reason())
    with postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite database only (for tests about SQLite behaviour)."""
    with sqlite_database(tmp_path) as url:
        yield url


@pytest.fixture
def postgres_url_fixture() -> Iterator[str]:
    """A fresh PostgreSQL schema only (for tests about PostgreSQL behaviour)."""
    require_service(_pg_reason())
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def portalis_checker() -> Checker:
    """A checker with the built-in plugins (shared: it holds no per-test state)."""
    return Checker(make_plugin_manager(load_entrypoints=False))


@pytest.fixture
def db_engine(database_url: str) -> Iterator[sa.Engine]:
    """An engine on `database_url` (SQLite and PostgreSQL), disposed afterwards."""
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def platform_engine(db_engine: sa.Engine) -> sa.Engine:
    """`db_engine` with Portalis' own tables (versions, outbox, audit, notifications) created."""
    ensure_platform_tables(db_engine)
    return db_engine


@pytest.fixture
def webhook_hooks() -> Iterator[WebhookReceiver]:
    """A webhook receiver on 127.0.0.1 recording every delivery (see `testing.webhooks`)."""
    with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps the messages it receives."""
    require_service(smtp_unavailable())
    with running_smtp_server() as server:
        yield server
