"""The enrolment pages under /profile/two-factor.

A signed-in user enrols, turns the factor off or replaces the recovery codes only after a
fresh authentication (`require_recent_auth`, SECURITY A.18). A pending login whose role
requires a second factor (no session yet) lands on the same page; after the first code and
the recovery codes, "Continue" starts the session (`finish_pending`).
"""

from __future__ import annotations

from typing import Any

from flask import flash, request, session
from werkzeug.wrappers import Response

from portalis.api import Actor, begin_write
from portalis.web import (
    CodeForm,
    EnrolmentStart,
    RuntimePortal,
    ViewResult,
    add_error,
    audit_auth,
    database,
    finish_pending,
    login_redirect,
    pending_user,
    render,
    require_recent_auth,
    requires_second_factor,
    see_other,
    user_row,
)
from portalis.web import gettext as _

from . import store
from .factor import ENROL_PATH, TotpFactor

#: Session key: the pending login that just confirmed its enrolment (may press Continue).
_ENROLLED = "totp_enrolled"
FACTOR = TotpFactor()


def _subject(portal: RuntimePortal, actor: Actor) -> tuple[dict[str, Any], bool] | None:
    """(user row, is a pending login) of this browser, or None."""
    if actor.is_authenticated and actor.id is not None:
        with database().connect() as conn:
            row = user_row(conn, portal, actor.id)
        return (row, False) if row is not None else None
    row = pending_user(portal)
    return (row, True) if row is not None else None


def _issuer(portal: RuntimePortal) -> str:
    """The portal title in its default language (stable for the authenticator's entry)."""
    model = portal.compiled.model
    return str(model.title.get(model.default_locale) or portal.slug)


def _enrol_page(
    start: EnrolmentStart, pending: bool, status: int = 200, form: CodeForm | None = None
) -> ViewResult:
    return render(
        "totp/enrol.html", status, secret=start.secret, uri=start.uri, qr=start.qr_svg,
        pending=pending, form=form or CodeForm(),
    )  # fmt: skip


def enrol_view(portal: RuntimePortal, actor: Actor) -> ViewResult:
    """`/profile/two-factor`: the status of the factor, or the enrolment (secret, QR code,
    first code); a successful first code shows the recovery codes once."""
    subject = _subject(portal, actor)
    if subject is None:
        return login_redirect()
    row, pending = subject
    uid = int(row["id"])
    with database().connect() as conn:
        enrolled = store.is_enrolled(conn, portal.slug, uid)
        left = store.unused_recovery_codes(conn, portal.slug, uid) if enrolled else 0
    if enrolled:
        if pending:  # enrolled before: the code belongs on the two-factor login step
            return see_other("/login/two-factor")
        if request.method != "GET":
            return see_other(ENROL_PATH)
        return render(
            "totp/status.html", remaining=left, required=requires_second_factor(portal, row)
        )
    if not pending:
        step_up = require_recent_auth(portal, actor)
        if step_up is not None:
            return step_up
    with begin_write(database()) as conn:
        start = FACTOR.start_enrolment(
            conn, portal.slug, uid, account=str(row["email"]), issuer=_issuer(portal)
        )
    if request.method == "GET":
        return _enrol_page(start, pending)
    form = CodeForm(request.form)
    with begin_write(database()) as conn:
        fresh = FACTOR.confirm_enrolment(conn, portal.slug, uid, form.code.data or "")
        if fresh is not None:
            audit_auth(conn, portal, "two_factor_enrolled", user_id=uid, email=row["email"],
                       factor="totp")  # fmt: skip
    if fresh is None:
        add_error(
            form.code, _("That code is not valid. Enter the current 6-digit code from your app.")
        )
        return _enrol_page(start, pending, 422, form)
    if pending:
        session[_ENROLLED] = {"portal": portal.slug, "user": uid}
    return render("totp/recovery_codes.html", codes=fresh, pending=pending, enrolled_now=True)


def continue_view(portal: RuntimePortal, actor: Actor) -> ViewResult:
    """`/profile/two-factor/continue` (POST): start the session of the pending login that
    has just enrolled — and only that one (an enrolled user must enter a code instead)."""
    if actor.is_authenticated:
        return see_other(ENROL_PATH)
    marker = session.pop(_ENROLLED, None)
    row = pending_user(portal)
    if row is None:
        return login_redirect()
    if marker != {"portal": portal.slug, "user": int(row["id"])}:
        return see_other("/login/two-factor")
    return finish_pending(portal, FACTOR.name)


def _enrolled_user(portal: RuntimePortal, actor: Actor) -> dict[str, Any] | Response:
    """The signed-in, recently authenticated, enrolled user — or where to go instead."""
    if not actor.is_authenticated or actor.id is None:
        return login_redirect()
    step_up = require_recent_auth(portal, actor)
    if step_up is not None:
        return step_up
    with database().connect() as conn:
        row = user_row(conn, portal, actor.id)
        enrolled = row is not None and store.is_enrolled(conn, portal.slug, actor.id)
    if row is None or not enrolled:
        return see_other(ENROL_PATH)
    return row


def disable_view(portal: RuntimePortal, actor: Actor) -> ViewResult:
    """`/profile/two-factor/disable`: GET asks, POST turns the factor off — refused while
    one of the user's roles requires a second factor."""
    found = _enrolled_user(portal, actor)
    if isinstance(found, Response):
        return found
    if requires_second_factor(portal, found):
        flash(_("Your role requires two-factor sign-in, so it cannot be turned off."), "error")
        return see_other(ENROL_PATH)
    if request.method == "GET":
        return render("totp/confirm_action.html", action="disable")
    with begin_write(database()) as conn:
        FACTOR.disable(conn, portal.slug, int(found["id"]))
    flash(_("Two-factor sign-in is turned off."), "success")
    return see_other(ENROL_PATH)


def recovery_view(portal: RuntimePortal, actor: Actor) -> ViewResult:
    """`/profile/two-factor/recovery`: GET asks, POST replaces the recovery codes and shows
    the new ones once."""
    found = _enrolled_user(portal, actor)
    if isinstance(found, Response):
        return found
    if request.method == "GET":
        return render("totp/confirm_action.html", action="recovery")
    uid = int(found["id"])
    with begin_write(database()) as conn:
        fresh = store.replace_recovery_codes(conn, portal.slug, uid)
        audit_auth(conn, portal, "recovery_codes_regenerated", user_id=uid,
                   email=found["email"], factor="totp")  # fmt: skip
    return render("totp/recovery_codes.html", codes=fresh, pending=False, enrolled_now=False)
