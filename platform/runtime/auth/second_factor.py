"""The second factor and step-up: every login path ends in `complete_sign_in`.

Password, LDAP, SSO and invitation logins all call `complete_sign_in`. When the user has a
second factor enrolled (or a role a loaded factor requires it for), no session starts:
the browser carries a *pending login* (user, provider, next page; ten minutes) to
`/login/two-factor`, or to the factor's enrolment page when a required factor is missing.
Only a verified code starts the session — so a password reset, an invitation or an SSO
login never skips the second factor (ASVS 6.4.3). Codes are throttled per user (ASVS
6.5.5/6.6.3) and the factor itself refuses replays (6.5.1).

Step-up (ASVS 7.5.1): `require_recent_auth` sends a user whose last full authentication is
older than STEP_UP_SECONDS to `/profile/confirm`, which asks the password and the second
factor again (or re-runs the user's SSO provider) and then rotates the session id (7.2.4).
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import sqlalchemy as sa
from flask import abort, flash, g, redirect, request, session
from werkzeug.wrappers import Response

from portalis.engine.accounts.passwords import verify_password
from portalis.engine.accounts.user_writes import update_user
from portalis.engine.data.db import begin_write
from portalis.engine.data.permissions import Actor
from portalis.engine.definition.auth_config import AuthProvider
from portalis.engine.definition.model import PortalModel

from ..context import rotate_session, sign_in, state
from ..forms.auth import CodeForm, ConfirmForm
from ..forms.base import add_error, show_errors
from ..registry import RuntimePortal
from ..request_db import read_connection
from ..security import safe_next
from ..templating import gettext as _
from ..urls import portal_url
from . import throttle
from .common import (
    ViewResult,
    audit_auth,
    login_redirect,
    render,
    request_ip,
    system_actor,
    user_agent,
    user_row,
)
from .identities import linked_user, user_identities
from .providers import ExternalIdentity

#: How long a pending login (between the first and the second factor) stays usable.
PENDING_SECONDS = 600
#: How recent the last full authentication must be for a sensitive change.
STEP_UP_SECONDS = 600
#: Wrong codes per user before the backoff of `throttle` applies.
CODE_ATTEMPTS = 5
_PENDING = "pending_login"


class SecondFactor(Protocol):
    """A second factor from the `portalis_second_factors` hook (TOTP, …)."""

    name: str
    #: the portal path of the enrolment page (a `portalis_portal_routes` route)
    enrol_path: str

    def label(self) -> str:
        """The factor's name for users, in the request's language."""
        ...

    def enrolled(self, conn: sa.Connection, portal: str, user_id: int) -> bool:
        """True when the user has this factor set up."""
        ...

    def enrolled_users(self, conn: sa.Connection, portal: str, user_ids: list[int]) -> set[int]:
        """Which of `user_ids` have this factor set up (one query for a page of users)."""
        ...

    def verify(self, conn: sa.Connection, portal: str, user_id: int, code: str) -> bool:
        """Check (and consume) a code inside `conn`'s transaction; False for a wrong or
        replayed one."""
        ...

    def disable(self, conn: sa.Connection, portal: str, user_id: int) -> bool:
        """Remove the user's enrolment (an administrator's reset after a lost device);
        True when there was one."""
        ...

    def required_roles(self, model: PortalModel) -> frozenset[str]:
        """The roles of this portal version that must use a second factor (from the
        plugin's own definition section, e.g. `auth.two_factor.required_for`)."""
        ...


def factors() -> tuple[SecondFactor, ...]:
    """The application's second factors (collected once at start-up)."""
    return state().second_factors


def enrolled_factors(conn: sa.Connection, portal: str, user_id: int) -> list[SecondFactor]:
    """The factors a user has enrolled, in registration order."""
    return [f for f in factors() if f.enrolled(conn, portal, user_id)]


def second_factor_roles(model: PortalModel) -> frozenset[str]:
    """The roles that must use a second factor, as the loaded factors read the definition."""
    return frozenset().union(*(f.required_roles(model) for f in factors()))


def requires_second_factor(portal: RuntimePortal, row: dict[str, Any]) -> bool:
    """True when one of the user's roles (inherited ones included) needs a second factor."""
    model = portal.compiled.model
    required = second_factor_roles(model)
    if not required:
        return False
    actor = Actor.for_user(model, int(row["id"]), row["account"], row["roles"] or ())
    return bool(actor.roles & required)


def complete_sign_in(
    portal: RuntimePortal, row: dict[str, Any], *, provider: str, next_url: str
) -> ViewResult:
    """After a successful first factor: ask the second one, or start the session now."""
    uid = int(row["id"])
    with read_connection(state().engine) as conn:
        enrolled = enrolled_factors(conn, portal.slug, uid)
    required = requires_second_factor(portal, row)
    if not enrolled and not required:
        return _start_session(portal, row, provider=provider, next_url=next_url, factor=None)
    # a factor is loaded here: only a loaded factor requires one (its definition section
    # exists only while it is loaded), and nobody enrols in a factor that is not loaded
    session.clear()  # nothing of the anonymous session carries over
    session[_PENDING] = {
        "portal": portal.slug,
        "user": uid,
        "provider": provider,
        "next": next_url,
        "at": time.time(),
        "enrol": not enrolled,
    }
    if enrolled:
        return redirect(portal_url("/login/two-factor"), 303)
    flash(_("Your role requires two-factor sign-in. Set it up now to continue."), "warning")
    return redirect(portal_url(factors()[0].enrol_path), 303)


def _start_session(
    portal: RuntimePortal,
    row: dict[str, Any],
    *,
    provider: str,
    next_url: str,
    factor: str | None,
) -> Response:
    ip = request_ip()
    with begin_write(state().engine) as conn:
        # every provider's sign-in counts (the admin's user list shows it)
        uid = int(row["id"])
        update_user(portal.store, system_actor(uid), uid, signed_in=True, conn=conn)
        extra = {"second_factor": factor} if factor else {}
        audit_auth(conn, portal, "login", user_id=int(row["id"]), email=row["email"],
                   provider=provider, **extra)  # fmt: skip
    sign_in(portal, row, ip=ip, user_agent=user_agent())
    target = safe_next(next_url, g.portal_prefix)
    # a password login may still have to change an expired password (the dispatcher
    # redirects every page until it is changed)
    return redirect(target, 303)


def pending_user(portal: RuntimePortal) -> dict[str, Any] | None:
    """The user of this browser's pending login (between first and second factor), if any."""
    pending = session.get(_PENDING)
    if not isinstance(pending, dict) or pending.get("portal") != portal.slug:
        return None
    if time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        session.pop(_PENDING, None)
        return None
    with read_connection(state().engine) as conn:
        row = user_row(conn, portal, int(pending["user"]))
    return row if row is not None and row["is_active"] else None


def finish_pending(portal: RuntimePortal, factor: str) -> Response:
    """Start the session of the pending login once its second factor is verified or
    enrolled (factor plugins call this after a successful enrolment)."""
    pending = session.get(_PENDING) or {}
    row = pending_user(portal)
    if row is None:
        return redirect(portal_url("/login"), 303)
    return _start_session(
        portal, row, provider=str(pending.get("provider") or "password"),
        next_url=str(pending.get("next") or ""), factor=factor,
    )  # fmt: skip


def _code_allowed(conn: sa.Connection, portal: RuntimePortal, uid: int) -> throttle.Verdict:
    return throttle.check(
        conn, portal.slug, f"2fa:{uid}", request_ip(), lockout_after=CODE_ATTEMPTS
    )


def check_code(portal: RuntimePortal, row: dict[str, Any], code: str) -> tuple[str | None, str]:
    """Verify `code` with the user's enrolled factors, throttled per user.

    Returns (factor name or None, error message for the form — "" on success).
    """
    uid = int(row["id"])
    code = code.strip().replace(" ", "")
    with begin_write(state().engine) as conn:
        verdict = _code_allowed(conn, portal, uid)
        if not verdict.allowed:
            return None, _("Too many wrong codes. Please wait a moment and try again.")
        matched = None
        if code:
            for factor in enrolled_factors(conn, portal.slug, uid):
                if factor.verify(conn, portal.slug, uid, code):
                    matched = factor.name
                    break
        throttle.record(conn, portal.slug, f"2fa:{uid}", request_ip(), success=matched is not None)
        if matched is None:
            audit_auth(conn, portal, "second_factor_failed", user_id=uid, email=row["email"])
    if matched is None:
        return None, _("That code is not valid. Enter the current code from your app, or "
                       "one of your recovery codes.")  # fmt: skip
    return matched, ""


def two_factor_view(portal: RuntimePortal, actor: Actor) -> ViewResult:
    """`/login/two-factor`: the second step of a pending login."""
    row = pending_user(portal)
    if row is None:
        flash(_("Please sign in again."), "warning")
        return redirect(portal_url("/login"), 303)
    if session.get(_PENDING, {}).get("enrol"):
        return redirect(portal_url(factors()[0].enrol_path), 303)
    if request.method == "GET":
        return render("auth/two_factor.html", form=CodeForm())
    form = CodeForm(request.form)
    factor, error = check_code(portal, row, form.code.data)
    if factor is None:
        add_error(form.code, error)
        return render("auth/two_factor.html", 422, form=form)
    return finish_pending(portal, factor)


def auth_is_recent() -> bool:
    """True when this session's last full authentication is within STEP_UP_SECONDS."""
    return time.time() - float(session.get("auth_at", 0)) <= STEP_UP_SECONDS


def require_recent_auth(portal: RuntimePortal, actor: Actor) -> Response | None:
    """None when the user authenticated recently; else a redirect to `/profile/confirm`
    that comes back to this page afterwards."""
    if not actor.is_authenticated:
        return login_redirect()
    if auth_is_recent():
        return None
    target = request.full_path.rstrip("?") if request.method == "GET" else request.path
    return redirect(portal_url("/profile/confirm", next=target), 303)


def _reauth_done(portal: RuntimePortal, row: dict[str, Any], how: str, next_url: str) -> Response:
    with begin_write(state().engine) as conn:
        audit_auth(conn, portal, "reauthenticated", user_id=int(row["id"]), email=row["email"],
                   method=how)  # fmt: skip
    rotate_session(portal, row, ip=request_ip(), user_agent=user_agent())
    return redirect(safe_next(next_url, g.portal_prefix), 303)


def confirm_view(portal: RuntimePortal, actor: Actor) -> ViewResult:
    """`/profile/confirm`: authenticate again before a sensitive change (step-up)."""
    if not actor.is_authenticated or actor.id is None:
        return login_redirect()
    next_url = request.values.get("next", "")[:2000]
    with read_connection(state().engine) as conn:
        row = user_row(conn, portal, actor.id)
        if row is None:
            abort(404)
        enrolled = enrolled_factors(conn, portal.slug, actor.id)
        linked = {i["provider"] for i in user_identities(conn, portal.slug, actor.id)}
    has_password = (
        bool(row.get("password_hash")) and portal.compiled.model.auth.password is not None
    )
    sso = [p for name, p in portal.providers.items() if p.kind == "redirect" and name in linked]
    context: dict[str, Any] = {
        "next": next_url,
        "has_password": has_password,
        "enrolled": enrolled,
        "sso": sso,
    }
    if request.method == "GET":
        return render("auth/confirm.html", form=ConfirmForm(), **context)
    form = ConfirmForm(request.form)
    errors: dict[str, list[str]] = {}
    if has_password:
        with begin_write(state().engine) as conn:
            verdict = _code_allowed(conn, portal, actor.id)
            ok = verdict.allowed and verify_password(row["password_hash"], form.password.data)
            throttle.record(conn, portal.slug, f"2fa:{actor.id}", request_ip(), success=ok)
        if not ok:
            errors["password"] = [_("Your password is not correct.")]
    elif not enrolled:
        abort(400)  # SSO-only users confirm through their provider (buttons on the page)
    if enrolled and not errors:
        factor, error = check_code(portal, row, form.code.data)
        if factor is None:
            errors["code"] = [error]
    if errors:
        show_errors(form, errors)
        return render("auth/confirm.html", 422, form=form, **context)
    return _reauth_done(portal, row, "password" if has_password else "second_factor", next_url)


def reauth_by_identity(
    portal: RuntimePortal,
    actor: Actor,
    entry: AuthProvider,
    identity: ExternalIdentity,
    next_url: str,
) -> ViewResult:
    """Step-up through an SSO provider: the identity must be one bound to this user."""
    assert actor.id is not None
    with read_connection(state().engine) as conn:
        owner = linked_user(conn, portal.slug, identity)
        row = user_row(conn, portal, actor.id)
    if owner != actor.id or row is None:
        flash(_("That sign-in belongs to another user."), "error")
        return redirect(portal_url("/profile/confirm", next=next_url), 303)
    return _reauth_done(portal, row, entry.name, next_url)
