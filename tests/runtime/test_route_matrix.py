"""SECURITY A.20 (ASVS 8.2.1): every rule of the portal's URL map × every role.

Page rules get their expectation from the definition (`roles:` of the page): a role the page
excludes is sent to the login page when anonymous and gets 403 when signed in. System and API
rules carry an explicit expectation per role in `SYSTEM_MATRIX`, so a new route fails here
until someone decides who may use it. `test_every_route_is_classified` checks the dispatcher's
own bookkeeping: each endpoint is a page with roles, a public endpoint or a view that guards
itself — and none of the guarded ones answers an anonymous request with data.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from unittest import mock

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from werkzeug.routing import Map, Rule
from werkzeug.test import TestResponse

from portalis.engine.accounts import passwords
from portalis.engine.data.system_tables import attachments
from portalis.runtime import default_plugins
from portalis.runtime.dispatch import PUBLIC_ENDPOINTS, VIEWS
from portalis.runtime.page_records import page_allowed
from portalis.runtime.plugin_routes import collect_routes
from portalis.runtime.routing import SYSTEM_ROUTES
from portalis.testing.databases import sqlite_database
from portalis.testing.web import PortalClient, WebPortal

CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
SLUG = "acme-support"
ROLES = ("anonymous", "customer", "account_admin", "agent")
#: The user acting in each role (None: not signed in).
USERS = {
    "anonymous": None,
    "customer": "ben@acme.test",
    "account_admin": "anna@acme.test",
    "agent": "sam@support.test",
}
#: The ticket each role opens on `<id>` pages: one it may read and edit (its own, for customers).
TICKET_OF = {"anonymous": "t1", "customer": "t2", "account_admin": "t1", "agent": "t1"}
SUBJECTS = {"t1": "Invoice 2026-114 is wrong", "t2": "Cannot download my contract"}
LOGIN, HOME = "login", "home"
STEP_UP = f"303 → /{SLUG}/profile/confirm?next=%%2F{SLUG}%%2Fprofile%%2F%s"
INBOX, PREFS = f"303 → /{SLUG}/notifications", f"303 → /{SLUG}/notifications#preferences"
#: (endpoint, method) → expected answer for (anonymous, customer, account_admin, agent):
#: a status code, LOGIN (redirect to this portal's login page) or HOME (redirect to its start).
SYSTEM_MATRIX: dict[tuple[str, str], tuple[int | str, int | str, int | str, int | str]] = {
    ("sys:login", "GET"): (200, HOME, HOME, HOME),
    ("sys:logout", "POST"): (HOME, HOME, HOME, HOME),
    ("sys:register", "GET"): (404, 404, 404, 404),  # b2c has self_registration: false
    ("sys:reset_request", "GET"): (200, 200, 200, 200),
    ("sys:reset", "GET"): (404, 404, 404, 404),  # an unknown token
    ("sys:verify", "GET"): (404, 404, 404, 404),
    ("sys:verify", "POST"): (404, 404, 404, 404),
    ("sys:invite", "GET"): (404, 404, 404, 404),
    ("sys:profile", "GET"): (LOGIN, 200, 200, 200),
    ("sys:password", "GET"): (LOGIN, 200, 200, 200),
    ("sys:sessions", "GET"): (LOGIN, 200, 200, 200),
    ("sys:account_users", "GET"): (LOGIN, 403, 200, 403),
    # no account named: nobody belongs to it (404); visitors are sent to sign in
    ("sys:account_switch", "POST"): (LOGIN, 404, 404, 404),
    ("sys:account_users", "POST"): (LOGIN, 403, 400, 403),  # no action (the walk posts real ones)
    ("sys:file", "GET"): (404, 200, 200, 200),  # an attachment of an Acme ticket
    ("sys:autocomplete", "GET"): (404, 200, 200, 200),
    ("sys:export", "GET"): (404, 200, 200, 200),
    # the tickets page's block 0 is a list, no calendar: no calendar file for anyone (the
    # calendar's own files are walked in test_permissions_every_path and test_calendar_web)
    ("sys:ics_feed", "GET"): (404, 404, 404, 404),
    ("sys:ics_booking", "GET"): (404, 404, 404, 404),
    # b2c grants no delete: the record is visible to the signed-in roles, so 403; unseen → 404
    ("sys:action", "POST"): (404, 403, 403, 403),
    # a bulk post without an action: nothing to run for anyone (the walk posts real ones)
    ("sys:bulk", "POST"): (404, 404, 404, 404),
    # the tickets list imports CSV for those who may create tickets (agents may not); a post
    # without a file is refused; an unknown import is nobody's
    ("sys:import", "GET"): (404, 200, 200, 404),
    ("sys:import", "POST"): (404, 422, 422, 404),
    ("sys:import_step", "GET"): (404, 404, 404, 404),
    ("sys:import_step", "POST"): (404, 404, 404, 404),
    ("sys:theme_css", "GET"): (200, 200, 200, 200),
    ("sys:logo", "GET"): (200, 200, 200, 200),
    ("api:openapi", "GET"): (200, 200, 200, 200),
    ("api:collection", "GET"): (401, 200, 200, 200),
    ("api:item", "GET"): (401, 200, 200, 200),
    ("api:transitions", "GET"): (401, 200, 200, 200),
    ("api:transition", "POST"): (401, 415, 415, 415),  # a form post, not JSON
    ("api:copy", "POST"): (401, 404, 404, 404),  # b2c tickets declare no copy:
    ("api:bulk", "POST"): (401, 415, 415, 415),  # a form post, not JSON
    # a document of the role's ticket (the customer's own; colleagues' tickets for the others)
    ("sys:attachment", "GET"): (404, 200, 200, 200),
    ("sys:attachment_version", "GET"): (404, 200, 200, 200),
    # the ticket summary PDF of the role's ticket
    ("sys:printout", "GET"): (404, 200, 200, 200),
    ("api:attachments", "GET"): (401, 200, 200, 200),
    ("api:attachments", "POST"): (401, 415, 415, 415),  # a urlencoded form, not multipart
    ("api:attachment", "GET"): (401, 200, 200, 200),
    # DELETE names an unknown document (a real one would be gone for the cells after it)
    ("api:attachment", "DELETE"): (401, 404, 404, 404),
    ("api:attachment_content", "GET"): (401, 200, 200, 200),
    ("api:attachment_versions", "GET"): (401, 200, 200, 200),
    ("api:attachment_versions", "POST"): (401, 415, 415, 415),
    ("api:attachment_version_content", "GET"): (401, 200, 200, 200),
    # online payments: b2c's tickets are not payable (tests/runtime/test_payments_api.py)
    ("api:pay", "POST"): (401, 404, 404, 404),
    ("api:payments", "GET"): (401, 404, 404, 404),
    ("api:payment_refunds", "POST"): (401, 404, 404, 404),
    ("sys:notifications", "GET"): (LOGIN, 200, 200, 200),
    # live updates: the bell of a signed-in user on the tickets list; `tickets` shows no record
    ("sys:updates", "GET"): (404, 200, 200, 200),
    ("sys:record_updates", "GET"): (404, 404, 404, 404),
    ("sys:notification_read", "POST"): (LOGIN, 404, 404, 404),  # <id> is a ticket id: not theirs
    ("sys:notifications_read_all", "POST"): (LOGIN, INBOX, INBOX, INBOX),
    ("sys:notification_prefs", "POST"): (LOGIN, PREFS, PREFS, PREFS),
    # no pending login (first factor passed) in any of these browsers
    ("sys:two_factor", "GET"): (LOGIN, LOGIN, LOGIN, LOGIN),
    ("sys:two_factor", "POST"): (LOGIN, LOGIN, LOGIN, LOGIN),
    ("sys:confirm", "GET"): (LOGIN, 200, 200, 200),
    ("sys:confirm", "POST"): (LOGIN, 422, 422, 422),  # no password typed
    # b2c has only the password provider, which runs no redirect flow
    ("sys:auth", "GET"): (404, 404, 404, 404),
    ("sys:auth", "POST"): (404, 404, 404, 404),
    # the TOTP plugin's pages (installed with the first-party plugins)
    # (a signed-in user must confirm it is them first: the step-up page)
    ("totp:enrol", "GET"): (LOGIN, *[STEP_UP % "two-factor"] * 3),
    ("totp:enrol", "POST"): (LOGIN, *[STEP_UP % "two-factor"] * 3),
    ("totp:continue", "POST"): (LOGIN, *[f"303 → /{SLUG}/profile/two-factor"] * 3),
    ("totp:disable", "GET"): (LOGIN, *[STEP_UP % "two-factor%2Fdisable"] * 3),
    ("totp:disable", "POST"): (LOGIN, *[STEP_UP % "two-factor%2Fdisable"] * 3),
    ("totp:recovery", "GET"): (LOGIN, *[STEP_UP % "two-factor%2Frecovery"] * 3),
    ("totp:recovery", "POST"): (LOGIN, *[STEP_UP % "two-factor%2Frecovery"] * 3),
    # the admin area: b2c has admin_roles [agent]
    ("sys:admin_users", "GET"): (LOGIN, 403, 403, 200),
    ("sys:admin_users", "POST"): (LOGIN, 403, 403, 400),  # no action, no user
    ("sys:admin_auth", "GET"): (LOGIN, 403, 403, 200),
    # the password provider has no test form (its form is the core's login form)
    ("sys:admin_auth_test", "POST"): (LOGIN, 403, 403, 404),
    # payments: no payment provider is called `password`; an unknown payment is nobody's
    # (test_payments_web and the every-path walk visit real ones)
    ("sys:payment_events", "POST"): (404, 404, 404, 404),
    ("sys:payment", "GET"): (LOGIN, 404, 404, 404),
    ("sys:payment_checkout", "GET"): (LOGIN, 404, 404, 404),
    # the portal's payments: its administrators' alone (b2c: agents)
    ("sys:admin_payments", "GET"): (LOGIN, 403, 403, 200),
}
#: Routes of the installed plugins (the app loads them through their entry points).
_PLUGIN_ROUTES = collect_routes(
    default_plugins.plugin_manager(),
    (path for path, _, _ in SYSTEM_ROUTES),
)
PLUGIN_ENDPOINTS = {route.endpoint: route.access for route in _PLUGIN_ROUTES}
PLUGIN_METHODS = {route.endpoint: route.methods for route in _PLUGIN_ROUTES}
#: Values for the URL arguments of system rules.
ARGUMENTS = {
    "token": "x" * 43,
    "entity": "ticket",
    "page": "tickets",
    "block": "0",
    "action": "delete",
    "name": "start",
    "provider": "password",
    "step": "callback",
    "version": "1",
    "number": "1",
    "printout": "summary",
    "import_id": "x" * 32,
    "payment": "pay_" + "x" * 24,
}
SECRETS = (
    "Invoice 2026-114",
    "Cannot download my contract",
    "Change of delivery address",
    "Outage in the order portal",
    "Ben Ortiz",
    "Nina Novak",
    "anna@acme.test",
    "nina@globex.test",
    "Line 3 is charged twice",
)


@dataclass
class Served:
    web: WebPortal
    tickets: dict[str, int]
    file_id: str
    #: ticket key → the id of a document attached to it
    documents: dict[str, str]

    @property
    def url_map(self) -> Map:
        return self.web.app.extensions["portalis"].registry.require(SLUG).url_map

    def client(self, role: str) -> PortalClient:
        """A fresh browser in `role` (anonymous ones hold a CSRF token, too)."""
        browser = self.web.client(USERS[role])
        if USERS[role] is None:
            browser.sync_csrf()
        return browser

    def path(self, rule: Rule, role: str, method: str = "GET") -> str:
        values = {
            **ARGUMENTS,
            "id": str(self.tickets[TICKET_OF[role]]),
            "file_id": self.file_id,
            "document": "x" * 24 if method == "DELETE" else self.documents[TICKET_OF[role]],
        }
        return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values[m.group(1)], rule.rule)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("route-matrix")
    with sqlite_database(folder) as url:
        with mock.patch.object(passwords, "_hasher", CHEAP_HASHER):
            web = WebPortal.deploy(url, folder / "instance")
        try:
            tickets = {key: web.record_id("ticket", subject=s) for key, s in SUBJECTS.items()}
            ben = web.client("ben@acme.test")
            response = ben.post(
                "/tickets/new",
                {"_block": "0", "subject": "Matrix", "attachment": (io.BytesIO(PDF), "m.pdf")},
                content_type="multipart/form-data",
            )
            assert response.status_code == 303
            page = ben.get(response.headers["Location"].split(f"/{SLUG}", 1)[1]).text
            match = re.search(rf'href="/{SLUG}/_files/([A-Za-z0-9_-]+)"', page)
            assert match, page
            documents = {}
            block = next(b.index for b in web.compiled.model.pages["ticket"].blocks
                         if b.type == "attachments")  # fmt: skip
            for key, owner in (("t1", "anna@acme.test"), ("t2", "ben@acme.test")):
                upload = {"_block": str(block), "op": "upload", "file": (io.BytesIO(PDF), "d.pdf")}
                response = web.client(owner).post(
                    f"/tickets/{tickets[key]}", upload, content_type="multipart/form-data"
                )
                assert response.status_code == 303, response.text
                with web.engine.connect() as conn:
                    documents[key] = conn.execute(
                        sa.select(attachments.c.id).where(attachments.c.record_id == tickets[key])
                    ).scalar_one()
            yield Served(web, tickets, match.group(1), documents)
        finally:
            web.close()


def request(browser: PortalClient, method: str, path: str) -> TestResponse:
    if method == "GET":
        return browser.get(path)
    if method == "POST":
        return browser.post(path, {"_block": "0", "version": "1"})
    return browser.client.open(
        browser.url(path), method=method, json={}, headers={"X-CSRF-Token": browser.csrf}
    )


def outcome(response: TestResponse) -> int | str:
    """The status, or LOGIN/HOME for redirects to this portal's login page or start page."""
    if response.status_code in (301, 302, 303, 307, 308):
        location = response.headers.get("Location", "")
        if location.startswith(f"/{SLUG}/login"):
            return LOGIN
        if location == f"/{SLUG}/":
            return HOME
        return f"{response.status_code} → {location}"
    return response.status_code


@pytest.mark.parametrize("role", ROLES)
def test_asvs_8_2_1_route_role_matrix(served: Served, role: str) -> None:
    model = served.web.compiled.model
    actor = served.web.actor(USERS[role]) if USERS[role] else None
    cells = 0
    wrong: list[str] = []
    unknown: list[str] = []
    for rule in sorted(served.url_map.iter_rules(), key=lambda r: r.rule):
        path = served.path(rule, role)
        kind, _, name = rule.endpoint.partition(":")
        if kind == "page":
            page = model.pages[name]
            allowed = role in page.roles or (actor is not None and page_allowed(page, actor))
            for method in ("GET", "POST"):
                got = outcome(request(served.client(role), method, path))
                cells += 1
                if not allowed:
                    want: int | str = LOGIN if actor is None else 403
                    if got != want:
                        wrong.append(f"{method} {path}: {got}, want {want}")
                elif got in (LOGIN, 403) or (isinstance(got, int) and got >= 500):
                    wrong.append(f"{method} {path}: {got} for an allowed role")
                elif method == "GET" and got != 200:
                    wrong.append(f"GET {path}: {got}, want 200")
            continue
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        checked = [m for m in methods if (rule.endpoint, m) in SYSTEM_MATRIX]
        if not checked:
            unknown.append(f"{rule.rule} ({rule.endpoint})")
        for method in checked:
            want = SYSTEM_MATRIX[(rule.endpoint, method)][ROLES.index(role)]
            path = served.path(rule, role, method)
            got = outcome(request(served.client(role), method, path))
            cells += 1
            if got != want:
                wrong.append(f"{method} {path} ({rule.endpoint}): {got}, want {want}")
    assert not unknown, f"routes without an expectation in SYSTEM_MATRIX: {unknown}"
    assert not wrong, "\n".join(wrong)
    assert cells >= len(SYSTEM_MATRIX) + 2 * len(model.pages)


def test_every_route_is_classified(served: Served) -> None:
    model = served.web.compiled.model
    unclassified = []
    for rule in served.url_map.iter_rules():
        endpoint = rule.endpoint
        kind, _, name = endpoint.partition(":")
        if kind == "page":
            if name not in model.pages or not model.pages[name].roles:
                unclassified.append(f"{rule.rule} ({endpoint}): page without declared roles")
        elif endpoint in PLUGIN_ENDPOINTS:
            # a plugin route declares who may call it; the dispatcher checks it
            assert PLUGIN_ENDPOINTS[endpoint] in ("public", "user", "pending"), endpoint
        elif endpoint not in PUBLIC_ENDPOINTS and endpoint not in VIEWS:
            unclassified.append(f"{rule.rule} ({endpoint})")
    assert not unclassified, f"unclassified endpoints: {unclassified}"
    assert PUBLIC_ENDPOINTS <= set(VIEWS), PUBLIC_ENDPOINTS - set(VIEWS)

    # every guarded system/API endpoint refuses an anonymous request without showing data
    leaks = []
    seen = set()
    for rule in served.url_map.iter_rules():
        if rule.endpoint.startswith("page:") or rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        seen.add(rule.endpoint)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            path = served.path(rule, "anonymous", method)
            response = request(served.client("anonymous"), method, path)
            got = outcome(response)
            text = response.get_data(as_text=True)
            shown = [s for s in SECRETS if s in text]
            if got not in (LOGIN, HOME, 400, 401, 403, 404, 405) or shown:
                leaks.append(f"{method} {path} ({rule.endpoint}): {got} {shown}")
    assert not leaks, "\n".join(leaks)
    assert seen >= {"sys:profile", "sys:file", "sys:export", "api:item"}


def test_matrix_covers_every_system_route() -> None:
    """Each expectation names a real (endpoint, method) of the system routes."""
    declared = {(e, m) for _, e, methods in SYSTEM_ROUTES for m in methods}
    declared |= {(e, m) for e, methods in PLUGIN_METHODS.items() for m in methods}
    stale = set(SYSTEM_MATRIX) - declared
    assert not stale, f"SYSTEM_MATRIX names routes that do not exist: {stale}"
