"""SECURITY A.43: the IP allow-list guard, end to end through the runtime, on both databases."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from portalis_ip_allowlist import Allowlist, IpAllowlistGuard, parse_ip

from portalis.testing.portals import b2c_with
from portalis.testing.web import PortalClient, WebPortal, app_state

OUTSIDE = "203.0.113.9"
PROXY = "127.0.0.1"
#: `serve(allowlist, env=None)`: deploy the b2c blueprint with that `auth.ip_allowlist`
Serve = Callable[..., WebPortal]


def definition(tmp_path: Path, allowlist: str) -> Path:
    """The b2c blueprint with `allowlist` (YAML flow mapping) as its `auth.ip_allowlist`."""
    return b2c_with(tmp_path / "portal", auth=f"  ip_allowlist: {allowlist}\n")


@pytest.fixture
def serve(database_url: str, tmp_path: Path) -> Iterator[Serve]:
    """`serve(allowlist, env=None)` deploys the b2c blueprint with that allow-list."""
    served: list[WebPortal] = []

    def deploy(allowlist: str, env: Mapping[str, str] | None = None) -> WebPortal:
        web = WebPortal.deploy(
            database_url, tmp_path / "instance", definition(tmp_path, allowlist), env=env
        )
        served.append(web)
        return web

    yield deploy
    for web in served:
        web.close()


def get(browser: PortalClient, path: str, ip: str, forwarded: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    response = browser.get(path, environ_base={"REMOTE_ADDR": ip}, headers=headers)
    return response.status_code


def sign_in(browser: PortalClient, email: str, password: str, ip: str) -> int:
    """Sign in through the real login form from `ip`; returns the POST's status."""
    browser.get("/login", environ_base={"REMOTE_ADDR": ip})
    browser.sync_csrf()
    data = {"email": email, "password": password}
    return browser.post("/login", data, environ_base={"REMOTE_ADDR": ip}).status_code


def test_a43_guard_loaded_from_entry_point(serve: Serve) -> None:
    web = serve("{portal: []}")
    st = app_state(web.app)
    assert st.pm.get_plugin("ip_allowlist") is not None
    assert any(isinstance(guard, IpAllowlistGuard) for guard in st.guards)
    assert get(web.client(), "/login", OUTSIDE) == 200  # empty list: no restriction


def test_a43_portal_list_allows_and_refuses(serve: Serve) -> None:
    web = serve('{portal: ["192.0.2.0/24"]}')
    anonymous = web.client()
    assert get(anonymous, "/login", "192.0.2.10") == 200
    refused = anonymous.get("/login", environ_base={"REMOTE_ADDR": OUTSIDE})
    assert refused.status_code == 403
    assert "Acme" not in refused.get_data(as_text=True)  # not even the portal's title
    ben = web.client("ben@acme.test")
    assert get(ben, "/tickets", "192.0.2.10") == 200
    page = ben.get("/tickets", environ_base={"REMOTE_ADDR": OUTSIDE})
    assert page.status_code == 403
    body = page.get_data(as_text=True)
    assert "Ben Ortiz" not in body and "Acme" not in body
    ticket = web.record_id("ticket")
    api = ben.get(f"/api/v1/ticket/{ticket}", environ_base={"REMOTE_ADDR": OUTSIDE})
    assert api.status_code == 403
    assert api.mimetype == "application/problem+json"
    assert set(api.json) == {"type", "title", "status", "code"}
    assert ben.get(f"/api/v1/ticket/{ticket}", environ_base={"REMOTE_ADDR": "192.0.2.10"}).json


def test_a43_role_list_refuses_outside_agent_after_sign_in(serve: Serve) -> None:
    web = serve('{roles: {agent: ["10.0.0.0/8"]}}')
    agent = web.client()
    assert get(agent, "/login", OUTSIDE) == 200  # anonymous: the role list does not apply
    assert sign_in(agent, "sam@support.test", "correct horse 43", OUTSIDE) in (302, 303)
    assert get(agent, "/tickets", OUTSIDE) == 403
    assert get(agent, "/tickets", "10.1.2.3") == 200
    customer = web.client()
    assert sign_in(customer, "ben@acme.test", "correct horse 44", OUTSIDE) in (302, 303)
    assert get(customer, "/tickets", OUTSIDE) == 200


def test_a43_every_listed_role_must_be_satisfied(serve: Serve) -> None:
    # anna is account_admin, which inherits customer: she must satisfy both lists
    web = serve('{roles: {customer: ["10.0.0.0/8"], account_admin: ["10.1.0.0/16"]}}')
    anna, ben = web.client("anna@acme.test"), web.client("ben@acme.test")
    assert get(anna, "/tickets", "10.1.0.7") == 200
    assert get(anna, "/tickets", "10.2.0.7") == 403
    assert get(ben, "/tickets", "10.2.0.7") == 200
    assert get(ben, "/tickets", OUTSIDE) == 403


def test_a43_ipv6_and_ipv4_mapped(serve: Serve) -> None:
    web = serve('{portal: ["10.0.0.0/8", "2001:db8::/32", "::ffff:192.0.2.0/120"]}')
    browser = web.client()
    assert get(browser, "/login", "2001:db8::1") == 200
    assert get(browser, "/login", "2001:db9::1") == 403
    assert get(browser, "/login", "::ffff:10.1.2.3") == 200  # mapped form of an allowed IPv4
    assert get(browser, "/login", "::ffff:198.51.100.1") == 403
    assert get(browser, "/login", "192.0.2.44") == 200  # an IPv4-mapped network entry
    assert get(browser, "/login", "198.51.100.1") == 403


def test_a43_forwarded_for_only_from_trusted_proxy(serve: Serve) -> None:
    web = serve('{portal: ["10.0.0.0/8"]}', env={"PORTALIS_TRUSTED_PROXIES": PROXY})
    browser = web.client()
    # a client that is not a trusted proxy cannot claim an allowed address
    assert get(browser, "/login", OUTSIDE, forwarded="10.1.2.3") == 403
    assert get(browser, "/login", "10.9.9.9", forwarded=OUTSIDE) == 200
    # behind the trusted proxy the forwarded client address counts
    assert get(browser, "/login", PROXY, forwarded="10.1.2.3") == 200
    assert get(browser, "/login", PROXY, forwarded=OUTSIDE) == 403
    assert get(browser, "/login", PROXY) == 403  # the proxy itself is not allowed
    # a spoofed entry in front of the proxy-appended real address is ignored
    assert get(browser, "/login", PROXY, forwarded=f"10.1.2.3, {OUTSIDE}") == 403


def test_a43_parsed_once_per_compiled_portal(serve: Serve) -> None:
    web = serve('{portal: ["10.0.0.0/8"], roles: {agent: []}}')
    # compiled with the version by the plugin's definition section: the guard parses nothing
    first = Allowlist.of(web.compiled.model)
    assert isinstance(web.compiled.model.auth.section("ip_allowlist"), Allowlist)
    assert Allowlist.of(web.compiled.model) is first
    assert first.portal == (ipaddress.ip_network("10.0.0.0/8"),)
    assert first.roles == {}  # an empty role list restricts nothing


def test_a43_unknown_address_satisfies_no_list() -> None:
    assert Allowlist(portal=(), roles={}).allows("not an address", ["agent"])
    lists = Allowlist(portal=(ipaddress.ip_network("10.0.0.0/8"),), roles={})
    assert not lists.allows("not an address", [])  # fail closed when a list applies
    assert not lists.allows("", [])
    assert parse_ip("::ffff:10.1.2.3") == parse_ip("10.1.2.3")
    assert parse_ip("10.1.2.3:8080") is None
