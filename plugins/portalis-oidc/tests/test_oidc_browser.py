"""OIDC sign-in end to end in Chromium against oidc-provider-mock, a real OpenID provider.

The portal (live server on 127.0.0.1) and the provider (its own Werkzeug server on
127.0.0.1) talk the real protocol; the browser clicks the portal's button, picks the user on
the provider's authorization page and comes back signed in.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import oidc_provider_mock
import pytest
from oidc_portal import INITECH, LABEL, account_id, auth_events, definition, find, settings_env
from playwright.sync_api import Browser, Page
from werkzeug.serving import make_server

from portalis.testing.browser import (
    LiveServer,
    browser_unavailable,
    live_server,
    new_page,
    screenshot_dir,
)
from portalis.testing.inspection import set_active
from portalis.testing.pytest_plugin import require_service

# oidc-provider-mock uses authlib APIs authlib has deprecated: not this plugin's concern
pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")
CARLA = {
    "email": "carla@initech.test",
    "email_verified": True,
    "name": "Carla Diaz",
    "groups": ["portal-admins"],
}


class MockProvider:
    """oidc-provider-mock served on 127.0.0.1 and a free port."""

    def __init__(self) -> None:
        app = oidc_provider_mock.app(require_nonce=True)
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(0.05,), name="oidc-mock", daemon=True
        )

    @property
    def issuer(self) -> str:
        """The mock's issuer is the URL it is reached at."""
        return f"http://127.0.0.1:{self.server.server_port}"

    def set_user(self, sub: str, claims: dict[str, Any]) -> None:
        """Pre-authorize a user with these claims (`PUT /users/<sub>`)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.server.server_port, timeout=10)
        try:
            connection.request(
                "PUT", f"/users/{sub}", json.dumps(claims), {"Content-Type": "application/json"}
            )
            assert connection.getresponse().status == 204
        finally:
            connection.close()


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockProvider]:
    """The running mock provider (plain http on loopback, which authlib must be told)."""
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    mock = MockProvider()
    mock.thread.start()
    try:
        yield mock
    finally:
        mock.server.shutdown()
        mock.server.server_close()
        mock.thread.join(timeout=5)


@contextmanager
def sso_page(live: LiveServer, browser: Browser, sub: str) -> Iterator[Page]:
    """A fresh browser that clicked "Continue with Acme ID" and chose `sub` at the provider."""
    with new_page(browser) as page:
        page.goto(live.url("/login"))
        page.get_by_role("button", name=f"Continue with {LABEL}").click()
        page.wait_for_url(re.compile(r"http://127\.0\.0\.1:\d+/oauth2/authorize\?.*"))
        page.fill("input[name=sub]", sub)
        page.get_by_role("button", name="Authorize", exact=True).click()
        page.wait_for_url(re.compile(re.escape(f"{live.base_url}/{live.slug}/") + ".*"))
        page.wait_for_load_state()
        yield page


@pytest.mark.browser
def test_oidc_sign_in_in_chromium(
    provider: MockProvider, tmp_path: Path, portalis_browser: Browser
) -> None:
    require_service(browser_unavailable())
    provider.set_user("carla-1", CARLA)
    folder = definition(tmp_path / "portal")
    env = settings_env(provider.issuer)
    browser = portalis_browser
    with live_server(folder, directory=tmp_path / "live", env=env) as live:
        engine = live.app.extensions["portalis"].engine
        shots = screenshot_dir(tmp_path)
        for width in (1280, 375):
            with new_page(browser, viewport={"width": width, "height": 800}) as page:
                page.goto(live.url("/login"))
                button = page.get_by_role("button", name=f"Continue with {LABEL}")
                assert button.is_visible()
                page.screenshot(path=str(shots / f"oidc-login-{width}.png"), full_page=True)

        # first login: provisioned just in time into the initech.test account, as admin
        with sso_page(live, browser, "carla-1") as page:
            assert page.url.startswith(live.url("/"))
            page.goto(live.url("/tickets"))
            assert page.url == live.url("/tickets")  # the session works: no login redirect
            assert "Carla Diaz" in page.content()
        carla = find(engine, live.compiled, "carla@initech.test")
        assert carla is not None
        assert carla["account"] == account_id(engine, live.compiled, INITECH)
        assert list(carla["roles"]) == ["account_admin"]

        # the provider moves her to another group: the next login re-syncs her roles
        provider.set_user("carla-1", {**CARLA, "groups": ["portal-users"]})
        with sso_page(live, browser, "carla-1") as page:
            assert "/login" not in page.url
        carla = find(engine, live.compiled, "carla@initech.test")
        assert carla is not None and list(carla["roles"]) == ["customer"]

        # disabled in the portal: the provider's word is not enough
        with engine.begin() as conn:
            set_active(conn, live.compiled, "carla@initech.test", False)
        with sso_page(live, browser, "carla-1") as page:
            assert "Signing in failed" in page.content()
            page.goto(live.url("/tickets"))
            assert "/login" in page.url
        assert auth_events(engine, live.slug, "login_failed")[-1]["reason"] == "disabled"
        assert len(auth_events(engine, live.slug, "login")) == 2
