"""Driving a SAML sign-in with the Flask test client and a real IdP over loopback HTTP."""

from __future__ import annotations

import html
import re
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from saml_idp import SamlIdP, form_fields
from werkzeug.test import TestResponse

from portalis.testing.inspection import export_audit
from portalis.testing.web import PortalClient, WebPortal


@dataclass
class IdpAnswer:
    """What the IdP's auto-submitting form would POST, and where."""

    acs_path: str
    fields: dict[str, str]


def start(
    web: WebPortal, idp: SamlIdP, browser: PortalClient | None = None
) -> tuple[PortalClient, IdpAnswer]:
    """Start a flow in `browser` (a new one by default) and let the IdP answer."""
    browser = browser or web.client()
    browser.get("/login")
    browser.sync_csrf()
    begun = browser.post("/auth/corp/start", {"next": browser.url("/tickets")})
    assert begun.status_code == 200, begun.get_data(as_text=True)
    location = handoff_url(begun.get_data(as_text=True))
    assert location.startswith(f"{idp.base_url}/sso?SAMLRequest="), location
    with urllib.request.urlopen(location, timeout=10) as answer:  # noqa: S310 - loopback IdP
        page = answer.read().decode()
    action, fields = form_fields(page)
    return browser, IdpAnswer(urlsplit(action).path, fields)


def handoff_url(page: str) -> str:
    """The IdP URL of the hand-over page (its refresh and its link agree)."""
    refresh = re.search(r'<meta http-equiv="refresh" content="0;url=([^"]+)">', page)
    link = re.search(r'<a class="btn btn-primary" href="([^"]+)">', page)
    assert refresh is not None and link is not None, page
    assert refresh.group(1) == link.group(1)
    return html.unescape(refresh.group(1))


def deliver(browser: PortalClient, answer: IdpAnswer) -> TestResponse:
    """POST the answer to the ACS cross-site (no CSRF token), follow to `finish`."""
    parked = browser.client.post(answer.acs_path, data=answer.fields)
    assert parked.status_code == 303, parked.get_data(as_text=True)
    finish = parked.headers["Location"]
    assert "/auth/corp/finish?ticket=" in finish
    return browser.client.get(finish)


def signed_in(browser: PortalClient) -> bool:
    """True when the browser's session belongs to a user."""
    with browser.client.session_transaction() as sess:
        return bool(sess.get("_user_id"))


def entries(web: WebPortal, since: datetime, *actions: str) -> list[dict[str, Any]]:
    """Audit entries since `since`, oldest first (only `actions` when given)."""
    rows = export_audit(web.engine, since=since)
    return [e for e in rows if not actions or e["action"] in actions]


def now() -> datetime:
    """The current time (audit entries are compared with it)."""
    return datetime.now(UTC)
