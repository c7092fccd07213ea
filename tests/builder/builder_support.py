"""Shared set-up of the builder tests: a served b2c portal, builder accounts created in the
database, and a test browser that signs in to the builder through its real forms with an
authenticator computing codes like a phone (`portalis.testing.authenticator`). This module holds no tests."""

from __future__ import annotations

import re
from collections.abc import Iterable

import sqlalchemy as sa
from flask import Flask
from werkzeug.test import TestResponse

from portalis.builder.accounts import create_account
from portalis.engine.data.db import begin_write
from portalis.testing.authenticator import Authenticator
from portalis.testing.inspection import audit_table
from portalis.testing.web import app_state, session_csrf

PASSWORD = "builder horse battery 7"
_SECRET = re.compile(r'data-secret="([A-Z2-7]+)"')


def add_account(
    engine: sa.Engine,
    email: str,
    *,
    portals: Iterable[str] = ("*",),
    rights: Iterable[str] = ("edit",),
    password: str = PASSWORD,
) -> int:
    """A builder account in the database (what `portalis builder-users create` writes)."""
    with begin_write(engine) as conn:
        return create_account(conn, email, password, portals=portals, rights=rights)


def audit_actions(engine: sa.Engine, portal: str = "_builder") -> list[str]:
    """The builder actions of the audit log for `portal`, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit_table.c.action)
            .where(audit_table.c.portal == portal, audit_table.c.action.startswith("builder_"))
            .order_by(audit_table.c.id)
        ).scalars()
        return list(rows)


class BuilderBrowser:
    """A test browser of the builder: every POST carries the session's CSRF token."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client = app.test_client()
        self.authenticator: Authenticator | None = None

    @property
    def engine(self) -> sa.Engine:
        """The app's database."""
        return app_state(self.app).engine

    def get(self, path: str, **kwargs: object) -> TestResponse:
        """GET a path."""
        return self.client.get(path, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, *, csrf: bool = True, **data: str) -> TestResponse:
        """POST a form (with the session's CSRF token unless `csrf` is False)."""
        form = dict(data)
        if csrf:
            form["csrf_token"] = session_csrf(self.client, self.app, path)
        return self.client.post(path, data=form)

    def password(self, email: str, password: str = PASSWORD) -> TestResponse:
        """The first step: e-mail address and password."""
        return self.post("/_builder/login", email=email, password=password)

    def enrol(self) -> TestResponse:
        """The first sign-in's second step: read the key off the page, confirm a code."""
        page = self.get("/_builder/login/code")
        assert page.status_code == 200, page.text
        match = _SECRET.search(page.text)
        assert match, page.text
        self.authenticator = Authenticator(match.group(1))
        return self.post("/_builder/login/code", code=self.authenticator.code())

    def sign_in(self, email: str, password: str = PASSWORD) -> TestResponse:
        """Both steps (enrolling on the first sign-in of this browser's authenticator)."""
        first = self.password(email, password)
        assert first.status_code == 303, first.text
        if self.authenticator is None:
            done = self.enrol()
            assert done.status_code == 200 and "Recovery codes" in done.text, done.text
            return done
        return self.post("/_builder/login/code", code=self.authenticator.code())
