"""Pytest fixtures for Portalis, its plugins and blueprints.

Installing `portalis` registers this module as a pytest plugin (entry point `portalis` in
the group `pytest11`): tests of a plugin distribution get the fixtures without a conftest.
Do not name it again in `pytest_plugins` (it would be registered twice).

Databases and services:

- `database_url` — a fresh, empty database; every test using it runs once on SQLite and once
  on PostgreSQL. `sqlite_url` and `postgres_url_fixture` give one of them only; `db_engine`
  is an engine on `database_url`, `platform_engine` the same with Portalis' own tables.
- `portalis_checker` — a definition checker with the built-in plugins only.
- `run_jobs` — runs the outbox's due jobs now (see `portalis.testing.jobs`).
- `smtp_server`, `webhook_hooks` — a real SMTP server and a webhook receiver on 127.0.0.1.

A served portal (see `portalis.testing.portal_fixtures`):

- `portalis_definition_dir` — the definition to serve: the b2c blueprint unless your conftest
  overrides the fixture (return your own folder, e.g. a copy in `tmp_path` with your
  provider entry in `auth:`).
- `portalis_env` — settings variables and `${ENV}` values (default `{}`); put
  `PORTALIS_DISABLED_PLUGINS` here to serve without a plugin.
- `portalis_portal` — a `portalis.testing.web.WebPortal`: the definition deployed with its
  seed data on `database_url` (both databases) and served by a testing app that loads every
  installed plugin, as a server would; closed at teardown.
- `portalis_app` — its Flask app (`portalis_app.extensions["portalis"]` is the app state).
- `login_as` — `login_as(email) -> PortalClient`: a browser signed in as a seeded user
  through a real server-side session; `.get(path)` / `.post(path, data)` take portal-relative
  paths and add the CSRF token.

Browser tests: `portalis_browser` — one headless Chromium per test process (Playwright's sync
API allows one instance per process, so use this fixture rather than starting your own);
`portalis.testing.browser` has `live_server` and `new_page`.

A test that needs a missing service skips with a reason (`require_service`); with `CI=true`
such a skip fails the run instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.engine.data.db import create_engine
from portalis.engine.data.platform_tables import ensure_platform_tables
from portalis.engine.deploy.validator import Checker

from .browser import portalis_browser  # noqa: F401 - one Chromium per test process
from .databases import postgres_available, postgres_database, sqlite_database
from .jobs import run_jobs_fixture  # noqa: F401 - registers the `run_jobs` fixture
from .portal_fixtures import (  # noqa: F401 - registers the served-portal fixtures
    login_as_fixture,
    portalis_app,
    portalis_definition_dir,
    portalis_env,
    portalis_portal,
)
from .portals import installed_checker
from .services import in_ci as in_ci  # re-exported: plugin tests import them from here
from .services import require_service as require_service
from .smtp import SmtpServer, running_smtp_server, smtp_unavailable
from .webhooks import WebhookReceiver, webhook_receiver

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
    """The checker `portalis deploy` uses: built-in and installed plugins (shared: it holds
    no per-test state)."""
    return installed_checker()


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
