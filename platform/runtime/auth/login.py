"""Sign-in and sign-out, and the forced password change after `max_age_days`.

Every failed sign-in looks the same — unknown address, wrong password, disabled account —
with the same status and body, and the same Argon2 work (a dummy hash is verified for
unknown addresses), so the form reveals nothing about which accounts exist (ASVS 6.3.8).
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import abort, flash, g, redirect, request
from werkzeug.wrappers import Response

from portalis.engine.accounts.passwords import hash_password, needs_rehash, verify_password
from portalis.engine.accounts.user_writes import update_user
from portalis.engine.accounts.users import SessionUser, find_user, normalize_email
from portalis.engine.data.db import begin_write
from portalis.engine.data.permissions import Actor
from portalis.engine.data.tables import utcnow
from portalis.engine.definition.auth_config import PasswordPolicy
from portalis.engine.definition.model import PortalModel

from ..context import sign_out, state
from ..forms.auth import DirectoryLoginForm, LoginForm
from ..forms.base import add_error
from ..registry import RuntimePortal
from ..request_db import read_connection
from ..security import safe_next
from ..templating import gettext as _
from ..urls import portal_url
from . import throttle, tokens
from .common import (
    ViewResult,
    audit_auth,
    request_ip,
    system_actor,
)
from .external import finish_login
from .login_page import login_page
from .providers import FormProvider, LoginRefused, is_form
from .second_factor import complete_sign_in

#: Endpoints a user whose password expired may still use (everything else redirects).
PASSWORD_CHANGE_EXEMPT = frozenset(
    {
        "sys:password",
        "sys:logout",
        "sys:login",
        "sys:verify",
        "sys:reset_request",
        "sys:reset",
        "sys:theme_css",
        "sys:logo",
        "sys:two_factor",
        "sys:confirm",
    }
)


@functools.cache
def _dummy_hash() -> str:
    # verified for unknown addresses so they cost the same Argon2 work as known ones
    return hash_password(secrets.token_urlsafe(24))


def password_change_required(
    user: SessionUser | Mapping[str, Any] | None, model: PortalModel
) -> bool:
    """True when the user's password is older than the policy's `max_age_days`; `user` is
    the request's `SessionUser` or a user row.

    A user without a password (SSO only, pending invitation) never has to change it; a
    password without a recorded date is treated as expired.
    """
    policy = model.auth.password
    if user is None or policy is None or not policy.max_age_days:
        return False
    if isinstance(user, SessionUser):
        has_password, changed = user.has_password, user.password_changed_at
    else:
        has_password, changed = bool(user.get("password_hash")), user.get("password_changed_at")
    if not has_password:
        return False
    if changed is None:
        return True
    if changed.tzinfo is None:  # SQLite returns naive UTC
        changed = changed.replace(tzinfo=utcnow().tzinfo)
    return bool(changed + timedelta(days=policy.max_age_days) <= utcnow())


def password_change_redirect(
    portal: RuntimePortal, endpoint: str, row: SessionUser | Mapping[str, Any] | None
) -> Response | None:
    """The dispatcher hook: a redirect to /profile/password while the password is expired.

    API endpoints answer 403 instead (a client cannot follow the change form).
    """
    if endpoint in PASSWORD_CHANGE_EXEMPT:
        return None
    if not password_change_required(row, portal.compiled.model):
        return None
    if endpoint.startswith("api:"):
        abort(403)
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(portal_url("/profile/password", next=target))


def _failure(
    portal: RuntimePortal, form: LoginForm, next_url: str, status: int = 422, **headers: str
) -> ViewResult:
    # one body for every failure: the same message, the typed address and the same form
    message = _("The e-mail address or password is incorrect.")
    if status == 429:
        message = _("Too many sign-in attempts. Please wait a moment and try again.")
    add_error(form.password, message)
    return login_page(portal, status, next_url=next_url, form=form, headers=headers)


def _failure_reason(row: dict[str, Any] | None, ok: bool, pending: bool) -> str:
    """Why a sign-in failed, for the audit log only (the user sees one message for all)."""
    if row is None:
        return "unknown_user"
    if not ok:
        return "bad_password"
    return "unverified" if pending else "disabled"


def login_view(portal: RuntimePortal, actor: Actor) -> ViewResult:
    """GET: the sign-in page (password form, directory forms, SSO buttons). POST: sign in
    with the form of `provider` (default: the password provider) and redirect."""
    next_url = request.values.get("next", "")[:2000]
    if request.method == "GET":
        if actor.is_authenticated:
            return redirect(safe_next(next_url, g.portal_prefix))
        return login_page(portal, next_url=next_url)
    name = request.form.get("provider", "")
    if name:
        bound = portal.providers.get(name)
        if bound is None or not is_form(bound):
            abort(404)
        return directory_login(portal, bound, next_url)
    return password_login(portal, next_url)


def password_login(portal: RuntimePortal, next_url: str) -> ViewResult:
    """The e-mail + password form of the built-in password provider."""
    model = portal.compiled.model
    policy = model.auth.password
    if policy is None:
        abort(404)
    form = LoginForm(request.form)
    email = normalize_email(form.email.data)
    password = form.password.data
    ip = request_ip()
    engine = state().engine
    with read_connection(engine) as conn:
        verdict = throttle.check(conn, portal.slug, email, ip, lockout_after=policy.lockout_after)
    if not verdict.allowed:
        # refused attempts are not audited: hammering must not grow an append-only log
        # (the lockout itself was recorded when it began)
        return _failure(portal, form, next_url, 429, **{"Retry-After": str(verdict.retry_after)})
    with read_connection(engine) as conn:
        row = find_user(conn, portal.compiled, email) if email else None
    if row is None:
        verify_password(_dummy_hash(), password)
        ok = False
    else:
        ok = verify_password(row["password_hash"], password)
    with begin_write(engine) as conn:
        throttle.record(conn, portal.slug, email, ip, success=ok and bool(row and row["is_active"]))
        pending = (
            ok
            and row is not None
            and not row["is_active"]
            and tokens.has_open(conn, portal.slug, int(row["id"]), tokens.VERIFY)
        )
        if ok and row is not None and row["is_active"]:
            if needs_rehash(row["password_hash"]):
                # the same password in a newer hash format: its age stays
                uid = int(row["id"])
                update_user(portal.store, system_actor(uid), uid,
                            password_hash=hash_password(password), rehash=True, conn=conn)  # fmt: skip
        else:
            reason = _failure_reason(row, ok, pending)
            audit_auth(conn, portal, "login_failed", user_id=None, email=email or None,
                       provider="password", reason=reason)  # fmt: skip
            after = throttle.check(conn, portal.slug, email, ip, lockout_after=policy.lockout_after)
            if not after.allowed:  # this failure started a lockout
                audit_auth(conn, portal, "lockout", user_id=None, email=email or None,
                           provider="password", reason=after.reason,
                           retry_after=after.retry_after)  # fmt: skip
    if pending:
        # only someone who knows the password learns that the address is unconfirmed
        add_error(
            form.email, _("Please confirm your e-mail address first: open the link we sent you.")
        )
        return login_page(portal, 403, next_url=next_url, form=form)
    if not ok or row is None or not row["is_active"]:
        return _failure(portal, form, next_url)
    target = safe_next(next_url, g.portal_prefix)
    if password_change_required(row, model):
        flash(_("Your password has expired. Please choose a new one to continue."), "warning")
        target = portal_url("/profile/password", next=target)
    return complete_sign_in(portal, row, provider="password", next_url=target)


def directory_login(portal: RuntimePortal, bound: FormProvider, next_url: str) -> ViewResult:
    """A user-name + password form of a form provider (LDAP, …): throttled like the
    password form, the same answer for every failure, then the core's identity mapping."""
    entry = bound.entry
    form = DirectoryLoginForm(request.form)
    typed, password = form.username.data, form.password.data
    key = f"{entry.name}:{typed.lower()}"
    ip = request_ip()
    # the password policy's lockout threshold, or the policy default without a password form
    lockout_after = (portal.compiled.model.auth.password or PasswordPolicy()).lockout_after
    engine = state().engine
    with read_connection(engine) as conn:
        verdict = throttle.check(conn, portal.slug, key, ip, lockout_after=lockout_after)
    if not verdict.allowed:
        return _directory_failure(
            portal, entry.name, form, next_url, 429, **{"Retry-After": str(verdict.retry_after)}
        )
    try:
        identity = bound.authenticate(typed, password)
    except LoginRefused as refused:
        with begin_write(engine) as conn:
            throttle.record(conn, portal.slug, key, ip, success=False)
            audit_auth(conn, portal, "login_failed", user_id=None, email=None,
                       provider=entry.name, reason=refused.reason, username=typed[:200])  # fmt: skip
        return _directory_failure(portal, entry.name, form, next_url)
    with begin_write(engine) as conn:
        throttle.record(conn, portal.slug, key, ip, success=True)
    return finish_login(portal, entry, identity, next_url)


def _directory_failure(
    portal: RuntimePortal,
    provider: str,
    form: DirectoryLoginForm,
    next_url: str,
    status: int = 422,
    **headers: str,
) -> ViewResult:
    message = _("The user name or password is incorrect.")
    if status == 429:
        message = _("Too many sign-in attempts. Please wait a moment and try again.")
    add_error(form.password, message)
    return login_page(
        portal, status, next_url=next_url, directories={provider: form}, headers=headers
    )


def logout_view(portal: RuntimePortal, actor: Actor) -> Response:
    """POST only: end the session server-side and go to the portal's home page."""
    sign_out(
        lambda conn: audit_auth(conn, portal, "logout", user_id=actor.id, email=actor.email or None)
    )
    flash(_("You have been signed out."), "success")
    return redirect(portal_url("/"), 303)
