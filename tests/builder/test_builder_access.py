"""Who reaches which builder page: rights per portal (404 without one), portal users and
anonymous visitors (the builder's sign-in, never its content), a portal's `builder` network
allow-list, the start page's contents, and an application without the builder or without a
second factor."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from builder_support import BuilderBrowser, add_account, audit_actions

from portalis.engine.data.db import begin_write
from portalis.engine.data.platform_tables import portals, versions
from portalis.testing.portals import b2c_with
from portalis.testing.web import WebPortal

EMAIL = "builder@example.test"


def test_a20_builder_portal_without_a_right_does_not_exist(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    add_account(web.engine, EMAIL, portals=("some-other-portal",), rights=("publish",))
    browser.sign_in(EMAIL)
    start = browser.get("/_builder/")
    assert start.status_code == 200 and web.slug not in start.text
    assert browser.get(f"/_builder/p/{web.slug}/").status_code == 404
    assert browser.get("/_builder/p/no-such-portal/").status_code == 404


def test_the_start_and_portal_pages_show_live_versions(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    add_account(web.engine, EMAIL, portals=(web.slug,), rights=("view",))
    browser.sign_in(EMAIL)
    start = browser.get("/_builder/")
    assert f'data-portal="{web.slug}"' in start.text and "Live" in start.text
    page = browser.get(f"/_builder/p/{web.slug}/")
    assert page.status_code == 200
    assert 'data-version="1"' in page.text and "View only" in page.text
    assert audit_actions(web.engine, web.slug) == ["builder_portal_viewed"]


def test_problems_of_a_live_version_that_failed_to_load(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    add_account(web.engine, EMAIL)
    assert browser.get(f"/{web.slug}/").status_code == 200  # this server serves version 1
    with begin_write(web.engine) as conn:
        conn.execute(
            versions.insert().values(
                portal=web.slug, number=2, sha256="0" * 64, created_at=datetime.now(UTC),
                files={"portal.yaml": f"format: portalis/v1\nportal: {web.slug}\nmystery: 1\n"},
                note="broken on purpose",
            )
        )  # fmt: skip
        conn.execute(portals.update().where(portals.c.slug == web.slug).values(live_version=2))
    browser.sign_in(EMAIL)
    start = browser.get("/_builder/")
    assert "Failed to load" in start.text and "broken on purpose" in start.text
    assert "mystery" in start.text  # the checker's problem names the unknown key
    assert browser.get(f"/{web.slug}/").status_code == 200  # and keeps serving it


def test_portal_users_and_visitors_get_the_sign_in_not_the_builder(web: WebPortal) -> None:
    add_account(web.engine, EMAIL)
    anonymous = BuilderBrowser(web.app)
    customer = web.client("ben@acme.test")
    for path in ("/_builder/", f"/_builder/p/{web.slug}/"):
        for client in (anonymous.client, customer.client):
            answer = client.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["Location"].endswith("/_builder/login")
    # the portal user's session is no builder session, and the other way round
    assert customer.get("/").status_code == 200
    builder = BuilderBrowser(web.app)
    builder.sign_in(EMAIL)
    assert builder.client.get(f"/{web.slug}/profile").status_code in (302, 303)


def test_a43_builder_allow_list_of_a_portal_keeps_its_pages_to_those_networks(
    database_url: str, tmp_path: Path
) -> None:
    folder = b2c_with(tmp_path / "portal", auth='  ip_allowlist: {builder: ["10.0.0.0/8"]}\n')
    web = WebPortal.deploy(database_url, tmp_path / "instance", folder)
    try:
        add_account(web.engine, EMAIL)
        outside = BuilderBrowser(web.app)
        outside.sign_in(EMAIL)
        assert outside.get(f"/_builder/p/{web.slug}/").status_code == 403
        # a forwarded address counts only from a trusted proxy (none is configured here)
        forged = {"X-Forwarded-For": "10.1.2.3"}
        assert outside.get(f"/_builder/p/{web.slug}/", headers=forged).status_code == 403
        assert "Not open from your network" in outside.get("/_builder/").text
        assert audit_actions(web.engine, web.slug) == ["builder_refused_by_guard"] * 2
        inside = BuilderBrowser(web.app)
        inside.client.environ_base["REMOTE_ADDR"] = "10.1.2.3"
        inside.authenticator = outside.authenticator
        inside.sign_in(EMAIL)
        assert inside.get(f"/_builder/p/{web.slug}/").status_code == 200
        # the portal itself stays open to everyone (only the builder list is set)
        assert outside.get(f"/{web.slug}/").status_code == 200
    finally:
        web.close()


def test_without_a_second_factor_nobody_signs_in(database_url: str, tmp_path: Path) -> None:
    web = WebPortal.deploy(
        database_url, tmp_path / "instance", env={"PORTALIS_DISABLED_PLUGINS": "totp"}
    )
    try:
        add_account(web.engine, EMAIL)
        browser = BuilderBrowser(web.app)
        page = browser.get("/_builder/login")
        assert "no second factor is installed" in page.text and 'name="password"' not in page.text
        refused = browser.password(EMAIL)
        assert refused.status_code == 503
        assert browser.get("/_builder/login/code").status_code == 303
        assert audit_actions(web.engine) == ["builder_login_refused"]
    finally:
        web.close()


def test_an_application_without_the_builder_serves_portals(
    database_url: str, tmp_path: Path
) -> None:
    web = WebPortal.deploy(
        database_url, tmp_path / "instance", env={"PORTALIS_DISABLED_PLUGINS": "builder"}
    )
    try:
        client = web.app.test_client()
        assert client.get("/_builder/").status_code == 404
        assert client.get("/_builder/login").status_code == 404
        assert client.get(f"/{web.slug}/").status_code == 200
        with web.engine.connect() as conn:
            assert not sa.inspect(conn).has_table("portalis_builder_user")
    finally:
        web.close()
