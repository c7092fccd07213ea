"""The signed-in user's profile: name and language, e-mail change, password change, and
the sign-in methods (linked identities, linking another provider, the second factor).

Changing the e-mail address or the password needs the current password (fresh
re-authentication, ASVS 7.5.1), throttled like sign-in. A new address takes effect only when
the link mailed to it is opened. A new password follows the policy and history and ends every
other session of the user; the current one stays.
"""

from __future__ import annotations

from typing import Any

from babel import Locale, UnknownLocaleError
from flask import flash, g, redirect, request

from portalis.engine.accounts.passwords import verify_password
from portalis.engine.accounts.users import find_user
from portalis.engine.data.db import begin_write
from portalis.engine.data.errors import Forbidden, ValidationFailed
from portalis.engine.data.permissions import Actor
from portalis.engine.data.user_rows import user_locale_error

from ..context import current_user_row, state
from ..form_errors import error_texts
from ..forms.account import EmailChangeForm, PasswordChangeForm, ProfileForm
from ..forms.base import show_errors
from ..registry import RuntimePortal
from ..request_db import read_connection
from ..security import safe_next
from ..sessions import end_user_sessions
from ..templating import gettext as _
from ..templating import provider_label
from ..urls import portal_url
from . import policy as pw
from . import throttle, tokens
from .common import (
    Errors,
    ViewResult,
    absolute_url,
    audit_auth,
    check_email,
    check_name,
    current_secret,
    login_redirect,
    mail_locale,
    password_policy,
    render,
    request_ip,
    see_other,
    send,
    system_actor,
)
from .identities import user_identities
from .login import password_change_required
from .second_factor import factors


def reauthenticate(
    portal: RuntimePortal, row: dict[str, Any], password: str
) -> tuple[str, int] | None:
    """None when `password` is the user's current one, else (field message, HTTP status)."""
    policy = password_policy(portal)
    ip = request_ip()
    with read_connection(state().engine) as conn:
        verdict = throttle.check(
            conn, portal.slug, row["email"], ip, lockout_after=policy.lockout_after
        )
    if not verdict.allowed:
        return _("Too many attempts. Please wait a moment and try again."), 429
    ok = verify_password(row["password_hash"], password)
    with begin_write(state().engine) as conn:
        throttle.record(conn, portal.slug, row["email"], ip, success=ok)
    return None if ok else (_("Your current password is not correct."), 422)


def locale_choices(portal: RuntimePortal) -> list[tuple[str, str]]:
    """The portal's locales, each named in its own language."""
    choices = []
    for code in portal.compiled.model.locales:
        try:
            name = Locale.parse(code.replace("-", "_")).get_display_name(code.replace("-", "_"))
        except (ValueError, UnknownLocaleError):
            name = code
        choices.append((code, (name or code)[:1].upper() + (name or code)[1:]))
    return choices


def sign_in_methods(portal: RuntimePortal, user_id: int) -> dict[str, Any]:
    """The profile's "Sign-in methods": linked identities (with their provider's label),
    the redirect providers not linked yet, and the first second factor's page."""
    with read_connection(state().engine) as conn:
        linked = user_identities(conn, portal.slug, user_id)
    for item in linked:
        bound = portal.providers.get(str(item["provider"]))
        item["label"] = provider_label(bound.entry) if bound is not None else item["provider"]
    names = {str(i["provider"]) for i in linked}
    linkable = [
        {"name": name, "label": provider_label(bound.entry)}
        for name, bound in portal.providers.items()
        if bound.kind == "redirect" and name not in names
    ]
    installed = factors()
    factor = {"path": installed[0].enrol_path} if installed else None
    return {"identities": linked, "linkable": linkable, "factor": factor}


def _profile_page(
    portal: RuntimePortal,
    row: dict[str, Any],
    status: int = 200,
    *,
    form: ProfileForm | None = None,
    email_form: EmailChangeForm | None = None,
) -> ViewResult:
    form = form or ProfileForm(data={"name": row["name"], "locale": row["locale"] or ""})
    form.locale.choices = [("", _("Same as my browser")), *locale_choices(portal)]
    return render(
        "auth/profile.html",
        status,
        user=row,
        form=form,
        email_form=email_form or EmailChangeForm(),
        **sign_in_methods(portal, int(row["id"])),
    )


def _save_details(portal: RuntimePortal, actor: Actor, row: dict[str, Any]) -> ViewResult:
    form = ProfileForm(request.form)
    errors: Errors = {}
    name = check_name(form.name.data, errors)
    locale = str(form.locale.data or "")[:20]
    if user_locale_error(portal.compiled.model.locales, locale) is not None:
        errors["locale"] = [_("Choose one of the listed languages.")]
    if errors:
        show_errors(form, errors)
        return _profile_page(portal, row, 422, form=form)
    try:
        # the user's own record, with their own grants: readonly fields and the definition's
        # rules on `user` apply, and the write is audited and seen by automations
        portal.store.update(actor, "user", int(row["id"]), {"name": name, "locale": locale or None})
    except ValidationFailed as exc:
        for field, texts in error_texts(exc.errors, str(g.get("locale") or "")).items():
            if field in ("name", "locale"):
                errors[field] = texts
            else:  # a rule or another field: the form has no place for it
                for text in texts:
                    flash(text, "error")
        show_errors(form, errors)
        return _profile_page(portal, row, 422, form=form)
    except Forbidden:
        flash(_("You cannot save the record with these values."), "error")
        return _profile_page(portal, row, 403, form=form)
    flash(_("Your profile has been saved."), "success")
    return see_other("/profile")


def _change_email(portal: RuntimePortal, row: dict[str, Any]) -> ViewResult:
    form = EmailChangeForm(request.form)
    errors: Errors = {}
    new_email = check_email(portal.compiled.model, form.new_email.data, errors, field="new_email")
    if new_email and new_email == row["email"]:
        errors["new_email"] = [_("This is already your e-mail address.")]
    problem = reauthenticate(portal, row, form.current_password.data)
    if problem is not None:
        errors["current_password"] = [problem[0]]
    if errors:
        show_errors(form, errors)
        status = problem[1] if problem else 422
        return _profile_page(portal, row, status, email_form=form)
    uid = int(row["id"])
    with begin_write(state().engine) as conn:
        taken = find_user(conn, portal.compiled, new_email) is not None
        if not taken:
            tokens.revoke(conn, portal.slug, uid, [tokens.EMAIL])
            token = tokens.issue(conn, portal.slug, tokens.EMAIL, uid, payload=new_email)
    locale = mail_locale(portal, row)
    if taken:  # tell the owner of that address, not the requester (no enumeration)
        send(portal, "email_taken", to=new_email, locale=locale, name=row["name"],
             reset=absolute_url("/reset"))  # fmt: skip
    else:
        send(portal, "email_change", to=new_email, locale=locale, name=row["name"],
             link=absolute_url(f"/verify/{token}"))  # fmt: skip
    flash(
        _("We sent a confirmation link to %(email)s. Your address changes when you open it.",
          email=new_email),
        "success",
    )  # fmt: skip
    return see_other("/profile")


def profile_view(portal: RuntimePortal, actor: Actor) -> ViewResult:
    """GET: the profile. POST `action=details` (name, locale) or `action=email`."""
    row = current_user_row()
    if not actor.is_authenticated or row is None:
        return login_redirect()
    if request.method == "GET":
        return _profile_page(portal, row)
    action = request.form.get("action", "details")
    if action == "email":
        password_policy(portal)
        return _change_email(portal, row)
    return _save_details(portal, actor, row)


def password_view(portal: RuntimePortal, actor: Actor) -> ViewResult:
    """GET: the change-password form. POST: check, store, end the other sessions."""
    policy = password_policy(portal)
    row = current_user_row()
    if not actor.is_authenticated or row is None:
        return login_redirect()
    next_url = request.values.get("next", "")[:2000]
    expired = password_change_required(row, portal.compiled.model)
    context: dict[str, Any] = {"policy": policy, "next": next_url, "expired": expired}
    if request.method == "GET":
        return render("auth/password.html", form=PasswordChangeForm(), **context)
    form = PasswordChangeForm(request.form)
    password = form.password.data
    errors: Errors = {}
    problem = reauthenticate(portal, row, form.current_password.data)
    if problem is not None:
        errors["current_password"] = [problem[0]]
    uid = int(row["id"])
    with begin_write(state().engine) as conn:
        errors.update(
            pw.validate_new_password(
                conn,
                portal.slug,
                policy,
                password,
                form.password_confirm.data,
                user_id=uid,
                current_hash=row["password_hash"],
                context=(row["email"], row["name"]),
            )
            if problem is None
            else {}
        )
        if not errors:
            pw.store_password(conn, portal.store, system_actor(uid), uid, password, policy)
            tokens.revoke(conn, portal.slug, uid, [tokens.RESET])
            end_user_sessions(conn, portal.slug, uid, keep=current_secret())
            audit_auth(conn, portal, "password_change", user_id=uid, email=row["email"])
    if errors:
        show_errors(form, errors)
        status = problem[1] if problem else 422
        return render("auth/password.html", status, form=form, **context)
    send(portal, "password_changed", to=row["email"], locale=mail_locale(portal, row),
         name=row["name"], reset=absolute_url("/reset"))  # fmt: skip
    flash(_("Your password has been changed. Other sessions were signed out."), "success")
    target = safe_next(next_url, g.portal_prefix) if next_url else portal_url("/profile")
    return redirect(target, 303)
