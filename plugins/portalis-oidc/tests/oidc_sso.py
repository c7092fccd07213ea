"""Driving a sign-in through the portal's flow endpoint with the Flask test client."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from oidc_idp import LoopbackIdP, serve_idp
from oidc_portal import CLIENT_ID, CLIENT_SECRET, PROVIDER, definition, settings_env
from werkzeug.test import TestResponse

from portalis.testing.web import PortalClient, WebPortal


def refused_at_start(browser: PortalClient, provider: str = PROVIDER) -> int:
    """Press the provider's button when the provider cannot be used; the answer's status."""
    assert browser.get("/login").status_code == 200
    browser.sync_csrf()
    answer = browser.post(f"/auth/{provider}/start", {"purpose": "login"})
    assert "refresh" not in answer.get_data(as_text=True)  # never sent to the provider
    return answer.status_code


def start(browser: PortalClient, provider: str = PROVIDER, purpose: str = "login") -> str:
    """Press the provider's button (on the login page, or a signed-in user's button for
    `purpose` link/reauth/test); the authorization URL."""
    if purpose == "login":
        assert browser.get("/login").status_code == 200
        browser.sync_csrf()
    answer = browser.post(f"/auth/{provider}/start", {"purpose": purpose})
    assert answer.status_code == 200, answer.status_code
    assert answer.headers["Cache-Control"] == "no-store"
    found = re.search(
        r'http-equiv="refresh" content="0;url=([^"]+)"', answer.get_data(as_text=True)
    )
    assert found, "no hand-off to the provider"
    return html.unescape(found.group(1))


def callback(browser: PortalClient, location: str) -> TestResponse:
    """Follow the provider's redirect back to the portal."""
    parts = urlsplit(location)
    return browser.client.get(f"{parts.path}?{parts.query}")


def sso(browser: PortalClient, idp: LoopbackIdP, provider: str = PROVIDER) -> TestResponse:
    """A whole sign-in: start, the provider's authorization endpoint, the callback."""
    return callback(browser, idp.follow_authorize(start(browser, provider)))


def signed_in(browser: PortalClient) -> bool:
    """True when the browser's session is a signed-in user's (the ticket list needs one)."""
    return browser.get("/tickets").status_code == 200


@pytest.fixture
def idp() -> Iterator[LoopbackIdP]:
    """The loopback provider with the user carla@initech.test (sub `carla-1`) signed in."""
    with serve_idp(CLIENT_ID, CLIENT_SECRET) as server:
        server.users["carla-1"] = {
            "email": "carla@initech.test",
            "email_verified": True,
            "name": "Carla Diaz",
            "groups": ["portal-admins"],
        }
        server.current = "carla-1"
        yield server


class Deployer:
    """Deploys the test portal against a provider (`deploy(**entry_overrides)`)."""

    def __init__(self, database_url: str, tmp_path: Path, idp: LoopbackIdP) -> None:
        self.database_url = database_url
        self.tmp_path = tmp_path
        self.idp = idp
        self.served: list[WebPortal] = []

    def __call__(
        self, extra_env: dict[str, str] | None = None, outbound: bool = True, **overrides: Any
    ) -> WebPortal:
        folder = definition(self.tmp_path / f"portal-{len(self.served)}", **overrides)
        env = settings_env(self.idp.issuer, **(extra_env or {}))
        if not outbound:
            del env["PORTALIS_OUTBOUND_ALLOW"]
        web = WebPortal.deploy(self.database_url, self.tmp_path / "instance", folder, env=env)
        self.served.append(web)
        return web


@pytest.fixture
def deploy(database_url: str, tmp_path: Path, idp: LoopbackIdP) -> Iterator[Deployer]:
    """`deploy(**overrides)`: the test portal on both databases, closed afterwards."""
    deployer = Deployer(database_url, tmp_path, idp)
    yield deployer
    for web in deployer.served:
        web.close()
