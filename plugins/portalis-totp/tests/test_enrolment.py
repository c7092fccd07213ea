"""Enrolment and login with TOTP, end to end through the runtime, on both databases."""

from __future__ import annotations

import sqlalchemy as sa
from portalis_totp import crypto
from portalis_totp.tables import enrolments, recovery_codes
from totp_support import TotpPortal, location, text

from portalis.testing.web import app_state


def test_factor_and_routes_loaded_from_entry_point(portal: TotpPortal) -> None:
    st = app_state(portal.web.app)
    assert st.pm.get_plugin("totp") is not None
    assert [f.name for f in st.second_factors] == ["totp"]
    assert portal.browser().get("/profile/two-factor").status_code == 302  # nobody signed in


def test_enrol_then_login_asks_the_code(portal: TotpPortal) -> None:
    ben = portal.browser()
    assert ben.login("ben@acme.test").status_code == 303
    page = ben.get("/profile/two-factor")
    body = text(page)
    assert page.status_code == 200
    assert "<svg" in body and 'class="segno"' in body
    wrong = ben.post("/profile/two-factor", code="000000")
    assert wrong.status_code == 422 and 'id="code-error"' in text(wrong)
    assert not portal.enrolled("ben@acme.test")
    phone, recovery = ben.enrol()
    assert len(set(recovery)) == 10
    uid = portal.user_id("ben@acme.test")
    with portal.web.engine.connect() as conn:
        row = conn.execute(sa.select(enrolments).where(enrolments.c.user_id == uid)).one()
        stored = list(
            conn.execute(
                sa.select(recovery_codes.c.code_hash).where(recovery_codes.c.user_id == uid)
            ).scalars()
        )
    assert phone.secret not in row.secret  # encrypted at rest …
    with portal.web.app.app_context():
        assert crypto.decrypt(row.secret) == phone.secret  # … with the app's derived key
    assert len(stored) == 10 and not set(recovery) & set(stored)
    [entry] = portal.audit("two_factor_enrolled")
    assert entry["actor_id"] == uid and phone.secret not in str(entry["detail"])
    assert "10 unused recovery codes" in text(ben.get("/profile/two-factor"))  # status page

    again = portal.browser()
    answer = again.login("ben@acme.test")
    assert answer.status_code == 303 and location(answer) == "/login/two-factor"
    assert not again.signed_in()  # no session between the factors
    assert again.get("/tickets").status_code == 302
    done = again.post("/login/two-factor", code=phone.code())
    assert done.status_code == 303
    assert again.signed_in()
    assert portal.audit("login")[-1]["detail"]["second_factor"] == "totp"


def test_required_role_is_forced_to_enrol_before_any_session(portal: TotpPortal) -> None:
    sam = portal.browser()
    answer = sam.login("sam@support.test")
    assert answer.status_code == 303 and location(answer) == "/profile/two-factor"
    for path in ("/profile", "/tickets", "/profile/sessions"):
        assert sam.get(path).status_code == 302  # no session: the login page
    assert location(sam.get("/login/two-factor")) == "/profile/two-factor"
    skip = sam.post("/profile/two-factor/continue")  # "Continue" before enrolling
    assert skip.status_code == 303 and not sam.signed_in()
    phone, _ = sam.enrol()
    assert not sam.signed_in()  # the recovery codes come before the session
    assert sam.page is not None and "/profile/two-factor/continue" in text(sam.page)
    finished = sam.post("/profile/two-factor/continue")
    assert finished.status_code == 303 and sam.signed_in()
    status = text(sam.get("/profile/two-factor"))
    assert "cannot be turned off" in status and "/profile/two-factor/disable" not in status
    refused = sam.post("/profile/two-factor/disable")  # a fresh session, refused by role
    assert refused.status_code == 303 and portal.enrolled("sam@support.test")
    assert portal.audit("two_factor_disabled") == []
    later = portal.browser()
    assert location(later.login("sam@support.test")) == "/login/two-factor"
    assert later.post("/login/two-factor", code=phone.code()).status_code == 303
    assert later.signed_in()


def test_admin_reset_forces_enrolment_again(portal: TotpPortal) -> None:
    sam = portal.browser()
    sam.login("sam@support.test")
    sam.enrol()
    assert sam.post("/profile/two-factor/continue").status_code == 303
    uid = portal.user_id("sam@support.test")
    with portal.web.app.app_context(), portal.web.engine.begin() as conn:
        assert portal.factor.disable(conn, portal.web.slug, uid) is True  # a lost device
    assert not portal.enrolled("sam@support.test")
    with portal.web.engine.connect() as conn:
        count = sa.select(sa.func.count()).select_from(recovery_codes)
        assert conn.execute(count.where(recovery_codes.c.user_id == uid)).scalar_one() == 0
    assert [e["actor_id"] for e in portal.audit("two_factor_disabled")] == [uid]
    again = portal.browser()
    assert location(again.login("sam@support.test")) == "/profile/two-factor"
    again.enrol()
    assert again.post("/profile/two-factor/continue").status_code == 303
    assert again.signed_in()


def test_enrolled_pending_login_cannot_skip_the_code(portal: TotpPortal) -> None:
    ben = portal.browser()
    ben.login("ben@acme.test")
    ben.enrol()
    intruder = portal.browser()  # knows the password only
    assert location(intruder.login("ben@acme.test")) == "/login/two-factor"
    assert location(intruder.get("/profile/two-factor")) == "/login/two-factor"
    assert location(intruder.post("/profile/two-factor", code="123456")) == "/login/two-factor"
    assert location(intruder.post("/profile/two-factor/continue")) == "/login/two-factor"
    assert not intruder.signed_in()
