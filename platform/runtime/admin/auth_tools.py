"""/admin/auth: the portal's sign-in set-up, and the administrator's test login.

The page lists the provider entries (name, type, kind), the two-factor rule and the session
timeouts. A redirect provider is tested by starting its flow with purpose `test` (the flow
view shows the result); a form provider (LDAP) by typing a user's name and password here.
Either way `auth.login_check.show_result` renders what a login would do — no user, link or
session is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, request

from portalis.engine.data.db import begin_write
from portalis.engine.data.permissions import Actor

from ..auth import login_check, throttle
from ..auth.common import ViewResult, render, request_ip
from ..auth.providers import LoginRefused, is_form
from ..auth.second_factor import factors, second_factor_roles
from ..context import state
from ..forms.auth import ProviderTestForm
from ..registry import RuntimePortal
from ..request_db import read_connection
from ..templating import gettext as _
from ..templating import label, provider_label
from .access import admin_gate


@dataclass(frozen=True, slots=True)
class ProviderRow:
    """One provider entry as the admin page shows it."""

    name: str
    label: str
    type: str
    kind: str
    #: a form provider with its own `authenticate` (LDAP); the password form is the core's
    testable: bool


def provider_rows(portal: RuntimePortal) -> list[ProviderRow]:
    """The portal's bound providers, in definition order."""
    return [
        ProviderRow(
            name,
            provider_label(bound.entry),
            bound.entry.type,
            bound.kind,
            bound.kind == "redirect" or hasattr(bound, "authenticate"),
        )  # fmt: skip
        for name, bound in portal.providers.items()
    ]


#: Failed test logins per tested user before the login throttle's backoff applies.
TEST_ATTEMPTS = 10


def auth_view(portal: RuntimePortal, actor: Actor) -> ViewResult:
    """GET: providers, two-factor rule, session timeouts and the test-login forms."""
    gate = admin_gate(portal, actor)
    if gate is not None:
        return gate
    model = portal.compiled.model
    roles = model.roles
    return render(
        "admin/auth.html",
        providers=provider_rows(portal),
        two_factor_roles=sorted(label(roles[r].label, r) for r in second_factor_roles(model)),
        admin_roles=sorted(label(roles[r].label, r) for r in model.auth.admin_roles),
        factor_labels=[str(f.label()) for f in factors()],
        idle_minutes=model.auth.idle_minutes,
        absolute_hours=model.auth.absolute_hours,
        test_form=ProviderTestForm(),
    )


def test_view(portal: RuntimePortal, actor: Actor, provider: str) -> ViewResult:
    """POST `username`, `password`: run the form provider `provider` as a dry run."""
    gate = admin_gate(portal, actor)
    if gate is not None:
        return gate
    bound = portal.providers.get(provider)
    if bound is None or not is_form(bound):
        abort(404)
    form = ProviderTestForm(request.form)
    username, password = form.username.data, form.password.data
    # the test form checks passwords too: throttled like the login form, per tested user
    key, ip = f"admin-test:{provider}:{username.lower()}", request_ip()
    engine = state().engine
    with read_connection(engine) as conn:
        verdict = throttle.check(conn, portal.slug, key, ip, lockout_after=TEST_ATTEMPTS)
    if not verdict.allowed:
        refused = LoginRefused(
            "throttled", _("Too many sign-in attempts. Please wait a moment and try again.")
        )
        return login_check.show_result(portal, actor, bound.entry, None, refused=refused)
    try:
        identity = bound.authenticate(username, password)
    except LoginRefused as refused:
        with begin_write(engine) as conn:
            throttle.record(conn, portal.slug, key, ip, success=False)
        return login_check.show_result(portal, actor, bound.entry, None, refused=refused)
    with begin_write(engine) as conn:
        throttle.record(conn, portal.slug, key, ip, success=True)
    return login_check.show_result(portal, actor, bound.entry, identity)
