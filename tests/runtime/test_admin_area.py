"""The portal admin area (`/admin/...`; SECURITY A.16, A.18, A.20): access, user tools, test
logins, and the profile's sign-in methods — on SQLite and PostgreSQL.

The b2c blueprint is served with two extra provider entries bound by a test plugin (the
provider protocol is the contract, so a tiny directory and a tiny SSO provider stand in for
LDAP and SAML servers) and a test second factor that keeps its enrolments in memory.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from test_auth_support import (
    DIRECTORY_ISSUER,
    DIRECTORY_PROVIDER,
    Directory,
    ProviderType,
    with_test_providers,
)
from werkzeug.wrappers import Response

from portalis.engine.accounts.users import create_user
from portalis.engine.data.db import begin_write
from portalis.engine.data.system_tables import audit
from portalis.engine.data.tables import utcnow
from portalis.engine.definition.auth_config import AuthProvider
from portalis.engine.plugins import hookimpl
from portalis.runtime.auth.providers import ExternalIdentity, LoginRefused
from portalis.runtime.runtime_tables import identities, sessions
from portalis.testing.portals import b2c_with
from portalis.testing.web import PortalClient, WebPortal, count_selects

SLUG = "acme-support"
PROVIDERS = (
    DIRECTORY_PROVIDER
    + """\
    - type: partner_sso
      name: partner
      label: Partner SSO
"""
)


class PartnerSso:
    """A redirect provider whose "IdP" answers at once with the callback step."""

    kind = "redirect"

    def __init__(self, entry: AuthProvider) -> None:
        self.entry = entry

    def begin(self, flow: Any) -> Response:
        flow.data["state"] = "s1"
        return Response(status=303, headers={"Location": flow.path("callback") + "?state=s1"})

    def step(self, name: str, flow: Any) -> Response | ExternalIdentity:
        from flask import request

        if name != "callback" or request.args.get("state") != flow.data.get("state"):
            raise LoginRefused("bad_state")
        return ExternalIdentity(
            provider=self.entry.name, issuer="https://partner.test", subject="p-42",
            email="petra@partner.test", email_verified=False, name="Petra",
            claims={"sub": "p-42", "groups": ["staff"]}, groups=("staff",),
        )  # fmt: skip

    def csrf_exempt(self, name: str) -> bool:
        return False


@dataclass
class MemoryFactor:
    """A second factor keeping enrolments in memory (`disable` like every real factor); it
    asks the database like a real one so the admin list's query count sees it."""

    name: str = "code"
    enrol_path: str = "/profile/two-factor"
    users: set[int] = field(default_factory=set)

    def label(self) -> str:
        return "Code app"

    def enrolled(self, conn: sa.Connection, portal: str, user_id: int) -> bool:
        conn.execute(sa.text("SELECT 1"))  # a real factor reads its table: one query a user
        return user_id in self.users

    def enrolled_users(self, conn: sa.Connection, portal: str, user_ids: list[int]) -> set[int]:
        """The batch question the admin list asks (one query for a whole page)."""
        conn.execute(sa.text("SELECT 1"))
        return self.users & set(user_ids)

    def verify(self, conn: sa.Connection, portal: str, user_id: int, code: str) -> bool:
        return code == "123456"

    def disable(self, conn: sa.Connection, portal: str, user_id: int) -> bool:
        found = user_id in self.users
        self.users.discard(user_id)
        return found

    def required_roles(self, model: Any) -> frozenset[str]:
        return frozenset()


class FakeDirectoryPlugin:
    """Registers the test provider types and the factor."""

    def __init__(self, factor: MemoryFactor) -> None:
        self.factor = factor

    @hookimpl
    def portalis_auth_provider_types(self) -> list[Any]:
        return [
            ProviderType("directory", "form", Directory),
            ProviderType("partner_sso", "redirect", PartnerSso),
        ]

    @hookimpl
    def portalis_second_factors(self) -> list[Any]:
        return [self.factor]


@dataclass
class Served:
    web: WebPortal
    factor: MemoryFactor

    def uid(self, email: str) -> int:
        return self.web.record_id("user", email=email)

    def count(self, table: sa.Table, **where: Any) -> int:
        query = sa.select(sa.func.count()).select_from(table)
        query = query.where(*(table.c[k] == v for k, v in where.items()))
        with self.web.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def audits(self, action: str) -> list[Any]:
        with self.web.engine.connect() as conn:
            return list(conn.execute(sa.select(audit).where(audit.c.action == action)).mappings())


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Served]:
    folder = b2c_with(tmp_path / "portal", providers=PROVIDERS)
    factor = MemoryFactor()
    pm = with_test_providers(FakeDirectoryPlugin(factor))
    web = WebPortal.deploy(database_url, tmp_path / "i", folder, pm=pm)
    try:
        yield Served(web, factor)
    finally:
        web.close()


def set_auth_at(browser: PortalClient, when: float) -> None:
    with browser.client.session_transaction() as sess:
        sess["auth_at"] = when


def location(response: Any) -> str:
    return str(response.headers.get("Location", ""))


ADMIN_PATHS = ("/admin/users", "/admin/auth")


def test_a20_admin_pages_access_matrix(served: Served) -> None:
    web = served.web
    for path in ADMIN_PATHS:
        anonymous = web.client().get(path)
        assert anonymous.status_code == 302
        assert location(anonymous).startswith(f"/{SLUG}/login?next=")
        for email in ("ben@acme.test", "anna@acme.test"):
            assert web.client(email).get(path).status_code == 403
        assert web.client("sam@support.test").get(path).status_code == 200
    # the POST endpoints refuse the same people before looking at the form
    for path in ("/admin/users", "/admin/auth/directory/test"):
        for email in ("ben@acme.test", "anna@acme.test"):
            data = {"action": "revoke_sessions", "user": str(served.uid("sam@support.test"))}
            assert web.client(email).post(path, data).status_code == 403
    assert served.count(sessions, user_id=served.uid("sam@support.test"), revoked=True) == 0
    # the user menu shows the link to administrators only
    assert f'href="/{SLUG}/admin/users"' in web.client("sam@support.test").get("/profile").text
    assert "/admin/users" not in web.client("anna@acme.test").get("/profile").text


def test_admin_user_list_shows_every_user_with_one_query_per_kind(served: Served) -> None:
    web = served.web
    ben = served.uid("ben@acme.test")
    served.factor.users.add(ben)
    web.client("ben@acme.test")  # one live session
    with begin_write(web.engine) as conn:
        conn.execute(
            identities.insert().values(
                portal=SLUG, provider="directory", issuer=DIRECTORY_ISSUER, subject="uid=ben",
                user_id=ben, created_at=utcnow(), last_login_at=None,
            )
        )  # fmt: skip
    sam = web.client("sam@support.test")
    page = sam.get("/admin/users")
    assert page.status_code == 200
    body = page.text
    for email in ("anna@acme.test", "ben@acme.test", "nina@globex.test", "sam@support.test"):
        assert email in body
    assert "Acme GmbH" in body and "Globex Ltd" in body
    assert "Company directory" in body and "Code app" in body
    found = sam.get("/admin/users?q=GLOBEX").text
    assert "nina@globex.test" in found and "ben@acme.test" not in found
    assert "No users match your search." in sam.get("/admin/users?q=%25").text

    with count_selects(web.engine) as before:
        assert sam.get("/admin/users").status_code == 200
    with begin_write(web.engine) as conn:
        for i in range(12):
            create_user(conn, web.compiled, email=f"user{i}@acme.test", name=f"User {i}",
                        password=None, roles=("customer",), account=None)  # fmt: skip
    with count_selects(web.engine) as after:
        listing = sam.get("/admin/users")
    assert "user11@acme.test" in listing.text
    assert len(after) == len(before), "the list must not query once per user"


def test_admin_user_list_pages_by_fifty(served: Served) -> None:
    web = served.web
    with begin_write(web.engine) as conn:
        for i in range(50):
            create_user(conn, web.compiled, email=f"zz{i:02d}@acme.test", name=f"Zz {i:02d}",
                        password=None, roles=("customer",), account=None)  # fmt: skip
    sam = web.client("sam@support.test")
    first = sam.get("/admin/users").text
    assert first.count('name="action" value="revoke_sessions"') == 50
    assert "page=2" in first
    second = sam.get("/admin/users?page=2").text
    assert second.count('name="action" value="revoke_sessions"') == 6  # 56 users in all
    assert "Zz 49" in second


def test_a16_sign_out_everywhere_ends_the_users_live_session(served: Served) -> None:
    web = served.web
    ben = web.client("ben@acme.test")
    assert ben.get("/profile").status_code == 200
    sam = web.client("sam@support.test")
    uid = served.uid("ben@acme.test")
    done = sam.post("/admin/users", {"action": "revoke_sessions", "user": str(uid)})
    assert done.status_code == 303
    assert location(done) == f"/{SLUG}/admin/users"
    after = ben.get("/profile")
    assert after.status_code == 302 and location(after).startswith(f"/{SLUG}/login")
    assert served.count(sessions, user_id=uid, revoked=False) == 0
    (entry,) = served.audits("sessions_revoked_by_admin")
    assert entry["actor_id"] == uid and entry["actor_email"] == "ben@acme.test"
    assert entry["detail"]["count"] == 1
    assert entry["detail"]["admin_id"] == served.uid("sam@support.test")
    # the administrator's own session is untouched
    assert sam.get("/admin/users").status_code == 200


def test_a18_reset_two_factor_needs_a_recent_authentication(served: Served) -> None:
    web = served.web
    uid = served.uid("ben@acme.test")
    served.factor.users.add(uid)
    sam = web.client("sam@support.test")
    set_auth_at(sam, time.time() - 3600)
    asked = sam.post("/admin/users", {"action": "reset_2fa", "user": str(uid)})
    assert asked.status_code == 303
    assert location(asked).startswith(f"/{SLUG}/profile/confirm?next=")
    assert uid in served.factor.users
    assert served.audits("two_factor_reset_by_admin") == []

    set_auth_at(sam, time.time())
    done = sam.post("/admin/users", {"action": "reset_2fa", "user": str(uid)})
    assert done.status_code == 303 and location(done) == f"/{SLUG}/admin/users"
    assert uid not in served.factor.users
    (entry,) = served.audits("two_factor_reset_by_admin")
    assert entry["actor_id"] == uid and entry["detail"]["factors"] == ["code"]


def test_admin_unlink_identity_of_that_user_only(served: Served) -> None:
    web = served.web
    ben = served.uid("ben@acme.test")
    with begin_write(web.engine) as conn:
        ident = conn.execute(
            identities.insert().values(
                portal=SLUG, provider="partner", issuer="https://partner.test", subject="b",
                user_id=ben, created_at=utcnow(), last_login_at=None,
            )
        ).inserted_primary_key[0]  # fmt: skip
    sam = web.client("sam@support.test")
    nina = served.uid("nina@globex.test")
    # an identity id of another user is not touched
    sam.post("/admin/users", {"action": "unlink", "user": str(nina), "identity": str(ident)})
    assert served.count(identities, user_id=ben) == 1
    sam.post("/admin/users", {"action": "unlink", "user": str(ben), "identity": str(ident)})
    assert served.count(identities, user_id=ben) == 0
    (entry,) = served.audits("identity_unlinked_by_admin")
    assert entry["actor_id"] == ben and entry["detail"]["provider"] == "partner"


def test_admin_auth_page_lists_providers_and_rules(served: Served) -> None:
    page = served.web.client("sam@support.test").get("/admin/auth").text
    assert "Company directory" in page and "Partner SSO" in page
    assert f'action="/{SLUG}/auth/partner/start"' in page
    assert 'name="purpose" value="test"' in page
    assert f'action="/{SLUG}/admin/auth/directory/test"' in page
    assert f'action="/{SLUG}/admin/auth/password/test"' not in page
    assert "60 minutes" in page and "12 hours" in page


def test_admin_form_provider_test_login_is_a_dry_run(served: Served) -> None:
    web = served.web
    sam = web.client("sam@support.test")
    users_before = served.count(web.compiled.tables["user"])
    sessions_before = served.count(sessions)
    result = sam.post("/admin/auth/directory/test", {"username": "carla", "password": "right"})
    assert result.status_code == 200
    body = result.text
    assert "Dry run: nothing was saved." in body
    assert "Create a new user and sign them in." in body
    assert "Acme GmbH" in body and "attribute:o" in body
    assert "carla@acme.test" in body and DIRECTORY_ISSUER in body and "uid=carla,ou=people" in body
    assert "cn=customers,ou=groups,dc=test" in body and "Customer" in body
    assert served.count(web.compiled.tables["user"]) == users_before
    assert served.count(sessions) == sessions_before
    assert served.count(identities) == 0
    (entry,) = served.audits("auth_test")
    assert entry["detail"]["result"] == "create" and entry["detail"]["provider"] == "directory"
    # still signed in as the administrator
    assert sam.get("/admin/users").status_code == 200

    refused = sam.post("/admin/auth/directory/test", {"username": "carla", "password": "no"})
    assert refused.status_code == 200
    assert "invalid_credentials" in refused.text and "Dry run" in refused.text
    assert sam.post("/admin/auth/partner/test", {"username": "x"}).status_code == 404
    assert sam.post("/admin/auth/nope/test", {"username": "x"}).status_code == 404


def test_admin_redirect_provider_test_login_shows_the_mapping(served: Served) -> None:
    web = served.web
    sam = web.client("sam@support.test")
    started = sam.post("/auth/partner/start", {"purpose": "test", "next": f"/{SLUG}/admin/auth"})
    # the core hands the browser over with a page (a redirect after a form POST would
    # break the page's form-action policy)
    assert started.status_code == 200 and started.headers["Cache-Control"] == "no-store"
    handed = re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', started.text)
    assert handed is not None
    callback = urlsplit(html.unescape(handed.group(1)))
    result = sam.client.get(callback.path + "?" + callback.query)
    assert result.status_code == 200
    assert "Dry run: nothing was saved." in result.text
    assert "Refuse the sign-in." in result.text and "not_registered" in result.text
    assert served.count(identities) == 0
    # a customer cannot start a test flow
    ben = web.client("ben@acme.test")
    assert ben.post("/auth/partner/start", {"purpose": "test"}).status_code == 403


def test_profile_lists_sign_in_methods_and_link_buttons(served: Served) -> None:
    web = served.web
    ben = served.uid("ben@acme.test")
    with begin_write(web.engine) as conn:
        conn.execute(
            identities.insert().values(
                portal=SLUG, provider="directory", issuer=DIRECTORY_ISSUER, subject="uid=ben",
                user_id=ben, created_at=utcnow(), last_login_at=None,
            )
        )  # fmt: skip
    page = web.client("ben@acme.test").get("/profile").text
    assert "Sign-in methods" in page
    assert "Company directory" in page and "linked since" in page
    # the redirect provider not linked yet gets a Link button; form providers do not
    assert f'action="/{SLUG}/auth/partner/start"' in page
    assert 'name="purpose" value="link"' in page
    assert f'name="next" value="/{SLUG}/profile"' in page
    assert f'href="/{SLUG}/profile/two-factor"' in page and "Two-factor authentication" in page
    other = web.client("nina@globex.test").get("/profile").text
    assert "You do not sign in with another service yet." in other
