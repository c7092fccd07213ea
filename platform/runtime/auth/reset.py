"""Password reset by e-mail: request a link, then set a new password with it.

The request form answers the same for every address (ASVS 6.3.8) and does the same work for
every address: it looks the address up, renders the mail (with a placeholder for the link) and
queues one `reset_request` job. The job — in the worker, after the answer was sent — decides
whether a link goes out: only for an active user with a password, within the rate limit; it
then issues the token and queues the mail in one transaction. A link works once, for an hour,
and at most RESET_LIMIT links are mailed per account and hour. Setting the password
applies the policy and history, ends every session of the user and revokes other reset
links — and does not sign the user in: they sign in again, through two-factor authentication
where the portal requires it (ASVS 6.4.3).
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import timedelta

from flask import flash, redirect, request

from portalis.engine.accounts.users import find_user
from portalis.engine.data.db import begin_write
from portalis.engine.data.permissions import Actor
from portalis.engine.outbox import jobs
from portalis.engine.outbox.jobs import Job, PermanentFailure
from portalis.engine.outbox.worker import Handler

from ..context import state
from ..forms.auth import NewPasswordForm, ResetRequestForm
from ..forms.base import show_errors
from ..job_handlers import RESET_JOB
from ..mail import enqueue_mail, mail_fields, mail_from_payload, render_mail
from ..registry import PortalRegistry, RuntimePortal
from ..request_db import read_connection
from ..sessions import end_user_sessions
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
    link_holder,
    mail_locale,
    password_policy,
    render,
    send,
    system_actor,
)

#: Reset mails per account within RESET_PERIOD (more requests are answered but not mailed).
RESET_LIMIT = 3
RESET_PERIOD = timedelta(hours=1)
#: What a reset job keeps once done: no address, no message.
_REDACTED = ["to", "subject", "text", "html", "placeholder"]


def reset_request_view(portal: RuntimePortal, actor: Actor) -> ViewResult:
    """GET: ask for the e-mail address. POST: queue the request (its job mails a link when
    the address belongs to an active user); the answer is the same for every address."""
    password_policy(portal)
    if request.method == "GET":
        return render("auth/reset_request.html", form=ResetRequestForm())
    form = ResetRequestForm(request.form)
    errors: Errors = {}
    email = check_email(portal.compiled.model, form.email.data, errors)
    if errors:
        show_errors(form, errors)
        return render("auth/reset_request.html", 422, form=form)
    with read_connection(state().engine) as conn:
        row = find_user(conn, portal.compiled, email)
    # the link's token is issued by the job; the mail holds a random placeholder until then
    placeholder = secrets.token_hex(16)
    locale = mail_locale(portal, row)
    model = portal.compiled.model
    mail = render_mail(
        "reset",
        to=email,
        locale=locale,
        portal_title=model.title.get(locale, model.default_locale),
        name=row["name"] if row is not None else "",
        link=absolute_url(f"/reset/{placeholder}"),
        minutes=int(tokens.LIFETIMES[tokens.RESET].total_seconds() // 60),
    )
    payload = {**mail_fields(mail), "placeholder": placeholder, jobs.REDACT_KEY: _REDACTED}
    with begin_write(state().engine) as conn:
        jobs.enqueue(conn, kind=RESET_JOB, payload=payload, portal=portal.slug)
    return render("auth/check_inbox.html", kind="reset")


def reset_handler(registry: PortalRegistry) -> Handler:
    """The worker's handler of `reset_request` jobs: mail a link when the address belongs to
    an active user with a password and the rate limit allows; for any other address nothing
    happens (the requester was answered the same either way)."""

    def handle(job: Job) -> None:
        portal = registry.get(job.portal or "")
        if portal is None:  # the portal was removed since: nobody to mail
            return
        try:
            mail = mail_from_payload(job.payload)
            placeholder = str(job.payload["placeholder"])
        except KeyError as exc:
            raise PermanentFailure(f"reset job without {exc.args[0]!r}") from exc
        with begin_write(registry.engine) as conn:
            row = find_user(conn, portal.compiled, mail.to)
            if row is None or not row["is_active"] or not row["password_hash"]:
                return
            uid = int(row["id"])
            recent = tokens.issued_since(conn, portal.slug, uid, tokens.RESET, RESET_PERIOD)
            if recent >= RESET_LIMIT:
                return
            token = tokens.issue(conn, portal.slug, tokens.RESET, uid)
            linked = replace(
                mail,
                to=str(row["email"]),
                text=mail.text.replace(placeholder, token),
                html=mail.html.replace(placeholder, token),
            )
            enqueue_mail(conn, portal=portal.slug, mail=linked)

    return handle


def reset_view(portal: RuntimePortal, actor: Actor, token: str) -> ViewResult:
    """GET: the new-password form for a valid link. POST: set the password."""
    policy = password_policy(portal)
    engine = state().engine
    holder = link_holder(portal, [tokens.RESET], token)
    if holder is None or not holder[1]["is_active"]:
        return render("auth/link_invalid.html", 404, kind="reset")
    info, row = holder
    if request.method == "GET":
        return render("auth/reset.html", form=NewPasswordForm(), policy=policy, token=token)
    form = NewPasswordForm(request.form)
    password = form.password.data
    with begin_write(engine) as conn:
        errors = pw.validate_new_password(
            conn,
            portal.slug,
            policy,
            password,
            form.password_confirm.data,
            user_id=info.user_id,
            current_hash=row["password_hash"],
            context=(row["email"], row["name"]),
        )
        if errors:
            show_errors(form, errors)
            return render("auth/reset.html", 422, form=form, policy=policy, token=token)
        if tokens.consume(conn, portal.slug, [tokens.RESET], token) is None:
            return render("auth/link_invalid.html", 404, kind="reset")
        pw.store_password(
            conn, portal.store, system_actor(info.user_id), info.user_id, password, policy
        )
        tokens.revoke(conn, portal.slug, info.user_id, [tokens.RESET])
        end_user_sessions(conn, portal.slug, info.user_id)
        audit_auth(conn, portal, "password_reset", user_id=info.user_id, email=row["email"])
    send(
        portal,
        "password_changed",
        to=row["email"],
        locale=mail_locale(portal, row),
        name=row["name"],
        reset=absolute_url("/reset"),
    )
    flash(_("Your password has been changed. Please sign in with your new password."), "success")
    return redirect(portal_url("/login"), 303)
