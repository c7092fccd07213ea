"""The administrator's test login against the real directory: attributes, groups and the
account and roles they map to — and nothing saved (no user, no identity, no session)."""

from __future__ import annotations

import html

from ldap_support import Serve, audit_entries, user
from portalis_ldap.testing import USERS

from portalis.testing.inspection import identities, sessions


def test_dry_run_shows_the_mapping_and_saves_nothing(serve: Serve) -> None:
    web = serve()
    admin = web.client("sam@support.test")  # b2c: auth.admin_roles [agent]
    page = admin.get("/admin/auth").get_data(as_text=True)
    assert "/admin/auth/directory/test" in page
    with web.engine.connect() as conn:
        sessions_before = conn.execute(sessions.select()).all()
    answer = admin.post(
        "/admin/auth/directory/test", {"username": "alice", "password": USERS["alice"][0]}
    )
    assert answer.status_code == 200
    text = html.unescape(answer.get_data(as_text=True))
    assert "Dry run" in text
    assert "alice@acme.test" in text and "Alice Archer" in text  # the attributes read
    assert "cn=account-admins" in text.lower()  # the groups (memberOf)
    assert "Acme GmbH" in text  # the account found from departmentNumber
    assert "account_admin" in text or "Account administrator" in text
    # nothing was saved: no user, no identity, no new session
    assert user(web, "alice@acme.test") is None
    with web.engine.connect() as conn:
        assert conn.execute(identities.select()).all() == []
        assert conn.execute(sessions.select()).all() == sessions_before
    tests = audit_entries(web, "auth_test")
    assert tests and tests[-1]["detail"]["result"] == "create"


def test_dry_run_with_a_wrong_password_shows_the_refusal(serve: Serve) -> None:
    web = serve()
    admin = web.client("sam@support.test")
    answer = admin.post(
        "/admin/auth/directory/test", {"username": "alice", "password": "wrong one"}
    )
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert "user_bind_failed" in text  # the administrator sees why; users never do
    assert audit_entries(web, "auth_test")[-1]["detail"]["result"] == "refused"


def test_dry_run_is_for_administrators_only(serve: Serve) -> None:
    web = serve()
    customer = web.client("ben@acme.test")
    answer = customer.post("/admin/auth/directory/test", {"username": "alice", "password": "x"})
    assert answer.status_code == 403
    assert audit_entries(web, "auth_test") == []
