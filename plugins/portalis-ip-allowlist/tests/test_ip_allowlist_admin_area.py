"""SECURITY A.43: `auth.ip_allowlist.builder` guards the admin area and the builder paths,
end to end through the runtime, on both databases."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from portalis_ip_allowlist import Allowlist, is_builder_path

from portalis.testing.portals import b2c_with
from portalis.testing.web import PortalClient, WebPortal

OFFICE = "10.1.2.3"
OUTSIDE = "203.0.113.9"


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    """The b2c blueprint (admin_roles: [agent]) with the admin area open to 10.0.0.0/8 only."""
    folder = b2c_with(tmp_path / "portal", auth='  ip_allowlist: {builder: ["10.0.0.0/8"]}\n')
    served = WebPortal.deploy(database_url, tmp_path / "instance", folder)
    try:
        yield served
    finally:
        served.close()


def status(browser: PortalClient, path: str, ip: str) -> int:
    return browser.get(path, environ_base={"REMOTE_ADDR": ip}).status_code


def test_a43_admin_area_refused_outside_the_builder_list(web: WebPortal) -> None:
    sam = web.client("sam@support.test")  # an administrator of this portal
    assert status(sam, "/admin/users", OFFICE) == 200
    assert status(sam, "/admin/auth", OFFICE) == 200
    refused = sam.get("/admin/users", environ_base={"REMOTE_ADDR": OUTSIDE})
    assert refused.status_code == 403
    assert "Sam" not in refused.text and "Acme" not in refused.text
    assert status(sam, "/admin/auth", OUTSIDE) == 403
    assert status(sam, "/ADMIN/users", OUTSIDE) == 403
    # the rest of the portal stays open to them
    assert status(sam, "/tickets", OUTSIDE) == 200
    assert status(sam, "/profile", OUTSIDE) == 200


def test_a43_admin_area_refused_before_login_and_for_builder_paths(web: WebPortal) -> None:
    anonymous = web.client()
    assert status(anonymous, "/admin/users", OUTSIDE) == 403  # not even a login redirect
    assert status(anonymous, "/admin/users", OFFICE) == 302
    assert status(anonymous, "/_builder", OUTSIDE) == 403
    assert status(anonymous, "/_builder/x", OFFICE) == 404
    assert status(anonymous, "/login", OUTSIDE) == 200
    ben = web.client("ben@acme.test")
    assert status(ben, "/admin/users", OUTSIDE) == 403
    assert status(ben, "/admin/users", OFFICE) == 403  # in the office, but no admin role


def test_a43_admin_area_builder_paths_by_segment() -> None:
    for path in ("/admin", "/admin/", "/admin/users", "/_builder", "/_builder/x", "/Admin/x"):
        assert is_builder_path(path), path
    for path in ("/", "/administration", "/tickets/admin", "/_builderx", "/login"):
        assert not is_builder_path(path), path
    lists = Allowlist(portal=(), roles={}, builder=(ipaddress.ip_network("10.0.0.0/8"),))
    assert not lists.empty
    assert lists.allows(OUTSIDE, [], "/tickets")
    assert not lists.allows(OUTSIDE, [], "/admin/users")
    assert lists.allows(OFFICE, ["agent"], "/admin/users")
    assert not lists.allows("not an address", [], "/admin")
