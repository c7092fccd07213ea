"""The SAML sign-in in a real Chromium: login page button → IdP → auto-submitted POST to the
ACS → finish → signed in (an entry without an SP key: unsigned AuthnRequests)."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

from playwright.sync_api import Browser
from saml_idp import SamlIdP
from saml_support import SAML_ENTRY, saml_definition

from portalis.testing.browser import browser_unavailable, live_server, new_page
from portalis.testing.inspection import find_user
from portalis.testing.pytest_plugin import require_service

#: The tests' entry without certificate and key (the live server deploys without `${ENV}`).
UNSIGNED_ENTRY = "".join(
    line for line in SAML_ENTRY.splitlines(keepends=True) if "SAML_SP_" not in line
)


def test_browser_sign_in_with_saml(idp: SamlIdP, tmp_path: Path, portalis_browser: Browser) -> None:
    require_service(browser_unavailable())
    folder = saml_definition(tmp_path / "portal", idp.metadata_xml(), UNSIGNED_ENTRY)
    email = idp.user.attributes["mail"][0]
    browser = portalis_browser
    with live_server(folder, directory=tmp_path / "live") as live:
        with urllib.request.urlopen(live.url("/auth/corp/metadata"), timeout=10) as answer:
            metadata = answer.read().decode()  # noqa: S310 - loopback
        assert 'AuthnRequestsSigned="false"' in metadata
        idp.trust(metadata)
        with new_page(browser, viewport={"width": 1280, "height": 900}) as page:
            page.goto(live.url("/login"))
            page.click("button[data-provider=corp]")
            page.wait_for_url(re.compile(rf".*/{live.slug}/$"))
            assert "Lena Kraus" in page.content()
        assert not idp.requests[-1].signed
        with live.app.extensions["portalis"].engine.connect() as conn:
            row = find_user(conn, live.compiled, email)
        assert row is not None and sorted(row["roles"]) == ["account_admin", "customer"]
