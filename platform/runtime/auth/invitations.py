"""Invitations: an account administrator invites a person; the link lets them set a password.

An invited user exists from the start — inactive and without a password — so the address is
reserved and the administrator sees them as "invited". The link works once, for 7 days; the
administrator can send a fresh one. Accepting sets name and password, activates the user and
signs them in. Inviting an address that already has a user answers the same, changes nothing
and mails its owner a notice (see `queue_invitation_mail`).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, g, request

from portalis.engine.accounts.users import create_user, find_user
from portalis.engine.data.db import begin_write
from portalis.engine.data.errors import ValidationFailed
from portalis.engine.data.permissions import Actor

from ..context import state
from ..form_errors import error_texts
from ..forms.auth import InviteForm
from ..forms.base import show_errors
from ..mail import enqueue_mail, render_mail
from ..registry import RuntimePortal
from ..templating import gettext as _
from . import policy as pw
from . import tokens
from .common import (
    ViewResult,
    absolute_url,
    audit_auth,
    check_name,
    link_holder,
    password_policy,
    render,
    send,
    system_actor,
    user_row,
)
from .second_factor import complete_sign_in


def create_invitation(
    conn: sa.Connection,
    portal: RuntimePortal,
    *,
    email: str,
    name: str,
    role: str,
    account: int | None,
    locale: str | None,
    inviter_id: int | None = None,
) -> tuple[int, str]:
    """Create the inactive user (for `inviter_id`: the audit entry names the inviter) and an
    invitation token; returns (user id, link)."""
    uid = create_user(
        conn, portal.store, email=email, name=name, password=None, roles=[role],
        account=account, locale=locale, active=False, actor=system_actor(inviter_id),
        via="invitation",
    )  # fmt: skip
    return uid, absolute_url(f"/invite/{tokens.issue(conn, portal.slug, tokens.INVITE, uid)}")


def renew_invitation(conn: sa.Connection, portal: RuntimePortal, user_id: int) -> str:
    """Revoke earlier invitation links of a user and issue a new one; returns the link."""
    tokens.revoke(conn, portal.slug, user_id, [tokens.INVITE])
    return absolute_url(f"/invite/{tokens.issue(conn, portal.slug, tokens.INVITE, user_id)}")


def queue_invitation_mail(
    conn: sa.Connection,
    portal: RuntimePortal,
    *,
    inviter: str,
    email: str,
    name: str,
    role: str,
    account: int | None,
    locale: str,
    inviter_id: int | None = None,
) -> int | None:
    """Invite `email` inside `conn`'s transaction, the same way whether the address is new or
    known: one lookup, one queued mail, nothing else visible. Returns the new user's id.

    A new address becomes an invited user of `account` with the invitation link mailed to it;
    the mail is queued in the same transaction, so the address is never reserved without its
    owner being told. A known address — a user of any account, or staff — is left exactly as
    it is (never moved or changed): its owner gets a notice instead, and None is returned.
    """
    model = portal.compiled.model
    existing = find_user(conn, portal.compiled, email)
    if existing is not None:
        notice_locale = str(existing["locale"]) if existing["locale"] in model.locales else locale
        mail = render_mail(
            "invite_existing", to=str(existing["email"]), locale=notice_locale,
            portal_title=model.title.get(notice_locale, model.default_locale),
            name=existing["name"], inviter=inviter, login=absolute_url("/login"),
            reset=absolute_url("/reset"),
        )  # fmt: skip
        enqueue_mail(conn, portal=portal.slug, mail=mail)
        return None
    uid, link = create_invitation(
        conn, portal, email=email, name=name, role=role, account=account, locale=None,
        inviter_id=inviter_id,
    )  # fmt: skip
    mail = render_mail(
        "invite", to=email, locale=locale,
        portal_title=model.title.get(locale, model.default_locale), name=name, inviter=inviter,
        link=link, days=tokens.LIFETIMES[tokens.INVITE].days,
    )  # fmt: skip
    enqueue_mail(conn, portal=portal.slug, mail=mail)
    return uid


def send_invitation(
    portal: RuntimePortal, *, to: str, name: str, inviter: str, link: str, locale: str
) -> bool:
    """Mail an invitation link (False when the mail server refused it)."""
    days = tokens.LIFETIMES[tokens.INVITE].days
    return send(
        portal, "invite", to=to, locale=locale, name=name, inviter=inviter, link=link, days=days
    )


def invite_view(portal: RuntimePortal, actor: Actor, token: str) -> ViewResult:
    """GET: the form to accept an invitation. POST: set name and password, sign in."""
    policy = password_policy(portal)
    holder = link_holder(portal, [tokens.INVITE], token)
    if holder is None:
        return render("auth/link_invalid.html", 404, kind="invite")
    info, row = holder
    shown = {"policy": policy, "token": token, "email": row["email"]}
    if request.method == "GET":
        return render("auth/invite.html", form=InviteForm(data={"name": row["name"]}), **shown)
    form = InviteForm(request.form)
    errors: dict[str, list[str]] = {}
    name = check_name(form.name.data, errors)
    password = form.password.data
    try:
        return _accept(portal, info, row, token, name, password, form, errors)
    except ValidationFailed as exc:  # the definition's rules on `user` refused the name
        for field, texts in error_texts(exc.errors, str(g.get("locale") or "")).items():
            errors.setdefault(field if field in ("name", "password") else "name", []).extend(texts)
        show_errors(form, errors)
        return render("auth/invite.html", 422, form=form, **shown)


def _accept(
    portal: RuntimePortal,
    info: tokens.TokenInfo,
    row: dict[str, Any],
    token: str,
    name: str,
    password: str,
    form: InviteForm,
    errors: dict[str, list[str]],
) -> ViewResult:
    """Accept the invitation in one transaction: name, password, activation, sign-in."""
    policy = password_policy(portal)
    shown = {"policy": policy, "token": token, "email": row["email"]}
    with begin_write(state().engine) as conn:
        errors.update(
            pw.validate_new_password(
                conn,
                portal.slug,
                policy,
                password,
                form.password_confirm.data,
                user_id=info.user_id,
                current_hash=row["password_hash"],
                context=(row["email"], name),
            )
        )
        if errors:
            show_errors(form, errors)
            return render("auth/invite.html", 422, form=form, **shown)
        if tokens.consume(conn, portal.slug, [tokens.INVITE], token) is None:
            return render("auth/link_invalid.html", 404, kind="invite")
        # the invitee proved the address by the link: the system writes for them
        pw.store_password(
            conn, portal.store, system_actor(info.user_id), info.user_id, password, policy,
            changes={"name": name}, active=True,
        )  # fmt: skip
        fresh = user_row(conn, portal, info.user_id)
        audit_auth(conn, portal, "invitation_accepted", user_id=info.user_id, email=row["email"])
    if fresh is None:  # pragma: no cover - the row was read above in this request
        return render("auth/link_invalid.html", 404, kind="invite")
    flash(_("Welcome, %(name)s! Your account is ready.", name=name), "success")
    # a role that requires a second factor enrols it before the first session starts
    return complete_sign_in(portal, fresh, provider="invitation", next_url="")
