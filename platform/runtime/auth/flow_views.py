"""The view behind `/auth/<provider>/<step>`: starts and finishes redirect-provider flows.

See `auth.flows` for how a flow is bound to the session that started it.
"""

from __future__ import annotations

import logging

from flask import abort, flash, g, redirect, request

from portalis.engine.data.db import begin_write
from portalis.engine.data.permissions import Actor
from portalis.engine.definition.auth_config import AuthProvider

from ..context import state
from ..forms.account import FlowStartForm
from ..registry import RuntimePortal
from ..security import safe_next
from ..templating import gettext as _
from ..templating import provider_label
from . import external, login_check, second_factor
from .common import ViewResult, audit_auth
from .flows import PURPOSES, FlowContext, end_flow, save_flow, saved_flow
from .handoff import handoff
from .login_page import login_page
from .providers import ExternalIdentity, LoginRefused, is_redirect

log = logging.getLogger("portalis.auth")


def auth_view(portal: RuntimePortal, actor: Actor, provider: str, step: str) -> ViewResult:
    """Start (`POST start`) or continue a flow with the redirect provider `provider`."""
    bound = portal.providers.get(provider)
    if bound is None or not is_redirect(bound):
        abort(404)
    entry = bound.entry
    if step == "start":
        if request.method != "POST":
            abort(405)
        form = FlowStartForm(request.form)
        purpose = form.purpose.data
        if purpose not in PURPOSES:
            abort(400)
        if purpose != "login" and not actor.is_authenticated:
            abort(403)
        if purpose == "test" and not login_check.may_test(portal, actor):
            abort(403)
        next_url = safe_next(form.next.data, g.portal_prefix)
        flow = FlowContext(portal, entry, purpose, next_url, {}, active=True)
        try:
            response = bound.begin(flow)
        except LoginRefused as refused:  # e.g. the provider's discovery document is unreachable
            return _refused(portal, actor, entry, refused, flow)
        save_flow(flow, actor)
        if 300 <= response.status_code < 400 and response.location:
            return handoff(response.location)
        return response
    flow = saved_flow(portal, entry)
    try:
        result = bound.step(step, flow)
    except LoginRefused as refused:
        end_flow()
        return _refused(portal, actor, entry, refused, flow)
    if not isinstance(result, ExternalIdentity):
        if flow.active:
            save_flow(flow, actor)  # the provider may have updated its state
        return result
    started = end_flow()
    if not flow.active:
        return _refused(portal, actor, entry, LoginRefused("flow_not_started"), flow)
    if flow.purpose != "login" and started.get("user") != actor.id:
        return _refused(portal, actor, entry, LoginRefused("flow_user_changed"), flow)
    if flow.purpose == "test":
        return login_check.show_result(portal, actor, entry, result)
    if flow.purpose == "link":
        return external.link_view(portal, actor, entry, result, flow.next)
    if flow.purpose == "reauth":
        return second_factor.reauth_by_identity(portal, actor, entry, result, flow.next)
    return external.finish_login(portal, entry, result, flow.next)


def _refused(
    portal: RuntimePortal,
    actor: Actor,
    entry: AuthProvider,
    refused: LoginRefused,
    flow: FlowContext,
) -> ViewResult:
    """Answer a refused flow: an administrator's test shows why; a signed-in user's link or
    step-up goes back with a message; a sign-in shows the login page with one neutral
    message. The reason is audited and logged, never shown to a user signing in."""
    log.info("auth flow %s/%s refused: %s", portal.slug, entry.name, refused.reason)
    if flow.purpose == "test" and login_check.may_test(portal, actor):
        return login_check.show_result(portal, actor, entry, None, refused=refused)
    with begin_write(state().engine) as conn:
        audit_auth(conn, portal, "login_failed", user_id=actor.id, email=actor.email or None,
                   provider=entry.name, reason=refused.reason, purpose=flow.purpose)  # fmt: skip
    message = refused.message or _("Signing in with %(provider)s failed. Please try again.",
                                   provider=provider_label(entry))  # fmt: skip
    if flow.purpose in ("link", "reauth") and actor.is_authenticated:
        flash(message, "error")
        return redirect(safe_next(flow.next, g.portal_prefix), 303)
    return login_page(portal, 401, next_url=flow.next, errors={"sso": [message]})
