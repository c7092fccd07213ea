"""Directory sign-in through the real login form against a real slapd, on both databases:
direct bind, search-then-bind, StartTLS/ldaps, groups → roles, JIT provisioning, refusals.

Every portal carries all test entries (`ldap_support.all_entries`), one deploy per test."""

from __future__ import annotations

from ldap_support import Serve, audit_entries, sign_in, user
from portalis_ldap.testing import SERVICE_DN, USERS, Directory, user_dn

from portalis.testing.web import WebPortal, app_state

SIGNED_IN = (302, 303)


def account_name(web: WebPortal, account_id: int | None) -> str | None:
    """The name of an account (None when there is none)."""
    with web.engine.connect() as conn:
        table = web.compiled.tables["account"]
        row = conn.execute(table.select().where(table.c.id == account_id)).mappings().first()
    return None if row is None else str(row["name"])


def roles(web: WebPortal, email: str) -> list[str]:
    """The sorted roles of a user."""
    row = user(web, email)
    assert row is not None, email
    return sorted(row["roles"])


def test_direct_bind_login_provisions_user_with_account_and_roles(
    serve: Serve, directory: Directory
) -> None:
    web = serve()
    assert app_state(web.app).pm.get_plugin("ldap") is not None
    browser = web.client()
    page = browser.get("/login").get_data(as_text=True)
    assert 'name="provider" value="directory"' in page and "Company directory" in page
    response = sign_in(browser, "alice", USERS["alice"][0])
    assert response.status_code in SIGNED_IN, response.get_data(as_text=True)[:500]
    assert browser.get("/tickets").status_code == 200
    row = user(web, "alice@acme.test")
    assert row is not None and row["name"] == "Alice Archer"
    assert account_name(web, row["account"]) == "Acme GmbH"  # departmentNumber C-1001
    # account-admins by its DN, customers by its cn (both from memberOf)
    assert roles(web, "alice@acme.test") == ["account_admin", "customer"]
    assert not row.get("password_hash")
    assert row["last_login_at"] is not None  # every provider's sign-in counts
    logins = audit_entries(web, "login")
    assert logins and logins[-1]["actor_email"] == "alice@acme.test"
    # a second sign-in (upper-case user name) finds the same user by (issuer, DN)
    assert sign_in(web.client(), " ALICE", USERS["alice"][0]).status_code in SIGNED_IN
    with web.engine.connect() as conn:
        users = web.compiled.tables["user"]
        same = conn.execute(users.select().where(users.c.email == "alice@acme.test")).all()
    assert len(same) == 1


def test_search_then_bind_login_with_group_search(serve: Serve, directory: Directory) -> None:
    web = serve()
    service_binds = directory.binds(SERVICE_DN)
    browser = web.client()
    assert sign_in(browser, "bob", USERS["bob"][0], "search").status_code in SIGNED_IN
    row = user(web, "bob@globex.test")
    assert row is not None and account_name(web, row["account"]) == "Globex Ltd"
    # customers from memberOf; auditors (groupOfUniqueNames) only from the group search
    assert roles(web, "bob@globex.test") == ["account_admin", "customer"]
    assert directory.binds(SERVICE_DN) > service_binds
    # twin1 and twin2 share a cn; the entry's uid filter picks exactly one of them
    assert sign_in(web.client(), "twin1", USERS["twin1"][0], "search").status_code in SIGNED_IN
    assert user(web, "pat1@acme.test") is not None and user(web, "pat2@acme.test") is None


def test_roles_resynced_at_next_login(serve: Serve, directory: Directory) -> None:
    web = serve()
    assert sign_in(web.client(), "alice", USERS["alice"][0]).status_code in SIGNED_IN
    assert roles(web, "alice@acme.test") == ["account_admin", "customer"]
    directory.set_members("account-admins", ("bob",))
    try:
        assert sign_in(web.client(), "alice", USERS["alice"][0]).status_code in SIGNED_IN
        assert roles(web, "alice@acme.test") == ["customer"]
    finally:
        directory.set_members("account-admins", ("alice",))
    # group search groups are re-synced too (bob loses auditors → account_admin)
    assert sign_in(web.client(), "bob", USERS["bob"][0], "search").status_code in SIGNED_IN
    assert roles(web, "bob@globex.test") == ["account_admin", "customer"]
    directory.set_members("auditors", ("carol",), unique=True)
    try:
        assert sign_in(web.client(), "bob", USERS["bob"][0], "search").status_code in SIGNED_IN
        assert roles(web, "bob@globex.test") == ["customer"]
    finally:
        directory.set_members("auditors", ("bob",), unique=True)
    assert sign_in(web.client(), "alice", USERS["alice"][0]).status_code in SIGNED_IN
    assert roles(web, "alice@acme.test") == ["account_admin", "customer"]


def test_wrong_password_refused_and_audited(serve: Serve, directory: Directory) -> None:
    web = serve()
    browser = web.client()
    response = sign_in(browser, "alice", "not the password")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "The user name or password is incorrect." in body
    assert "invalidCredentials" not in body  # the reason is for the audit log only
    assert browser.get("/tickets").status_code in SIGNED_IN  # still anonymous: to /login
    assert user(web, "alice@acme.test") is None
    failed = audit_entries(web, "login_failed")[-1]
    assert failed["detail"]["provider"] == "directory"
    assert failed["detail"]["reason"] == "user_bind_failed: invalidCredentials"
    assert failed["detail"]["username"] == "alice"
    assert "not the password" not in str(failed)
    # an unknown user (search entry) gets the very same answer; the log knows why
    unknown = sign_in(web.client(), "nobody", "not the password", "search")
    assert unknown.status_code == 422
    assert "The user name or password is incorrect." in unknown.get_data(as_text=True)
    assert audit_entries(web, "login_failed")[-1]["detail"]["reason"] == "user_not_found"


def test_jit_provisioning_rules(serve: Serve, directory: Directory) -> None:
    web = serve()
    # admin's departmentNumber X-1 names no account: a customer is not provisioned
    assert sign_in(web.client(), "admin", USERS["admin"][0]).status_code not in SIGNED_IN
    assert user(web, "admin@example.org") is None
    assert audit_entries(web, "login_failed")[-1]["detail"]["reason"] == "no_account"
    # staff roles need no account: carol (agents) is provisioned without one
    assert sign_in(web.client(), "carol", USERS["carol"][0]).status_code in SIGNED_IN
    carol = user(web, "carol@support.test")
    assert carol is not None and carol["roles"] == ["agent"] and carol["account"] is None
    # without allow_registration nobody new gets in
    assert sign_in(web.client(), "bob", USERS["bob"][0], "closed").status_code not in SIGNED_IN
    assert user(web, "bob@globex.test") is None


def test_existing_user_linked_only_with_link_by_email(serve: Serve) -> None:
    web = serve()
    seeded = user(web, "nina@globex.test")
    assert seeded is not None
    # the address belongs to a seeded user: no silent take-over by the directory entry
    response = sign_in(web.client(), "nina", USERS["nina"][0])
    assert response.status_code not in SIGNED_IN
    assert audit_entries(web, "login_failed")[-1]["detail"]["reason"] == "email_taken"
    # link_by_email trusts the directory-verified address: the same user, now linked
    browser = web.client()
    assert sign_in(browser, "nina", USERS["nina"][0], "linking").status_code in SIGNED_IN
    assert browser.get("/tickets").status_code == 200
    linked = user(web, "nina@globex.test")
    assert linked is not None and linked["id"] == seeded["id"]
    assert roles(web, "nina@globex.test") == ["customer"]


def test_start_tls_and_ldaps_verify_against_ca_file(
    serve_sqlite: Serve, directory: Directory
) -> None:
    web = serve_sqlite()
    assert sign_in(web.client(), "alice", USERS["alice"][0], "starttls").status_code in SIGNED_IN
    assert sign_in(web.client(), "bob", USERS["bob"][0], "ldaps").status_code in SIGNED_IN
    # a CA that did not sign the server certificate: refused, the password never sent
    for name in ("starttls_wrong_ca", "ldaps_wrong_ca"):
        binds = directory.binds(user_dn("carol"))
        assert sign_in(web.client(), "carol", USERS["carol"][0], name).status_code == 422
        assert directory.binds(user_dn("carol")) == binds
        reason = audit_entries(web, "login_failed")[-1]["detail"]["reason"]
        assert reason.startswith(("tls_failed", "user_unreachable")), reason
    assert user(web, "carol@support.test") is None
