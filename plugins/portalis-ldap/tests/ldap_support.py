"""Helpers of the LDAP plugin's tests: provider entries, the b2c definition with an LDAP
entry, signing in through the real login form, users and audit entries."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from portalis_ldap.testing import BASE_DN, SERVICE_DN, Directory, group_dn
from werkzeug.test import TestResponse

from portalis.testing.inspection import export_audit, find_user
from portalis.testing.portals import BLUEPRINTS
from portalis.testing.web import PortalClient, WebPortal

PEOPLE = f"ou=people,{BASE_DN}"
GROUPS = f"ou=groups,{BASE_DN}"
#: role_map of every entry: a group DN, and group cn values
ROLE_MAP = {
    group_dn("account-admins"): "account_admin",
    "customers": "customer",
    "agents": "agent",
    "auditors": "account_admin",
}
#: `serve()`: deploy b2c with `all_entries`
Serve = Callable[[], WebPortal]


def direct_entry(directory: Directory) -> dict[str, Any]:
    """A direct-bind entry that provisions users into the account of their departmentNumber."""
    return {
        "type": "ldap",
        "name": "directory",
        "label": "Company directory",
        "url": directory.url,
        "bind_dn_template": f"uid={{username}},{PEOPLE}",
        "role_map": ROLE_MAP,
        "allow_registration": True,
        "account_from": "attribute:departmentNumber",
        "account_match": "customer_number",
        "timeout": 5,
    }


def search_entry(directory: Directory) -> dict[str, Any]:
    """A search-then-bind entry with a service account and a group search."""
    entry = direct_entry(directory)
    del entry["bind_dn_template"]
    entry.update(
        bind_dn=SERVICE_DN,
        bind_password="${LDAP_BIND_PASSWORD}",
        user_search_base=PEOPLE,
        user_filter="(&(objectClass=inetOrgPerson)(uid={username}))",
        group_search_base=GROUPS,
    )
    return entry


def tls_entries(directory: Directory, other_ca: Path) -> list[dict[str, Any]]:
    """StartTLS and ldaps entries verifying against the right CA, and against another one."""
    right, wrong = str(directory.ca_file), str(other_ca)
    return [
        {**direct_entry(directory), "name": "starttls", "start_tls": True, "ca_file": right},
        {**direct_entry(directory), "name": "ldaps", "url": directory.ldaps_url, "ca_file": right},
        {**direct_entry(directory), "name": "starttls_wrong_ca", "start_tls": True,
         "ca_file": wrong},
        {**direct_entry(directory), "name": "ldaps_wrong_ca", "url": directory.ldaps_url,
         "ca_file": wrong},
    ]  # fmt: skip


def all_entries(directory: Directory, other_ca: Path) -> list[dict[str, Any]]:
    """Every entry the portal tests use, so one deploy serves a whole test: `directory`
    (direct bind), `search` (search-then-bind), `closed` (no registration), `linking`
    (link_by_email), the TLS ones."""
    return [
        direct_entry(directory),
        {**search_entry(directory), "name": "search", "label": "Directory (search)"},
        {**direct_entry(directory), "name": "closed", "allow_registration": False},
        {**direct_entry(directory), "name": "linking", "link_by_email": True},
        *tls_entries(directory, other_ca),
    ]


def definition(folder: Path, entries: list[dict[str, Any]]) -> Path:
    """The b2c blueprint copied to `folder` with `entries` added to `auth.providers`."""
    shutil.copytree(BLUEPRINTS / "b2c", folder)
    root = folder / "portal.yaml"
    text = root.read_text(encoding="utf-8")
    marker = "  sessions: {idle_minutes: 60, absolute_hours: 12}\n"
    assert marker in text
    # a JSON object is a YAML flow mapping
    added = "".join(f"    - {json.dumps(entry)}\n" for entry in entries)
    root.write_text(text.replace(marker, added + marker), "utf-8")
    return folder


def sign_in(
    browser: PortalClient, username: str, password: str, provider: str = "directory"
) -> TestResponse:
    """POST the directory form of the login page (as a browser would, CSRF included)."""
    assert browser.get("/login").status_code == 200
    browser.sync_csrf()
    form = {"provider": provider, "username": username, "password": password}
    return browser.post("/login", form)


def user(web: WebPortal, email: str) -> dict[str, Any] | None:
    """The user row of `email`, or None."""
    with web.engine.connect() as conn:
        return find_user(conn, web.compiled, email)


def audit_entries(web: WebPortal, *actions: str) -> list[dict[str, Any]]:
    """The portal's audit entries (oldest first), only `actions` when given."""
    rows = export_audit(web.engine, since=datetime(2000, 1, 1, tzinfo=UTC))
    return [e for e in rows if not actions or e["action"] in actions]
