"""Builder sign-in: password, then a required second factor enrolled on the first sign-in;
throttling, sign-out, session timeouts, CSRF and the audit trail."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from builder_support import PASSWORD, BuilderBrowser, add_account, audit_actions

from portalis.builder.session import ABSOLUTE_HOURS, IDLE_MINUTES
from portalis.engine.data.db import begin_write
from portalis.engine.data.tables import utcnow
from portalis.runtime.runtime_tables import sessions
from portalis.testing.inspection import audit_table
from portalis.testing.web import WebPortal

EMAIL = "builder@example.test"


@pytest.fixture(autouse=True)
def account(web: WebPortal) -> int:
    """The builder account every test here signs in with (its id)."""
    return add_account(web.engine, EMAIL)


def test_a9_builder_first_sign_in_enrols_the_second_factor_then_asks_for_it(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    assert browser.get("/_builder/").headers["Location"].endswith("/_builder/login")
    first = browser.password(EMAIL)
    assert first.status_code == 303 and first.headers["Location"].endswith("/_builder/login/code")
    # the password alone opens nothing
    assert browser.get("/_builder/").status_code == 303
    page = browser.get("/_builder/login/code")
    assert "<svg" in page.text and "Set up your authenticator app" in page.text
    wrong = browser.post("/_builder/login/code", code="000000")
    assert wrong.status_code == 422
    done = browser.enrol()
    assert done.status_code == 200 and done.text.count("<li><code>") == 10
    start = browser.get("/_builder/")
    assert start.status_code == 200 and EMAIL in start.text

    # the next sign-in asks for a code instead of enrolling again
    assert browser.post("/_builder/logout").status_code == 303
    assert browser.get("/_builder/").status_code == 303
    browser.password(EMAIL)
    page = browser.get("/_builder/login/code")
    assert "<svg" not in page.text and "Two-step verification" in page.text
    assert browser.authenticator is not None
    code = browser.authenticator.code()
    assert browser.post("/_builder/login/code", code=code).status_code == 303
    assert browser.get("/_builder/").status_code == 200
    # a code is accepted once (a replay in another browser fails)
    other = BuilderBrowser(web.app)
    other.password(EMAIL)
    assert other.post("/_builder/login/code", code=code).status_code == 422

    with web.engine.connect() as conn:
        login = (
            conn.execute(
                sa.select(audit_table).where(audit_table.c.action == "builder_login").limit(1)
            )
            .mappings()
            .one()
        )
    assert (login["actor_email"], login["ip"], login["detail"]) == (
        EMAIL,
        "127.0.0.1",
        {"factor": "totp"},
    )
    assert login["actor_id"] is not None
    assert audit_actions(web.engine) == [
        "builder_password_ok",
        "builder_second_factor_failed",
        "builder_two_factor_enrolled",
        "builder_login",
        "builder_logout",
        "builder_password_ok",
        "builder_login",
        "builder_password_ok",
        "builder_second_factor_failed",
    ]


def test_a5_builder_wrong_passwords_look_alike_and_are_throttled(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    unknown = browser.password("nobody@example.test")
    wrong = browser.password(EMAIL, "not the password at all")
    assert unknown.status_code == wrong.status_code == 401
    assert "The e-mail address or the password is not correct." in wrong.text
    for _ in range(4):
        browser.password(EMAIL, "not the password at all")
    refused = browser.password(EMAIL)  # even the right password waits now
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert audit_actions(web.engine)[-1] == "builder_login_throttled"
    assert audit_actions(web.engine).count("builder_login_failed") == 6


def test_a_disabled_account_cannot_sign_in(web: WebPortal, browser: BuilderBrowser) -> None:
    from portalis.builder.accounts import set_active

    with begin_write(web.engine) as conn:
        set_active(conn, EMAIL, False)
    assert browser.password(EMAIL).status_code == 401


def _age_sessions(web: WebPortal, **changes: object) -> None:
    with begin_write(web.engine) as conn:
        conn.execute(sessions.update().where(sessions.c.portal == "_builder").values(**changes))


def test_a17_builder_idle_and_absolute_timeouts_end_the_session(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    browser.sign_in(EMAIL)
    assert browser.get("/_builder/").status_code == 200
    _age_sessions(web, last_seen=utcnow() - timedelta(minutes=IDLE_MINUTES + 1))
    assert browser.get("/_builder/").status_code == 303

    browser.sign_in(EMAIL)
    assert browser.get("/_builder/").status_code == 200
    with web.engine.connect() as conn:
        newest = conn.execute(
            sa.select(sessions.c.created_at, sessions.c.expires_at)
            .where(sessions.c.portal == "_builder")
            .order_by(sessions.c.created_at.desc())
        ).first()
    assert newest is not None
    assert newest.expires_at - newest.created_at == timedelta(hours=ABSOLUTE_HOURS)
    _age_sessions(web, expires_at=utcnow() - timedelta(seconds=1))
    assert browser.get("/_builder/").status_code == 303


def test_a15_builder_sign_out_ends_the_session_server_side(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    browser.sign_in(EMAIL)
    with browser.client.session_transaction("/_builder/") as sess:
        stolen = dict(sess)
    browser.post("/_builder/logout")
    thief = BuilderBrowser(web.app)
    with thief.client.session_transaction("/_builder/") as sess:
        sess.update(stolen)  # the cookie of before the sign-out
    assert thief.get("/_builder/").status_code == 303


def test_a25_builder_forms_without_a_csrf_token_are_refused(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    assert (
        browser.post("/_builder/login", csrf=False, email=EMAIL, password=PASSWORD).status_code
        == 400
    )
    browser.sign_in(EMAIL)
    assert browser.post("/_builder/logout", csrf=False).status_code == 400
    assert browser.get("/_builder/").status_code == 200  # still signed in
    assert "builder_logout" not in audit_actions(web.engine)


def test_a46_builder_pages_carry_a_strict_content_security_policy(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    page = browser.get("/_builder/login")
    policy = page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "script-src 'self'" in policy
    assert page.headers["Cache-Control"] == "no-store"
    assert 'name="csrf_token"' in page.text


def test_the_ui_speaks_four_languages(web: WebPortal, browser: BuilderBrowser) -> None:
    expected = {
        "de": "Am Builder anmelden",
        "fr": "Se connecter au builder",
        "es": "Iniciar sesión en el builder",
        "en": "Sign in to the builder",
    }
    for lang, words in expected.items():
        page = browser.get("/_builder/login", headers={"Accept-Language": lang})
        assert f'<html lang="{lang}">' in page.text and words in page.text, lang
    chosen = browser.get("/_builder/login?lang=fr", headers={"Accept-Language": "de"})
    assert '<html lang="fr">' in chosen.text


def test_a14_builder_sign_in_starts_a_new_cookie_session(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    browser.get("/_builder/login")
    with browser.client.session_transaction("/_builder/") as sess:
        sess["planted"] = "by an attacker"
    browser.password(EMAIL)
    with browser.client.session_transaction("/_builder/") as sess:
        before = sess.get("csrf_token")
    browser.enrol()
    with browser.client.session_transaction("/_builder/") as sess:
        assert "planted" not in sess and sess.get("csrf_token") != before
        assert isinstance(sess.get("builder_session"), str)


def test_a10_builder_the_step_between_password_and_code_expires(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    browser.password(EMAIL)
    with browser.client.session_transaction("/_builder/") as sess:
        sess["builder_pending"] = {**sess["builder_pending"], "at": time.time() - 601}
    answer = browser.get("/_builder/login/code")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/_builder/login")


def test_a10_builder_wrong_codes_are_throttled(web: WebPortal, browser: BuilderBrowser) -> None:
    browser.sign_in(EMAIL)
    browser.post("/_builder/logout")
    browser.password(EMAIL)
    for _ in range(5):
        assert browser.post("/_builder/login/code", code="000000").status_code == 422
    assert browser.authenticator is not None
    refused = browser.post("/_builder/login/code", code=browser.authenticator.code())
    assert refused.status_code == 429  # even the right code waits now
    assert browser.get("/_builder/").status_code == 303
