"""The other purposes of a flow against the loopback provider: an administrator's test login
(a dry run), linking an identity from the profile, and step-up through the provider."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from oidc_idp import LoopbackIdP
from oidc_portal import PROVIDER
from oidc_sso import Deployer, callback, signed_in, start

from portalis.testing.inspection import export_audit, find_user, identities
from portalis.testing.web import WebPortal


def entries(web: WebPortal, action: str) -> list[dict[str, Any]]:
    """The portal's audit entries of `action`, oldest first."""
    rows = export_audit(web.engine, since=datetime(2000, 1, 1, tzinfo=UTC))
    return [e for e in rows if e["action"] == action]


def test_admin_test_login_is_a_dry_run(deploy: Deployer, idp: LoopbackIdP) -> None:
    web = deploy()
    admin = web.client("sam@support.test")  # b2c: auth.admin_roles [agent]
    page = callback(admin, idp.follow_authorize(start(admin, purpose="test")))
    assert page.status_code == 200
    text = html.unescape(page.get_data(as_text=True))
    assert "Dry run" in text and "carla@initech.test" in text and "carla-1" in text
    assert "portal-admins" in text  # the groups claim
    with web.engine.connect() as conn:
        assert find_user(conn, web.compiled, "carla@initech.test") is None
        assert conn.execute(identities.select()).all() == []
    assert entries(web, "auth_test")[-1]["detail"]["result"] == "create"
    # the administrator is still themselves, and a customer may not start a test
    assert admin.get("/admin/users").status_code == 200
    customer = web.client("ben@acme.test")
    assert customer.post(f"/auth/{PROVIDER}/start", {"purpose": "test"}).status_code == 403


def test_a11_profile_link_binds_the_identity_to_the_signed_in_user(
    deploy: Deployer, idp: LoopbackIdP
) -> None:
    web = deploy()
    ben = web.client("ben@acme.test")
    answer = callback(ben, idp.follow_authorize(start(ben, purpose="link")))
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/profile")
    with web.engine.connect() as conn:
        linked = conn.execute(identities.select()).mappings().all()
    assert [(r["subject"], r["provider"]) for r in linked] == [("carla-1", PROVIDER)]
    assert entries(web, "sso_link")
    # from now on the identity signs in as ben — by (issuer, subject), whatever its e-mail
    browser = web.client()
    assert callback(browser, idp.follow_authorize(start(browser))).status_code == 303
    assert signed_in(browser)
    assert entries(web, "login")[-1]["actor_email"] == "ben@acme.test"
    # the same identity cannot be linked to a second user
    nina = web.client("nina@globex.test")
    callback(nina, idp.follow_authorize(start(nina, purpose="link")))
    with web.engine.connect() as conn:
        assert len(conn.execute(identities.select()).all()) == 1


def test_a18_step_up_through_the_linked_provider(deploy: Deployer, idp: LoopbackIdP) -> None:
    web = deploy()
    ben = web.client("ben@acme.test")
    callback(ben, idp.follow_authorize(start(ben, purpose="link")))
    with ben.client.session_transaction() as sess:
        sess["auth_at"] = 0  # the last sign-in was long ago
        old_user = sess["_user_id"]
    page = ben.get("/profile/confirm?next=/acme-support/profile").get_data(as_text=True)
    assert 'name="purpose" value="reauth"' in page
    answer = callback(ben, idp.follow_authorize(start(ben, purpose="reauth")))
    assert answer.status_code == 303
    with ben.client.session_transaction() as sess:
        assert sess["auth_at"] > 0
        assert sess["_user_id"] != old_user  # a new session id after step-up (A.14)
    assert entries(web, "reauthenticated")[-1]["detail"]["method"] == PROVIDER
    # another person's identity cannot confirm ben
    idp.users["dan-1"] = {"email": "dan@initech.test", "email_verified": True, "name": "Dan"}
    idp.current = "dan-1"
    assert ben.get("/profile").status_code == 200  # the new session's form token
    ben.sync_csrf()
    callback(ben, idp.follow_authorize(start(ben, purpose="reauth")))
    assert len(entries(web, "reauthenticated")) == 1
