"""Fixtures of the sandbox tests: the provider's tables on a fresh database (SQLite and
PostgreSQL), and the shop portal served once per database for the hosted-page tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
import sqlalchemy as sa
from portalis_payments_sandbox.pages import deliveries_of
from portalis_payments_sandbox.tables import metadata
from sandbox_support import ENV, SHOP

from portalis.testing.databases import postgres_available, postgres_database, sqlite_database
from portalis.testing.pytest_plugin import require_service
from portalis.testing.web import WebPortal
from portalis.testing.webhooks import WebhookReceiver, webhook_receiver


@pytest.fixture
def engine(db_engine: sa.Engine) -> sa.Engine:
    """A fresh database (SQLite, PostgreSQL; Portalis' engine set-up) with the sandbox's
    tables."""
    metadata.create_all(db_engine)
    return db_engine


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebPortal]:
    """The shop portal deployed (its `payments:` entry checked with the plugin) and served
    by a testing app, once per database."""
    folder: Path = tmp_path_factory.mktemp(f"sandbox-{request.param}")
    database: AbstractContextManager[str]
    if request.param == "sqlite":
        database = sqlite_database(folder)
    else:
        require_service(postgres_available())
        database = postgres_database()
    with database as url:
        web = WebPortal.deploy(url, folder / "instance", SHOP, seed=False, env=ENV)
        try:
            yield web
        finally:
            deliveries_of(web.app).cancel_timers()
            deliveries_of(web.app).wait()
            web.close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """The portal's events endpoint, played by a real HTTP server on 127.0.0.1."""
    with webhook_receiver() as hooks:
        yield hooks
