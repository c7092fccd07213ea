"""The builder's own session cookie: a browser signed in to a portal and to the builder stays
signed in to both whatever the other does, and the builder's cookie has the flags of A.19."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from browser_support import StartUI, sign_in
from builder_support import BuilderBrowser, add_account
from werkzeug.test import TestResponse

from portalis.testing.web import WebPortal, session_csrf

if TYPE_CHECKING:
    pass

EMAIL = "builder@example.test"
CUSTOMER, CUSTOMER_PASSWORD = "ben@acme.test", "correct horse 44"


def _portal_post(browser: BuilderBrowser, path: str, **data: str) -> TestResponse:
    token = session_csrf(browser.client, browser.app, path)
    return browser.client.post(path, data={"csrf_token": token, **data})


def _portal_sign_in(web: WebPortal, browser: BuilderBrowser) -> None:
    browser.get(f"/{web.slug}/login")
    done = _portal_post(browser, f"/{web.slug}/login", email=CUSTOMER, password=CUSTOMER_PASSWORD)
    assert done.status_code == 303, done.text


def _signed_in(web: WebPortal, browser: BuilderBrowser) -> tuple[bool, bool]:
    """(signed in to the portal, signed in to the builder)."""
    portal = browser.get(f"/{web.slug}/profile").status_code == 200
    builder = browser.get("/_builder/").status_code == 200
    return portal, builder


def test_portal_and_builder_sign_ins_of_one_browser_are_independent(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    add_account(web.engine, EMAIL)
    _portal_sign_in(web, browser)
    browser.sign_in(EMAIL)
    assert _signed_in(web, browser) == (True, True)
    assert _portal_post(browser, f"/{web.slug}/logout").status_code == 303
    assert _signed_in(web, browser) == (False, True)
    _portal_sign_in(web, browser)
    assert _signed_in(web, browser) == (True, True)
    assert browser.post("/_builder/logout").status_code == 303
    assert _signed_in(web, browser) == (True, False)
    browser.sign_in(EMAIL)
    assert _signed_in(web, browser) == (True, True)
    # a builder form still takes the builder's token after the portal started a new session
    assert browser.post("/_builder/logout").status_code == 303
    assert _signed_in(web, browser) == (True, False)


def test_a19_builder_cookie_flags(web: WebPortal, browser: BuilderBrowser) -> None:
    cookie = browser.get("/_builder/login").headers["Set-Cookie"]
    assert cookie.startswith("portalis-builder=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/_builder/" in cookie
    assert "Secure" not in cookie and "Domain=" not in cookie


def test_a19_builder_cookie_flags_https(database_url: str, tmp_path: Path) -> None:
    web = WebPortal.deploy(database_url, tmp_path, env={"PORTALIS_HTTPS": "true"})
    try:
        client = web.app.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"
        builder = client.get("/_builder/login").headers["Set-Cookie"]
        # the __Host- prefix: the browser keeps it only when Secure, host-only and Path=/
        assert builder.startswith("__Host-portalis-builder=")
        assert "Secure" in builder and "HttpOnly" in builder and "SameSite=Lax" in builder
        assert "Path=/;" in builder + ";" and "Domain=" not in builder
        portal = client.get(f"/{web.slug}/login").headers["Set-Cookie"]
        assert portal.startswith("__Host-portalis=")
    finally:
        web.close()


@pytest.mark.browser
def test_a_real_browser_stays_signed_in_to_both(builder_ui: StartUI) -> None:
    ui = builder_ui(signed_in=False)
    page, live = ui.page, ui.live
    live.login(page, CUSTOMER, CUSTOMER_PASSWORD)
    sign_in(page, live.base_url, ui.email)
    names = {c["name"]: c["path"] for c in page.context.cookies()}
    assert names == {"portalis": "/", "portalis-builder": "/_builder/"}

    def both() -> tuple[bool, bool]:
        profile = page.goto(live.url("/profile"))
        portal = profile is not None and page.url.endswith("/profile")
        page.goto(f"{live.base_url}/_builder/")
        return portal, page.url.endswith("/_builder/")

    assert both() == (True, True)
    page.goto(live.url("/profile"))
    page.locator("form[action$='/logout'] button").first.click()
    page.wait_for_load_state()
    assert both() == (False, True)
    live.login(page, CUSTOMER, CUSTOMER_PASSWORD)
    assert both() == (True, True)
