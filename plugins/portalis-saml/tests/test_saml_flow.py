"""SAML sign-in end to end: the portal (Flask test client, SQLite and PostgreSQL) against a
pysaml2 identity provider on loopback HTTP."""

from __future__ import annotations

import re
from typing import Any

from saml_idp import SamlIdP, pem_body
from saml_sso import deliver, entries, now, signed_in, start

from portalis.testing.inspection import find_user
from portalis.testing.web import WebPortal


def user(web: WebPortal, email: str) -> dict[str, Any] | None:
    """The user row of `email`, or None."""
    with web.engine.connect() as conn:
        return find_user(conn, web.compiled, email)


def test_metadata_endpoint(web: WebPortal, idp: SamlIdP) -> None:
    answer = web.client().get("/auth/corp/metadata")
    assert answer.status_code == 200
    assert answer.mimetype == "application/samlmetadata+xml"
    xml = answer.get_data(as_text=True)
    base = f"http://localhost/{web.slug}/auth/corp"
    assert f'entityID="{base}/metadata"' in xml
    acs = re.search(r"<[\w:]*AssertionConsumerService [^>]*>", xml)
    assert acs is not None
    assert "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" in acs.group(0)
    assert f'Location="{base}/acs"' in acs.group(0)
    assert 'AuthnRequestsSigned="true"' in xml
    assert 'WantAssertionsSigned="true"' in xml
    assert idp.sp_cert is not None and pem_body(idp.sp_cert) in xml.replace("\n", "")
    assert "PRIVATE KEY" not in xml
    assert web.client().post("/auth/corp/metadata").status_code in (400, 405)


def test_login_page_shows_the_saml_button(web: WebPortal) -> None:
    page = web.client().get("/login").get_data(as_text=True)
    assert 'data-provider="corp"' in page and "Acme SSO" in page
    assert f'action="/{web.slug}/auth/corp/start"' in page


def test_happy_path_provisions_maps_roles_and_account(web: WebPortal, idp: SamlIdP) -> None:
    since = now()
    email = idp.user.attributes["mail"][0]
    browser, answer = start(web, idp)
    request = idp.requests[-1]
    assert request.signed and request.signature_valid  # the entry has a key: signed requests
    assert request.acs_url == f"http://localhost/{web.slug}/auth/corp/acs"
    assert request.issuer == f"http://localhost/{web.slug}/auth/corp/metadata"
    assert len(request.relay_state) >= 40 and answer.fields["RelayState"] == request.relay_state
    done = deliver(browser, answer)
    assert done.status_code == 303, done.get_data(as_text=True)
    assert done.headers["Location"] == f"/{web.slug}/tickets"
    assert signed_in(browser)
    assert browser.get("/tickets").status_code == 200
    created = user(web, email)
    assert created is not None and created["name"] == "Lena Kraus"
    assert sorted(created["roles"]) == ["account_admin", "customer"]  # admins → account_admin
    assert created["account"] == web.record_id("account", name="Acme GmbH")  # attribute:o
    provisioned = entries(web, since, "user_provisioned")
    assert len(provisioned) == 1 and provisioned[0]["detail"]["provider"] == "corp"
    login = entries(web, since, "login")
    assert [e["actor_email"] for e in login] == [email]
    # the next login re-syncs the managed role from the IdP's groups; same user, by NameID
    idp.user.attributes["eduPersonAffiliation"] = ["member"]
    again, answer = start(web, idp)
    assert deliver(again, answer).status_code == 303 and signed_in(again)
    synced = user(web, email)
    assert synced is not None and synced["id"] == created["id"]
    assert synced["roles"] == ["customer"]
    assert len(entries(web, since, "user_provisioned")) == 1


def test_unknown_user_without_registration_is_not_matched_by_email(
    web: WebPortal, idp: SamlIdP
) -> None:
    # ben exists with a password; an IdP asserting his address must not take his account over
    since = now()
    idp.user.attributes["mail"] = ["ben@acme.test"]
    browser, answer = start(web, idp)
    refused = deliver(browser, answer)
    assert refused.status_code == 403 and not signed_in(browser)
    failed = entries(web, since, "login_failed")
    assert [e["detail"]["reason"] for e in failed] == ["email_taken"]
