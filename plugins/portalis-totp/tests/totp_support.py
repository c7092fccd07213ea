"""Shared set-up of the TOTP tests: the b2c blueprint with `two_factor: {required_for:
[agent]}`, browsers that sign in through the real forms, and an authenticator that computes
codes like a phone would (`portalis.testing.authenticator`). This module holds no tests."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from werkzeug.test import TestResponse

from portalis.testing.authenticator import Authenticator
from portalis.testing.inspection import audit_table as audit
from portalis.testing.jobs import run_jobs
from portalis.testing.portals import b2c_with
from portalis.testing.smtp import ReceivedMail, SmtpServer
from portalis.testing.web import PortalClient, WebPortal, app_state

PASSWORDS = {
    "anna@acme.test": "correct horse 42",
    "sam@support.test": "correct horse 43",
    "ben@acme.test": "correct horse 44",
}
_SECRET = re.compile(r'class="totp-secret">([A-Z2-7 ]+)<')
_RECOVERY = re.compile(r"<li><code>([a-z2-9-]+)</code></li>")


def definition(tmp_path: Path) -> Path:
    """The b2c blueprint with agents required to use a second factor."""
    return b2c_with(tmp_path / "portal", auth="  two_factor: {required_for: [agent]}\n")


def deploy(database_url: str, folder: Path, env: Mapping[str, str] | None = None) -> WebPortal:
    """Serve the definition on `database_url` (instance files under `folder`)."""
    return WebPortal.deploy(database_url, folder / "instance", definition(folder), env=env)


class Browser:
    """A PortalClient that signs in through the forms and keeps its CSRF token current."""

    def __init__(self, web: WebPortal) -> None:
        self.web = web
        self.client = PortalClient(web.app, web.slug)
        #: the last page `enrol` saw (the recovery codes)
        self.page: TestResponse | None = None

    def get(self, path: str) -> TestResponse:
        """GET a portal path."""
        return self.client.get(path)

    def post(self, path: str, **data: str) -> TestResponse:
        """POST a form with the session's CSRF token (created when the session has none)."""
        self.client.sync_csrf()
        return self.client.post(path, data)

    def login(self, email: str, password: str | None = None) -> TestResponse:
        """The password step of the login form."""
        self.get("/login")
        return self.post("/login", email=email, password=password or PASSWORDS[email])

    def signed_in(self) -> bool:
        """True when this browser has a live session."""
        return self.get("/profile").status_code == 200

    def session(self) -> dict[str, Any]:
        """A copy of the cookie session."""
        with self.client.client.session_transaction() as sess:
            return dict(sess)

    def set_session(self, **values: Any) -> None:
        """Change values of the cookie session (e.g. an old `auth_at`)."""
        with self.client.client.session_transaction() as sess:
            sess.update(values)

    def enrol(self) -> tuple[Authenticator, list[str]]:
        """Enrol from the enrolment page (signed in recently, or a pending login)."""
        page = self.get("/profile/two-factor")
        assert page.status_code == 200, page.headers.get("Location")
        phone = Authenticator(secret_in(page))
        done = self.post("/profile/two-factor", code=phone.code())
        assert done.status_code == 200
        self.page = done
        recovery = _RECOVERY.findall(done.get_data(as_text=True))
        assert len(recovery) == 10
        return phone, recovery


def secret_in(page: TestResponse) -> str:
    """The base32 key shown under the QR code."""
    found = _SECRET.search(page.get_data(as_text=True))
    assert found is not None
    return found.group(1).replace(" ", "")


def location(response: TestResponse) -> str:
    """The redirect target without the portal prefix and query."""
    target = response.headers.get("Location", "")
    return target.split("?", 1)[0].split("/acme-support", 1)[-1]


def text(response: TestResponse) -> str:
    """The page as text (entities decoded)."""
    return html.unescape(response.get_data(as_text=True))


@dataclass
class TotpPortal:
    """The served portal of a test, its SMTP server and the seeded password hashes."""

    web: WebPortal
    smtp: SmtpServer
    password_hashes: dict[int, str | None]
    #: the last audit entry id before this test started
    since: int = 0

    def browser(self) -> Browser:
        """A new browser without a session."""
        return Browser(self.web)

    @property
    def factor(self) -> Any:
        """The application's TOTP factor object."""
        return app_state(self.web.app).second_factors[0]

    def user_id(self, email: str) -> int:
        """The id of a seeded user."""
        return self.web.record_id("user", email=email)

    def enrolled(self, email: str) -> bool:
        """True when the user has a confirmed enrolment."""
        with self.web.engine.connect() as conn:
            return bool(self.factor.enrolled(conn, self.web.slug, self.user_id(email)))

    def audit(self, action: str) -> list[dict[str, Any]]:
        """The audit entries of `action` written during this test, oldest first."""
        query = (
            sa.select(audit)
            .where(audit.c.portal == self.web.slug, audit.c.action == action)
            .where(audit.c.id > self.since)
            .order_by(audit.c.id)
        )
        with self.web.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def mail_to(self, address: str, count: int = 1) -> ReceivedMail:
        """The `count`-th mail to `address`, once the outbox has been sent."""
        run_jobs(self.web.app)
        return self.smtp.wait_for(to=address, count=count)
