"""SECURITY A.31 (ASVS 1.2.6): LDAP injection and the unauthenticated-bind trap, against a
real slapd. The provider is driven directly (what the login form calls) and through the
form; slapd's access log shows which binds reached the directory."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from ldap_support import Serve, audit_entries, direct_entry, search_entry, sign_in, user
from portalis_ldap import LdapProvider, parse_options
from portalis_ldap.testing import (
    HOST,
    SERVICE_PASSWORD,
    USERS,
    Directory,
    free_port,
    group_dn,
    user_dn,
)

from portalis.api import AuthProvider
from portalis.web import LoginRefused

#: (payload, a real password tried with it): a working injection would bind with it
PAYLOADS = [
    ("*)(uid=*))(|(uid=*", USERS["alice"][0]),
    ("*", USERS["alice"][0]),
    ("admin*", USERS["admin"][0]),
    ("x)(|(objectClass=*)", USERS["alice"][0]),
    ("\\00", USERS["alice"][0]),
    ("bob,ou=people,dc=example,dc=org", USERS["bob"][0]),
    ("alice)(mail=*", USERS["alice"][0]),
    ("uid=alice,ou=people,dc=example,dc=org", USERS["alice"][0]),
]


def provider(options: dict[str, Any], name: str = "directory") -> LdapProvider:
    """The provider the runtime would bind for an entry with `options`."""
    options = {k: v for k, v in options.items() if k not in ("type", "name")}
    if options.get("bind_password") == "${LDAP_BIND_PASSWORD}":
        options["bind_password"] = SERVICE_PASSWORD  # what the loader substitutes
    return LdapProvider(AuthProvider("ldap", name, options), parse_options(options))


def user_binds(directory: Directory) -> int:
    """Bind requests for any test user's DN so far (the service account excluded)."""
    return sum(directory.binds(user_dn(uid)) for uid in USERS)


@pytest.fixture(params=["direct", "search"])
def ldap(request: pytest.FixtureRequest, slapd_directory: Directory) -> LdapProvider:
    """A direct-bind and a search-then-bind provider."""
    entry = direct_entry if request.param == "direct" else search_entry
    return provider(entry(slapd_directory))


def test_provider_asserts_identity_from_directory(slapd_directory: Directory) -> None:
    identity = provider(direct_entry(slapd_directory)).authenticate("Alice", USERS["alice"][0])
    assert identity.issuer == slapd_directory.url
    assert identity.subject == "uid=alice,ou=people,dc=example,dc=org"
    assert (identity.email, identity.email_verified) == ("alice@acme.test", True)
    assert identity.name == "Alice Archer"
    assert set(identity.groups) == {group_dn("account-admins"), group_dn("customers")}
    assert identity.claims["departmentNumber"] == "C-1001"
    assert "userPassword" not in identity.claims
    assert USERS["alice"][0] not in repr(identity)
    searched = provider(search_entry(slapd_directory)).authenticate("bob", USERS["bob"][0])
    assert searched.subject == "uid=bob,ou=people,dc=example,dc=org"
    assert set(searched.groups) == {group_dn("customers"), group_dn("auditors")}


def test_search_needs_exactly_one_entry(slapd_directory: Directory) -> None:
    twins = provider({**search_entry(slapd_directory), "user_filter": "(cn={username})"})
    with pytest.raises(LoginRefused) as refused:
        twins.authenticate("Pat Twin", USERS["twin1"][0])
    assert refused.value.reason == "user_ambiguous"
    with pytest.raises(LoginRefused) as missing:
        twins.authenticate("Nobody Here", USERS["twin1"][0])
    assert missing.value.reason == "user_not_found"


@pytest.mark.parametrize(("payload", "password"), PAYLOADS)
def test_a31_injection_payloads_never_bind(
    ldap: LdapProvider, slapd_directory: Directory, payload: str, password: str
) -> None:
    before = user_binds(slapd_directory)
    with pytest.raises(LoginRefused) as refused:
        ldap.authenticate(payload, password)
    assert refused.value.reason in (
        "user_not_found",  # search: the escaped filter matches nothing
        "user_bind_failed: invalidCredentials",  # direct: the escaped DN does not exist
        "user_bind_failed: invalidDNSyntax",
        "invalid_dn",
    ), refused.value.reason
    assert user_binds(slapd_directory) == before  # no bind as any real user


def test_a31_dn_injection_is_escaped_in_the_bind(slapd_directory: Directory) -> None:
    ldap = provider(direct_entry(slapd_directory))
    with pytest.raises(LoginRefused):
        ldap.authenticate("bob,ou=people,dc=example,dc=org", USERS["bob"][0])
    # slapd saw one RDN value holding the whole payload, not bob's DN
    binds = [line for line in slapd_directory.log().splitlines() if " BIND dn=" in line]
    assert "uid=bob\\2Cou\\3Dpeople\\2Cdc\\3Dexample\\2Cdc\\3Dorg,ou=people" in binds[-1]


def test_a31_payloads_and_empty_password_never_sign_in_through_the_form(
    serve_sqlite: Serve, slapd_directory: Directory
) -> None:
    web = serve_sqlite()
    for entry in ("directory", "search"):
        for payload, password in PAYLOADS:
            browser = web.client()
            response = sign_in(browser, payload, password, entry)
            assert response.status_code == 422, (entry, payload)
            assert browser.get("/tickets").status_code in (302, 303)  # to the login page
    for email in ("alice@acme.test", "bob@globex.test", "admin@example.org"):
        assert user(web, email) is None
    assert not audit_entries(web, "login")
    # the empty password: refused and audited without a connection to the directory
    connections = slapd_directory.connections()
    assert sign_in(web.client(), "alice", "").status_code == 422
    assert slapd_directory.connections() == connections
    assert audit_entries(web, "login_failed")[-1]["detail"]["reason"] == "empty_password"


def test_a31_empty_password_refused_before_bind(slapd_directory: Directory) -> None:
    # nothing listens here: any connection attempt would be a different refusal
    closed = provider({**direct_entry(slapd_directory), "url": f"ldap://{HOST}:{free_port()}"})
    with pytest.raises(LoginRefused) as refused:
        closed.authenticate("alice", "")
    assert refused.value.reason == "empty_password"
    with pytest.raises(LoginRefused) as unreachable:
        closed.authenticate("alice", USERS["alice"][0])
    assert unreachable.value.reason.startswith("user_unreachable")
    # and the real directory sees no connection at all for refused input
    live = provider(search_entry(slapd_directory))
    connections = slapd_directory.connections()
    refusals = {
        ("alice", ""): "empty_password",
        ("", USERS["alice"][0]): "empty_username",
        ("   ", USERS["alice"][0]): "empty_username",
        ("a" * 257, USERS["alice"][0]): "invalid_username",
        ("alice\x00", USERS["alice"][0]): "invalid_username",
    }
    for (username, password), reason in refusals.items():
        with pytest.raises(LoginRefused) as early:
            live.authenticate(username, password)
        assert early.value.reason == reason
    assert slapd_directory.connections() == connections


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never answers (a hung directory)."""
    sock = socket.socket()
    sock.bind((HOST, 0))
    sock.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(sock.getsockname()[1])
    stop.set()
    thread.join(timeout=2)
    for conn in accepted:
        conn.close()
    sock.close()


def test_hung_directory_times_out(slapd_directory: Directory, silent_server: int) -> None:
    hung = provider(
        {**direct_entry(slapd_directory), "url": f"ldap://{HOST}:{silent_server}", "timeout": 1}
    )
    started = time.monotonic()
    with pytest.raises(LoginRefused) as refused:
        hung.authenticate("alice", USERS["alice"][0])
    assert time.monotonic() - started < 5
    assert refused.value.reason.startswith(("user_unreachable", "user_bind_failed"))
