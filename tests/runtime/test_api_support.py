"""Shared set-up of the REST API tests: a served b2c portal and signed-in test clients.

Sign-in opens a server-side session directly (no login page) and puts it into the Flask
session the way Flask-Login does, with the CSRF secret `t` (`CSRF` carries its signed token
for the apps of `serve`, which share one secret key). This module holds no tests.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import sqlalchemy as sa
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from portalis.engine.accounts import passwords
from portalis.engine.accounts.users import find_user
from portalis.engine.data.db import create_engine
from portalis.engine.deploy.validator import Checker
from portalis.engine.portal import CompiledPortal
from portalis.runtime.app import create_app
from portalis.runtime.registry import RuntimePortal
from portalis.runtime.security import CSRF_SESSION_KEY
from portalis.runtime.sessions import open_session
from portalis.runtime.settings import Settings
from portalis.testing.portals import BLUEPRINTS, deploy_dir, migrate_db
from portalis.testing.web import csrf_token_for

SLUG = "acme-support"
API = f"/{SLUG}/api/v1"
#: The secret key of every app `serve` builds, and the CSRF token of a session with secret `t`.
SECRET_KEY = "api-tests-secret-key"
CSRF = {"X-CSRF-Token": csrf_token_for(SECRET_KEY, "t")}
SUBJECTS = {
    "t1": "Invoice 2026-114 is wrong",  # acme, by anna
    "t2": "Cannot download my contract",  # acme, by ben
    "t3": "Change of delivery address",  # globex, by nina
    "t4": "Outage in the order portal",  # globex, by nina, assigned to sam
}
#: Grants added by `extended_b2c` (b2c itself grants no deletes).
DELETE_GRANTS = {
    "ticket.yaml": "      - {roles: [customer], actions: [delete], scope: own}\n",
    "message.yaml": "      - {roles: [agent], actions: [delete], scope: all}\n",
}
#: An entity only agents may read, added by `extended_b2c`.
NOTE_ENTITY = """\
entities:
  note:
    title_field: text
    fields:
      text: {type: string, required: true, max_length: 200}
    permissions:
      - {roles: [agent], actions: [read, create], scope: all}
"""

CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass
class Harness:
    """A served portal: the app, an engine on its database and the compiled portal."""

    app: Flask
    engine: sa.Engine
    portal: CompiledPortal

    def client(self, email: str | None = None) -> FlaskClient:
        """A test client, signed in as `email` when given (CSRF token `t`)."""
        client = self.app.test_client()
        if email is not None:
            with self.engine.begin() as conn:
                row = find_user(conn, self.portal, email)
                assert row is not None, email
                secret = open_session(conn, SLUG, int(row["id"]), absolute_hours=12)
            with client.session_transaction() as sess:
                sess["_user_id"] = f"{SLUG}|{secret}"
                sess["_fresh"] = True
                sess[CSRF_SESSION_KEY] = "t"
        return client

    def user_id(self, email: str) -> int:
        """The id of a seeded user."""
        with self.engine.connect() as conn:
            row = find_user(conn, self.portal, email)
        assert row is not None, email
        return int(row["id"])

    def id_of(self, entity: str, column: str, value: Any) -> int:
        """The id of the one row of `entity` whose `column` equals `value`."""
        table = self.portal.tables[entity]
        with self.engine.connect() as conn:
            return int(
                conn.execute(sa.select(table.c.id).where(table.c[column] == value)).scalar_one()
            )

    def ticket(self, key: str) -> int:
        """The id of seeded ticket t1..t4."""
        return self.id_of("ticket", "subject", SUBJECTS[key])

    def count(self, entity: str) -> int:
        """Rows of `entity`, bypassing the policy (to prove nothing was written)."""
        table = self.portal.tables[entity]
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

    def row(self, entity: str, record_id: int) -> dict[str, Any] | None:
        """A raw row, bypassing the policy."""
        table = self.portal.tables[entity]
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(table).where(table.c.id == record_id)).mappings().first()
        return None if row is None else dict(row)

    def runtime_portal(self) -> RuntimePortal:
        """The portal object the app serves (with its cache)."""
        portal = self.app.extensions["portalis"].registry.get(SLUG)
        assert portal is not None
        return portal


def extended_b2c(tmp_path: Path) -> Path:
    """A copy of b2c that also grants deletes (customers: own tickets) and has an
    agents-only entity `note`."""
    target = tmp_path / "b2c-extended"
    shutil.copytree(BLUEPRINTS / "b2c", target)
    for name, grant in DELETE_GRANTS.items():
        path = target / "entities" / name
        text = path.read_text()  # the grant goes first in the entity's permissions
        assert text.count("    permissions:\n") == 1, name
        path.write_text(text.replace("    permissions:\n", "    permissions:\n" + grant))
    (target / "entities" / "note.yaml").write_text(NOTE_ENTITY)
    return target


@contextmanager
def serve(
    database_url: str, tmp_path: Path, checker: Checker, blueprint: Path | None = None
) -> Iterator[Harness]:
    """Deploy `blueprint` (default b2c, seeded) and serve it with a testing app."""
    engine = create_engine(database_url)
    # these tests sign in without passwords: seed users with cheap (still valid) hashes
    with mock.patch.object(passwords, "_hasher", CHEAP_HASHER):
        portal = deploy_dir(engine, checker, blueprint or BLUEPRINTS / "b2c")
    settings = Settings.from_env(
        {
            "PORTALIS_DATABASE_URL": database_url,
            "PORTALIS_INSTANCE_PATH": str(tmp_path),
            "PORTALIS_SECRET_KEY": SECRET_KEY,
        },
        testing=True,
        version_check_seconds=0,
    )
    migrate_db(database_url)  # as `portalis deploy` does: apps create no tables
    app = create_app(settings)
    try:
        yield Harness(app, engine, portal)
    finally:
        app.extensions["portalis"].engine.dispose()
        engine.dispose()


def assert_problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The problem+json body of `response`, after checking status, type and code."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["status"] == status
    if code is not None:
        assert body.get("code") == code, body
    return body
