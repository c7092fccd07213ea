"""Self-registration and e-mail verification.

Only portals whose password provider says `self_registration: true` offer /register (else
404). A registration creates a new account named after the person (B2C: every customer is
their own account) and gives the user SELF_REGISTRATION_ROLE when the definition declares it.
The user stays inactive until they open the verification link.

The response never tells whether the address was known (ASVS 6.3.8): an unknown address gets
a verification link, a pending one gets a fresh link, and an existing account gets a notice
with links to sign in or reset the password — the page says "check your inbox" in every case.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, g, redirect, request

from portalis.engine.accounts.passwords import hash_password
from portalis.engine.accounts.user_writes import update_user
from portalis.engine.accounts.users import create_user, find_user
from portalis.engine.data.db import begin_write
from portalis.engine.data.errors import ValidationFailed
from portalis.engine.data.permissions import Actor

from ..context import state
from ..forms.auth import RegisterForm
from ..forms.base import show_errors
from ..registry import RuntimePortal
from ..request_db import read_connection
from ..templating import gettext as _
from ..urls import portal_url
from . import policy as pw
from . import tokens
from .common import (
    Errors,
    ViewResult,
    absolute_url,
    audit_auth,
    check_email,
    check_name,
    mail_locale,
    render,
    send,
    system_actor,
    user_row,
)

#: The role self-registered users get when the definition declares it (and it is not staff).
SELF_REGISTRATION_ROLE = "customer"


def _new_account(conn: sa.Connection, portal: RuntimePortal, name: str) -> int | None:
    """An account named after the user (created through the record store); None when the
    definition's account needs more than a name or its rules refuse it."""
    try:
        with conn.begin_nested():  # a refused account leaves nothing of itself behind
            record = portal.store.insert(system_actor(), "account", {"name": name}, conn=conn)
    except ValidationFailed:
        return None
    return record.id


def _roles(portal: RuntimePortal) -> list[str]:
    role = portal.compiled.model.roles.get(SELF_REGISTRATION_ROLE)
    return [role.name] if role is not None and not role.staff and not role.builtin else []


def _register(
    portal: RuntimePortal, email: str, name: str, password_hash: str
) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    """Create or refresh the registration; returns (mail, its context, the existing user)."""
    slug = portal.slug
    with begin_write(state().engine) as conn:
        existing = find_user(conn, portal.compiled, email)
        if existing is not None:
            uid = int(existing["id"])
            if existing["is_active"] or not tokens.has_open(conn, slug, uid, tokens.VERIFY):
                login, reset = absolute_url("/login"), absolute_url("/reset")
                context = {"name": existing["name"], "login": login, "reset": reset}
                return "account_exists", context, existing
            tokens.revoke(conn, slug, uid, [tokens.VERIFY])
            token = tokens.issue(conn, slug, tokens.VERIFY, uid)
            link = absolute_url(f"/verify/{token}")
            return "verify", {"name": existing["name"], "link": link}, existing
        account = _new_account(conn, portal, name)
        # inactive until the mailed link is opened
        uid = create_user(
            conn, portal.store, email=email, name=name, password=None, roles=_roles(portal),
            account=account, locale=g.get("locale"), password_hash=password_hash, active=False,
            actor=system_actor(), via="registration",
        )  # fmt: skip
        policy = portal.compiled.model.auth.password
        pw.remember(conn, slug, uid, password_hash, policy.history if policy else 0)
        token = tokens.issue(conn, slug, tokens.VERIFY, uid)
        audit_auth(conn, portal, "registration", user_id=uid, email=email, provider="password")
    return "verify", {"name": name, "link": absolute_url(f"/verify/{token}")}, None


def register_view(portal: RuntimePortal, actor: Actor) -> ViewResult:
    """GET: the registration form. POST: register and send the verification mail."""
    policy = portal.compiled.model.auth.password
    if policy is None or not policy.self_registration:
        abort(404)
    if actor.is_authenticated:
        return redirect(portal_url("/"))
    if request.method == "GET":
        return render("auth/register.html", form=RegisterForm(), policy=policy)
    model = portal.compiled.model
    form = RegisterForm(request.form)
    errors: Errors = {}
    email = check_email(model, form.email.data, errors)
    name = check_name(form.name.data, errors)
    password = form.password.data
    errors.update(
        pw.validate_new_password(
            None,
            portal.slug,
            policy,
            password,
            form.password_confirm.data,
            context=(email, name),
        )
    )
    if errors:
        show_errors(form, errors)
        return render("auth/register.html", 422, form=form, policy=policy)
    password_hash = hash_password(password)  # before the lookup: same work for every address
    try:
        mail_name, context, existing = _register(portal, email, name, password_hash)
    except ValidationFailed as exc:
        for field, messages in exc.errors.items():
            target = form.name if field == "name" else form.email
            target.errors = [m.text() for m in messages]
        return render("auth/register.html", 422, form=form, policy=policy)
    send(portal, mail_name, to=email, locale=mail_locale(portal, existing), **context)
    return render("auth/check_inbox.html", kind="register")


def verify_view(portal: RuntimePortal, actor: Actor, token: str) -> ViewResult:
    """Open a mailed link: confirm a registration, or switch to a new e-mail address.

    GET only shows the confirmation (mail scanners prefetch links: a GET changes nothing);
    the button POSTs back and the token is used then.
    """
    if request.method == "GET":
        with read_connection(state().engine) as conn:
            info = tokens.peek(conn, portal.slug, [tokens.VERIFY, tokens.EMAIL], token)
        if info is None:
            return render("auth/link_invalid.html", 404, kind="verify")
        return render("auth/verify.html", 200, purpose=info.purpose, new_email=info.payload or "")
    with begin_write(state().engine) as conn:
        info = tokens.consume(conn, portal.slug, [tokens.VERIFY, tokens.EMAIL], token)
        row = user_row(conn, portal, info.user_id) if info is not None else None
        if info is None or row is None:
            return render("auth/link_invalid.html", 404, kind="verify")
        if info.purpose == tokens.VERIFY:
            update_user(portal.store, system_actor(info.user_id), info.user_id, active=True,
                        conn=conn)  # fmt: skip
            audit_auth(conn, portal, "email_verified", user_id=info.user_id, email=row["email"])
            flash(_("Your e-mail address is confirmed. You can sign in now."), "success")
            return redirect(portal_url("/login"), 303)
        new_email = info.payload or ""
        if not new_email or find_user(conn, portal.compiled, new_email) is not None:
            return render("auth/link_invalid.html", 409, kind="email_taken")
        try:
            # the address is proven by the link: the system writes it for the user, through
            # the store (the definition's rules on `user` apply; audited, automations run)
            with conn.begin_nested():
                update_user(portal.store, system_actor(info.user_id), info.user_id,
                            {"email": new_email}, conn=conn)  # fmt: skip
        except ValidationFailed:
            return render("auth/link_invalid.html", 409, kind="email_taken")
        audit_auth(conn, portal, "email_change", user_id=info.user_id, email=new_email,
                   previous=row["email"])  # fmt: skip
    send(
        portal,
        "email_changed",
        to=row["email"],
        locale=mail_locale(portal, row),
        name=row["name"],
        new_email=new_email,
        reset=absolute_url("/reset"),
    )
    flash(_("Your e-mail address is now %(email)s.", email=new_email), "success")
    return redirect(portal_url("/profile" if actor.is_authenticated else "/login"), 303)
