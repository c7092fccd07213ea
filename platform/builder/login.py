"""Builder sign-in: password, then the required second factor (enrolled on first sign-in).

Every failure looks the same (unknown address, wrong password, disabled account: same
status, same text, the same Argon2 work) and is throttled like a portal's logins, per
address and per IP (`portalis.runtime.auth.throttle`, keyed `BUILDER_KEY`); wrong codes are
throttled per account. No second factor loaded → no sign-in at all. Each step is audited.
"""

from __future__ import annotations

import secrets
from functools import cache

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from portalis.engine.accounts.passwords import hash_password, verify_password
from portalis.engine.data.db import begin_write
from portalis.runtime.auth import throttle
from portalis.runtime.context import request_client_ip, state
from portalis.runtime.templating import gettext as _

from . import audit
from .accounts import (
    BUILDER_KEY,
    PASSWORD_POLICY,
    Account,
    find_account,
    normalise_email,
    record_login,
)
from .factor import BuilderFactor, builder_factor
from .session import begin_pending, current_account, pending_account, sign_in, sign_out

#: Wrong codes per account before the throttle's backoff applies.
CODE_ATTEMPTS = 5
#: What the authenticator app shows as the entry's issuer.
ISSUER = "Portalis builder"

Page = Response | tuple[str, int] | tuple[str, int, dict[str, str]]


@cache
def _dummy_hash() -> str:
    # verified for unknown addresses so they cost the same Argon2 work as known ones
    return hash_password(secrets.token_urlsafe(24))


def _login_page(
    status: int = 200, error: str | None = None, email: str = "", **headers: str
) -> Page:
    unavailable = builder_factor() is None
    if unavailable and error is None:
        error = _("Builder sign-in is not available: no second factor is installed on this server.")
        status = 503 if request.method == "POST" else status
    body = render_template(
        "builder/login.html", error=error, email=email, unavailable=unavailable, title=_("Sign in")
    )
    return body, status, headers


def login_view() -> Page:
    """`/_builder/login`: e-mail address and password."""
    if current_account() is not None:
        return redirect(url_for("builder.start"))
    if request.method == "GET":
        return _login_page()
    email = normalise_email(request.form.get("email", ""))[:254]
    password = request.form.get("password", "")
    if builder_factor() is None:
        with begin_write(state().engine) as conn:
            audit.record(
                conn, "login_refused", user_id=None, email=email, reason="no_second_factor"
            )
        return _login_page(503, email=email)
    ip = request_client_ip()
    failure = _("The e-mail address or the password is not correct.")
    account = None
    ok = False
    with begin_write(state().engine) as conn:
        verdict = throttle.check(
            conn, BUILDER_KEY, email, ip, lockout_after=PASSWORD_POLICY.lockout_after
        )
        if not verdict.allowed:
            audit.record(conn, "login_throttled", user_id=None, email=email, reason=verdict.reason)
        else:
            account = find_account(conn, email)
            if account is None:
                verify_password(_dummy_hash(), password)
                ok = False
            else:
                ok = verify_password(account.password_hash, password) and account.is_active
            throttle.record(conn, BUILDER_KEY, email, ip, success=ok)
            if ok and account is not None:
                audit.record_by(conn, "password_ok", account)
            else:
                user_id = account.id if account is not None else None
                audit.record(conn, "login_failed", user_id=user_id, email=email)
    if not verdict.allowed:
        return _login_page(429, _wait(verdict), email, **{"Retry-After": str(verdict.retry_after)})
    if not ok or account is None:
        return _login_page(401, failure, email)
    begin_pending(account)
    return redirect(url_for("builder.two_factor"), 303)


def _wait(verdict: throttle.Verdict) -> str:
    return _("Too many attempts. Try again in %(seconds)s seconds.", seconds=verdict.retry_after)


def _check_code(
    account: Account, factor: BuilderFactor, enrolled: bool, code: str
) -> tuple[throttle.Verdict, bool, list[str] | None]:
    """Throttle, verify (or confirm the enrolment with) `code`, and audit the outcome in
    one transaction: (verdict, accepted, recovery codes of a fresh enrolment)."""
    subject = f"2fa:{account.id}"
    ip = request_client_ip()
    recovery: list[str] | None = None
    ok = False
    with begin_write(state().engine) as conn:
        verdict = throttle.check(conn, BUILDER_KEY, subject, ip, lockout_after=CODE_ATTEMPTS)
        if verdict.allowed:
            if enrolled:
                ok = factor.verify(conn, BUILDER_KEY, account.id, code)
            else:
                recovery = factor.confirm_enrolment(conn, BUILDER_KEY, account.id, code)
                ok = recovery is not None
            throttle.record(conn, BUILDER_KEY, subject, ip, success=ok)
        if not ok:
            audit.record_by(conn, "second_factor_failed", account, throttled=not verdict.allowed)
            return verdict, False, None
        if recovery is not None:
            audit.record_by(conn, "two_factor_enrolled", account, factor=factor.name)
        audit.record_by(conn, "login", account, factor=factor.name)
        record_login(conn, account.id)
    return verdict, True, recovery


def two_factor_view() -> Page:
    """`/_builder/login/code`: the code of the second factor, or its enrolment on the first
    sign-in (QR code, secret, first code); a right code starts the session."""
    account = pending_account()
    factor = builder_factor()
    if account is None or factor is None:
        return redirect(url_for("builder.login"), 303)
    with begin_write(state().engine) as conn:
        enrolled = factor.enrolled(conn, BUILDER_KEY, account.id)
        start = None
        if not enrolled:
            start = factor.start_enrolment(
                conn, BUILDER_KEY, account.id, account=account.email, issuer=ISSUER
            )
    error = None
    status = 200
    if request.method == "POST":
        code = request.form.get("code", "").strip()[:64]
        verdict, ok, recovery = _check_code(account, factor, enrolled, code)
        if ok:
            sign_in(account)
            if recovery is None:
                return redirect(url_for("builder.start"), 303)
            page = render_template(
                "builder/recovery_codes.html", codes=recovery, title=_("Recovery codes")
            )
            return page, 200
        if not verdict.allowed:
            error, status = _wait(verdict), 429
        else:
            error = _("That code is not valid. Enter the current code from your app.")
            status = 422
    body = render_template(
        "builder/two_factor.html", start=start, error=error, email=account.email,
        title=_("Set up your authenticator app") if start is not None else _("Two-step verification"),
    )  # fmt: skip
    return body, status


def logout_view() -> Response:
    """POST `/_builder/logout`: end the session (audited)."""
    account = current_account()
    if account is not None:
        with begin_write(state().engine) as conn:
            audit.record_by(conn, "logout", account)
    sign_out()
    return redirect(url_for("builder.login"), 303)
