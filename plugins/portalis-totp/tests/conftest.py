"""Fixtures of the TOTP tests.

Deploying a portal costs seconds, so each database (SQLite and PostgreSQL, made by the same
helpers as the Portalis `database_url` fixture) serves one deployment for the whole run;
the function-scoped `portal` fixture puts it back to its seeded state before every test
(enrolments, recovery codes, sessions, throttling, tokens and password hashes; the audit log
is append-only, so each test reads only the entries written after it started).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
import sqlalchemy as sa
from totp_support import TotpPortal, deploy

from portalis.testing.databases import postgres_available, postgres_database, sqlite_database
from portalis.testing.inspection import audit_table as audit
from portalis.testing.inspection import login_attempts, sessions, tokens
from portalis.testing.pytest_plugin import require_service
from portalis.testing.smtp import running_smtp_server


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TotpPortal]:
    """The b2c blueprint (agents must use 2FA) deployed once per database, mail to SMTP."""
    folder: Path = tmp_path_factory.mktemp(f"totp-{request.param}")
    database: AbstractContextManager[str]
    if request.param == "sqlite":
        database = sqlite_database(folder)
    else:
        require_service(postgres_available())
        database = postgres_database()
    with running_smtp_server() as smtp, database as url:
        web = deploy(url, folder, env={"PORTALIS_SMTP_URL": smtp.url})
        users = web.compiled.tables["user"]
        with web.engine.connect() as conn:
            hashes = dict(conn.execute(sa.select(users.c.id, users.c.password_hash)).all())
        try:
            yield TotpPortal(web, smtp, hashes)
        finally:
            web.close()


@pytest.fixture
def portal(served: TotpPortal) -> TotpPortal:
    """The shared deployment, back in its seeded state."""
    from portalis_totp.tables import metadata

    web = served.web
    users = web.compiled.tables["user"]
    with web.engine.begin() as conn:
        for table in [*metadata.sorted_tables, login_attempts, sessions, tokens]:
            conn.execute(table.delete().where(table.c.portal == web.slug))
        for uid, password_hash in served.password_hashes.items():
            conn.execute(
                users.update().where(users.c.id == uid).values(password_hash=password_hash)
            )
        served.since = int(
            conn.execute(sa.select(sa.func.coalesce(sa.func.max(audit.c.id), 0))).scalar_one()
        )
    served.smtp.clear()
    return served
