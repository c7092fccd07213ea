"""Shared set-up of the auth tests: a served b2c portal, a real SMTP server, browser-like
clients that sign in through the login form, and a test directory provider standing in for
LDAP. This module holds no tests.

Mail leaves through the outbox: `auth.smtp` runs the queued jobs (`run_jobs`) before every
look at the server, so tests read the mailbox as a user would after the worker ran.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pluggy
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portalis.engine.accounts.users import find_user
from portalis.engine.data.db import create_engine
from portalis.engine.definition.auth_config import AuthProvider
from portalis.engine.definition.sections import DefinitionSection
from portalis.engine.deploy.validator import Checker
from portalis.engine.hookspecs import hookimpl
from portalis.engine.portal import CompiledPortal
from portalis.runtime import default_plugins
from portalis.runtime.app import create_app
from portalis.runtime.auth.providers import BindContext, ExternalIdentity, LoginRefused
from portalis.runtime.runtime_tables import login_attempts, sessions, tokens
from portalis.runtime.settings import Settings
from portalis.testing.jobs import run_jobs
from portalis.testing.portals import BLUEPRINTS, deploy_dir, migrate_db
from portalis.testing.smtp import ReceivedMail, SmtpServer
from portalis.testing.web import session_csrf

SLUG = "acme-support"
HOME = f"/{SLUG}/"
PASSWORDS = {
    "anna@acme.test": "correct horse 42",
    "sam@support.test": "correct horse 43",
    "ben@acme.test": "correct horse 44",
    "nina@globex.test": "correct horse 45",
    "lena@acme.test": "correct horse 46",
    "hanna@acme-holding.test": "correct horse 47",
}
NEW_PASSWORD = "a new and long passphrase 7"
#: The issuer of the identities `Directory` vouches for.
DIRECTORY_ISSUER = "ldap://directory.test"
#: The provider entry (for `b2c_with(providers=...)`) that `Directory` serves.
DIRECTORY_PROVIDER = """\
    - type: directory
      name: directory
      label: Company directory
      allow_registration: true
      account_from: attribute:o
      role_map: {customers: customer}
"""
_LINK = re.compile(r"https?://[^\s\"<>]+")


def url(path: str) -> str:
    """`/acme-support<path>`."""
    return f"/{SLUG}{path}"


class Mailbox:
    """The SMTP server as seen after the worker ran: every look first sends queued mail."""

    def __init__(self, app: Flask, server: SmtpServer) -> None:
        self.app = app
        self.server = server

    def wait_for(self, *, to: str, count: int = 1, timeout: float = 10.0) -> ReceivedMail:
        """See `SmtpServer.wait_for`."""
        run_jobs(self.app)
        return self.server.wait_for(to=to, count=count, timeout=timeout)

    def to(self, address: str) -> list[ReceivedMail]:
        """See `SmtpServer.to`."""
        run_jobs(self.app)
        return self.server.to(address)

    @property
    def messages(self) -> list[ReceivedMail]:
        """Everything delivered so far."""
        run_jobs(self.app)
        return list(self.server.messages)

    def clear(self) -> None:
        """Send what is queued, then forget every received message."""
        run_jobs(self.app)
        self.server.clear()


@dataclass
class AuthHarness:
    """A served portal with mail going to `smtp_server` (read it through `smtp`)."""

    app: Flask
    engine: sa.Engine
    portal: CompiledPortal
    smtp_server: SmtpServer

    @property
    def smtp(self) -> Mailbox:
        """The mailbox, with queued mail sent first."""
        return Mailbox(self.app, self.smtp_server)

    def client(self, ip: str = "127.0.0.1", **environ: str) -> FlaskClient:
        """A new browser (cookie jar) connecting from `ip`."""
        client = self.app.test_client()
        client.environ_base.update({"REMOTE_ADDR": ip, **environ})
        return client

    def csrf(self, client: FlaskClient) -> str:
        """The CSRF token of the client's session (created when missing)."""
        return session_csrf(client, self.app)

    def post(self, client: FlaskClient, path: str, **data: str) -> TestResponse:
        """POST a form with the session's CSRF token."""
        return client.post(url(path), data={"csrf_token": self.csrf(client), **data})

    def login(
        self, client: FlaskClient, email: str, password: str | None = None, **extra: str
    ) -> TestResponse:
        """Sign in through the form (GET first, like a browser)."""
        client.get(url("/login"))
        secret = PASSWORDS.get(email, "") if password is None else password
        return self.post(client, "/login", email=email, password=secret, **extra)

    def signed_in(self, client: FlaskClient) -> bool:
        """True when the client's session is a live signed-in session."""
        response = client.get(url("/profile"))
        return response.status_code == 200

    def user(self, email: str) -> dict[str, Any]:
        """The user row (with authentication columns)."""
        with self.engine.connect() as conn:
            row = find_user(conn, self.portal, email)
        assert row is not None, email
        return row

    def update_user(self, email: str, **values: Any) -> None:
        """Change columns of a user row directly."""
        table = self.portal.tables["user"]
        with self.engine.begin() as conn:
            conn.execute(table.update().where(table.c.email == email).values(**values))

    def session_rows(self, email: str) -> list[dict[str, Any]]:
        """Every session record of a user."""
        uid = self.user(email)["id"]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(sessions).where(sessions.c.user_id == uid)).mappings()
            return [dict(r) for r in rows]

    def age_sessions(self, email: str, **shift: timedelta) -> None:
        """Move `last_seen`/`expires_at`/`created_at` of a user's sessions back in time."""
        uid = self.user(email)["id"]
        with self.engine.begin() as conn:
            for row in conn.execute(
                sa.select(sessions).where(sessions.c.user_id == uid)
            ).mappings():
                values = {col: row[col] - delta for col, delta in shift.items()}
                conn.execute(sessions.update().where(sessions.c.id == row["id"]).values(**values))

    def age_attempts(self, by: timedelta) -> None:
        """Move every recorded login attempt back in time."""
        self._shift(login_attempts, "at", by)

    def age_tokens(self, by: timedelta) -> None:
        """Move every token's expiry back in time."""
        self._shift(tokens, "expires_at", by)

    def _shift(self, table: sa.Table, column: str, by: timedelta) -> None:
        # row by row in Python: SQLite cannot subtract intervals from its datetime strings
        with self.engine.begin() as conn:
            for key, value in conn.execute(sa.select(table.c.id, table.c[column])).all():
                conn.execute(table.update().where(table.c.id == key).values({column: value - by}))

    def count(self, entity: str) -> int:
        """Rows of an entity's table."""
        table = self.portal.tables[entity]
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

    def gettext(self, locale: str, message: str, **params: Any) -> str:
        """A UI string as the app's catalog translates it."""
        with self.app.app_context():
            text: str = self.app.extensions["portalis"].i18n.gettext(locale, message, **params)
        return text


class Directory:
    """A form provider standing in for LDAP: the password "right" authenticates any user name
    as `<name>@acme.test` of the organisation "Acme GmbH", in the mapped `customers` group
    unless `groups` names other groups for that user name."""

    kind = "form"

    def __init__(
        self, entry: AuthProvider, groups: Mapping[str, tuple[str, ...]] | None = None
    ) -> None:
        self.entry = entry
        self.groups = groups or {}

    def authenticate(self, username: str, password: str) -> ExternalIdentity:
        """The user's identity, or `invalid_credentials` for any password but "right"."""
        if password != "right":
            raise LoginRefused("invalid_credentials")
        return ExternalIdentity(
            provider=self.entry.name, issuer=DIRECTORY_ISSUER, subject=f"uid={username},ou=people",
            email=f"{username}@acme.test", email_verified=True, name=username.title(),
            claims={"o": "Acme GmbH", "mail": f"{username}@acme.test", "uid": username},
            groups=self.groups.get(username, ("cn=customers,ou=groups,dc=test",)),
        )  # fmt: skip


@dataclass
class ProviderType:
    """A provider type of a test plugin: binds each entry of type `name` to `cls(entry)`."""

    name: str
    kind: str
    cls: Callable[[AuthProvider], Any]

    def bind(self, entry: AuthProvider, ctx: BindContext) -> Any:
        """The provider serving `entry`."""
        return self.cls(entry)


#: The options of the test provider types: what the core's provisioning reads.
PROVISIONING: dict[str, Any] = {
    "type": "object",
    "properties": {
        "allow_registration": {"type": "boolean"},
        "account_from": {"type": "string"},
        "role_map": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


class TestProviderSections:
    """The definition sections of the test provider types `directory` (a form) and
    `partner_sso` (a redirect)."""

    @hookimpl
    def portalis_definition_sections(self) -> list[DefinitionSection]:
        return [
            DefinitionSection("provider", "directory", PROVISIONING, "Test directory"),
            DefinitionSection("provider", "partner_sso", PROVISIONING, "Test SSO"),
        ]


def with_test_providers(*plugins: object) -> pluggy.PluginManager:
    """The runtime's plugins with the installed sign-in providers and second factor (ldap,
    saml, oidc, totp) replaced by the test `plugins` (which may serve the provider types
    `directory` and `partner_sso`)."""
    return default_plugins.plugin_manager(
        extra=[TestProviderSections(), *plugins], disabled=["ldap", "saml", "oidc", "totp"]
    )


def link_in(mail: ReceivedMail, path_part: str) -> str:
    """The portal-relative path of the first link in the mail containing `path_part`."""
    for link in _LINK.findall(mail.text):
        if path_part in link:
            return "/" + link.split("/", 3)[3]
    raise AssertionError(f"no link with {path_part!r} in:\n{mail.text}")


def definition(tmp_path: Path, **replacements: str) -> Path:
    """A copy of b2c with text replacements in portal.yaml."""
    target = tmp_path / "b2c-auth"
    shutil.copytree(BLUEPRINTS / "b2c", target)
    path = target / "portal.yaml"
    text = path.read_text()
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text)
    return target


def self_registration(tmp_path: Path) -> Path:
    """b2c with self-registration switched on."""
    return definition(tmp_path, **{"self_registration: false": "self_registration: true"})


@contextmanager
def serve(
    database_url: str,
    tmp_path: Path,
    checker: Checker,
    smtp: SmtpServer,
    blueprint: Path | None = None,
    *,
    seed: bool = True,
    env: dict[str, str] | None = None,
) -> Iterator[AuthHarness]:
    """Deploy `blueprint` (default b2c) and serve it with mail going to `smtp`."""
    engine = create_engine(database_url)
    portal = deploy_dir(engine, checker, blueprint or BLUEPRINTS / "b2c", seed=seed)
    settings = Settings.from_env(
        {
            "PORTALIS_DATABASE_URL": database_url,
            "PORTALIS_INSTANCE_PATH": str(tmp_path / "instance"),
            "PORTALIS_SMTP_URL": smtp.url,
            **(env or {}),
        },
        testing=True,
        version_check_seconds=0,
    )
    migrate_db(database_url)  # as `portalis deploy` does: apps create no tables
    app = create_app(settings)
    try:
        yield AuthHarness(app, engine, portal, smtp)
    finally:
        app.extensions["portalis"].engine.dispose()
        engine.dispose()
