"""Web test helpers: an app on a deployed definition, and signing in without the login form.

`portal_app` deploys a definition folder and builds a testing app on the same database;
`login_as` opens a real server-side session for a user and puts it (with a CSRF secret) into
the test client's cookie session, exactly as the login view would; `csrf_token_for` signs a
session's CSRF secret into the token Flask-WTF accepts in a form or the `X-CSRF-Token` header. `WebPortal` and
`PortalClient` bundle both for tests; `count_selects` counts the queries of a request,
`database_use` also its connections and transactions.
"""

from __future__ import annotations

import io
import os
import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pluggy
import sqlalchemy as sa
from flask import Flask, session
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event
from werkzeug.test import TestResponse

from portalis.engine.accounts.users import find_user
from portalis.engine.data.permissions import Actor
from portalis.engine.data.store import RecordStore
from portalis.engine.portal import CompiledPortal
from portalis.runtime.app import create_app
from portalis.runtime.context import AppState
from portalis.runtime.security import CSRF_SESSION_KEY
from portalis.runtime.sessions import open_session
from portalis.runtime.settings import Settings

from .portals import BLUEPRINTS, actor_for, deploy_served

#: The smallest PDF the upload checks accept (for attachment fields restricted to PDFs).
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
_TOKEN_FIELD = re.compile(r'(name="csrf_token" value=")[^"]*(")')


def portal_app(
    database_url: str,
    instance_path: str | os.PathLike[str],
    definition: str | os.PathLike[str] = BLUEPRINTS / "b2c",
    *,
    seed: bool = True,
    env: Mapping[str, str] | None = None,
    pm: pluggy.PluginManager | None = None,
) -> tuple[Flask, CompiledPortal]:
    """Deploy `definition` on `database_url` and create a testing app serving it.

    The app re-reads live versions on every request (`version_check_seconds=0`); `env` adds
    settings variables (e.g. `PORTALIS_TRUSTED_PROXIES`). Without `pm` the definition is
    checked, and the app served, with the built-in and installed entry-point plugins; with
    it, both use `pm`. Dispose of `app.extensions["portalis"].engine` when done (the
    `close_app` helper does).
    """
    compiled = deploy_served(database_url, definition, seed=seed, env=env, pm=pm)
    settings = Settings.from_env(
        {
            **(env or {}),
            "PORTALIS_DATABASE_URL": database_url,
            "PORTALIS_INSTANCE_PATH": str(instance_path),
        },
        testing=True,
        version_check_seconds=0,
    )
    return create_app(settings, pm=pm), compiled


def app_state(app: Flask) -> AppState:
    """The Portalis state of an app."""
    result: AppState = app.extensions["portalis"]
    return result


def close_app(app: Flask) -> None:
    """Release the app's database connections."""
    app_state(app).engine.dispose()


def csrf_token_for(secret_key: str, session_secret: str) -> str:
    """The CSRF token (form field or `X-CSRF-Token` header) that an app with `secret_key`
    accepts from a session holding `session_secret`; signed now, valid for the app's
    `WTF_CSRF_TIME_LIMIT`."""
    signer = Flask("portalis.testing.csrf")
    signer.secret_key = secret_key
    with signer.test_request_context():
        session[CSRF_SESSION_KEY] = session_secret
        return str(generate_csrf())


def mask_csrf(html: str) -> str:
    """`html` with every CSRF token replaced by `TOKEN`: a token is signed with the second
    it was rendered in, so two renderings of the same page differ by their tokens alone."""
    return _TOKEN_FIELD.sub(r"\1TOKEN\2", html)


def session_csrf(client: FlaskClient, app: Flask, path: str = "/") -> str:
    """The CSRF token of `client`'s cookie session for requests to `path` (a secret is put
    there when it has none, as rendering a form would)."""
    with client.session_transaction(path) as sess:
        secret = sess.get(CSRF_SESSION_KEY)
        if not isinstance(secret, str):
            secret = sess[CSRF_SESSION_KEY] = secrets.token_hex(20)
    return csrf_token_for(str(app.secret_key), secret)


def login_as(client: FlaskClient, app: Flask, portal_slug: str, email: str) -> str:
    """Sign `email` in on `client` for `portal_slug`; returns the session's CSRF token."""
    st = app_state(app)
    with app.app_context():
        portal = st.registry.require(portal_slug)
        with st.engine.begin() as conn:
            row = find_user(conn, portal.compiled, email)
            if row is None:
                raise LookupError(f"no user {email!r} in {portal_slug}")
            secret = open_session(
                conn,
                portal_slug,
                int(row["id"]),
                absolute_hours=portal.compiled.model.auth.absolute_hours,
                ip="127.0.0.1",
                user_agent="portalis-tests",
            )
    with client.session_transaction() as sess:
        sess.clear()
        sess["_user_id"] = f"{portal_slug}|{secret}"
        sess["_fresh"] = True
    return session_csrf(client, app)


def record_id(app: Flask, portal_slug: str, entity: str, **where: object) -> int:
    """The id of the first record of `entity` whose columns equal `where` (no permissions)."""
    st = app_state(app)
    with app.app_context():
        portal = st.registry.require(portal_slug)
        table = portal.compiled.tables[entity]
        query = sa.select(table.c.id).where(*(table.c[k] == v for k, v in where.items()))
        with st.engine.connect() as conn:
            value = conn.execute(query.order_by(table.c.id).limit(1)).scalar()
    if value is None:
        raise LookupError(f"no {entity} with {where}")
    return int(value)


@contextmanager
def count_selects(engine: sa.Engine) -> Iterator[list[str]]:
    """Collect the SELECT statements `engine` runs inside the block."""
    statements: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


@dataclass
class DatabaseUse:
    """What an engine did inside a `database_use` block: connections checked out of the pool,
    transactions begun (SQLAlchemy's `begin` event, also for a driver that sends no BEGIN)
    and every statement sent."""

    checkouts: int = 0
    transactions: int = 0
    statements: list[str] = field(default_factory=list)

    def matching(self, *words: str) -> list[str]:
        """The statements that mention each of `words` (case-insensitive)."""
        lowered = [w.lower() for w in words]
        return [s for s in self.statements if all(w in s.lower() for w in lowered)]

    @property
    def begins(self) -> list[str]:
        """The BEGIN statements Portalis sent itself (SQLite's transactions)."""
        return [s for s in self.statements if s.lstrip().upper().startswith("BEGIN")]


@contextmanager
def database_use(engine: sa.Engine) -> Iterator[DatabaseUse]:
    """Count the checkouts, transactions and statements of `engine` inside the block."""
    use = DatabaseUse()

    def checkout(*_: Any) -> None:
        use.checkouts += 1

    def begin(*_: Any) -> None:
        use.transactions += 1

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        use.statements.append(statement)

    listeners = [
        (engine.pool, "checkout", checkout),
        (engine, "begin", begin),
        (engine, "before_cursor_execute", before),
    ]
    for target, name, fn in listeners:
        event.listen(target, name, fn)
    try:
        yield use
    finally:
        for target, name, fn in listeners:
            event.remove(target, name, fn)


class PortalClient:
    """A test browser for one portal: portal-relative paths, CSRF added to every POST."""

    def __init__(self, app: Flask, slug: str) -> None:
        self.app = app
        self.slug = slug
        self.client = app.test_client()
        self.csrf = ""

    def login(self, email: str) -> PortalClient:
        """Sign in as `email` (a real server-side session)."""
        self.csrf = login_as(self.client, self.app, self.slug, email)
        return self

    def sync_csrf(self) -> str:
        """Take the CSRF token of the browser's current session (after a sign-in through a
        form or an SSO flow, which start a new session); returns it."""
        self.csrf = session_csrf(self.client, self.app)
        return self.csrf

    def url(self, path: str) -> str:
        """`/<slug><path>`."""
        return f"/{self.slug}{path}"

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        """GET a portal path."""
        return self.client.get(self.url(path), **kwargs)

    def post(self, path: str, data: Mapping[str, Any] | None = None, **kwargs: Any) -> TestResponse:
        """POST a form (multipart when it holds files) with the session's CSRF token."""
        form = {"csrf_token": self.csrf, **(data or {})}
        return self.client.post(self.url(path), data=form, **kwargs)


def upload_ticket(
    browser: PortalClient, subject: str, content: bytes = PDF, filename: str = "doc.pdf"
) -> tuple[int, str]:
    """Create a ticket with an attachment through the new-ticket form of the b2c blueprint
    (or a copy of it): the ticket's id and the stored file's id, read from the download link
    on the ticket's page."""
    response = browser.post(
        "/tickets/new",
        {"_block": "0", "subject": subject, "attachment": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.text
    ticket = int(response.headers["Location"].rsplit("/", 1)[1])
    page = browser.get(f"/tickets/{ticket}").text
    link = re.escape(browser.url("/_files/"))
    match = re.search(f'href="{link}([A-Za-z0-9_-]+)" download>', page)
    assert match, page
    return ticket, match.group(1)


@dataclass
class WebPortal:
    """A deployed definition served by a testing app (see `portal_app`)."""

    app: Flask
    compiled: CompiledPortal

    @classmethod
    def deploy(
        cls,
        database_url: str,
        instance_path: str | os.PathLike[str],
        definition: str | os.PathLike[str] = BLUEPRINTS / "b2c",
        *,
        seed: bool = True,
        env: Mapping[str, str] | None = None,
        pm: pluggy.PluginManager | None = None,
    ) -> WebPortal:
        """Deploy `definition` and serve it (`env`: extra settings variables; `pm`: the
        plugins of the check and the app, as in `portal_app`)."""
        app, compiled = portal_app(
            database_url, instance_path, definition, seed=seed, env=env, pm=pm
        )
        return cls(app, compiled)

    @property
    def slug(self) -> str:
        """The portal's slug."""
        return self.compiled.slug

    @property
    def engine(self) -> sa.Engine:
        """The app's engine."""
        return app_state(self.app).engine

    @property
    def store(self) -> RecordStore:
        """A record store on the app's engine (for arranging data without HTTP)."""
        return self.compiled.store(self.engine)

    def actor(self, email: str) -> Actor:
        """The actor of a user."""
        return actor_for(self.engine, self.compiled, email)

    def client(self, email: str | None = None) -> PortalClient:
        """A new browser, signed in as `email` when given."""
        browser = PortalClient(self.app, self.slug)
        return browser.login(email) if email else browser

    def record_id(self, entity: str, **where: object) -> int:
        """The id of the first `entity` record whose columns equal `where`."""
        return record_id(self.app, self.slug, entity, **where)

    def close(self) -> None:
        """Release database connections."""
        close_app(self.app)
