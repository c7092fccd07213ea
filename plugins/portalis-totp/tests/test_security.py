"""SECURITY A.8, A.9, A.10, A.14, A.18 for the TOTP factor, on both databases."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

from totp_support import TotpPortal, location, text

from portalis.testing.authenticator import code_at

_LINK = re.compile(r"https?://[^\s\"<>]+")
NEW_PASSWORD = "a new and long passphrase 7"
OLD = 3600.0  # seconds: far older than the step-up window


def next_of(location_header: str) -> str:
    """The `next` parameter of a redirect to /profile/confirm."""
    return parse_qs(urlsplit(location_header).query)["next"][0]


def test_a8_password_reset_does_not_bypass_2fa(portal: TotpPortal) -> None:
    ben = portal.browser()
    ben.login("ben@acme.test")
    phone, _ = ben.enrol()
    visitor = portal.browser()
    visitor.get("/reset")
    assert visitor.post("/reset", email="ben@acme.test").status_code == 200
    mail = portal.mail_to("ben@acme.test")
    [link] = [found for found in _LINK.findall(mail.text) if "/reset/" in found]
    path = "/" + link.split("/", 4)[4]  # portal-relative
    assert visitor.get(path).status_code == 200
    changed = visitor.post(path, password=NEW_PASSWORD, password_confirm=NEW_PASSWORD)
    assert changed.status_code == 303 and location(changed) == "/login"
    assert not visitor.signed_in()
    answer = visitor.login("ben@acme.test", NEW_PASSWORD)
    assert answer.status_code == 303 and location(answer) == "/login/two-factor"
    assert not visitor.signed_in()  # the new password alone starts no session
    assert visitor.post("/login/two-factor", code=phone.code()).status_code == 303
    assert visitor.signed_in()


def test_a9_totp_code_cannot_be_replayed(portal: TotpPortal) -> None:
    ben = portal.browser()
    ben.login("ben@acme.test")
    phone, _ = ben.enrol()
    code = phone.code()
    first = portal.browser()
    first.login("ben@acme.test")
    assert first.post("/login/two-factor", code=code).status_code == 303
    replay = portal.browser()
    replay.login("ben@acme.test")
    refused = replay.post("/login/two-factor", code=code)  # the same code, still in its window
    assert refused.status_code == 422 and not replay.signed_in()
    earlier = code_at(phone.secret, phone.used - 1)  # an older step, still inside the window
    assert replay.post("/login/two-factor", code=earlier).status_code == 422
    assert len(portal.audit("second_factor_failed")) == 2
    assert replay.post("/login/two-factor", code=phone.code()).status_code == 303  # next step
    assert replay.signed_in()


def test_a10_wrong_codes_are_throttled(portal: TotpPortal) -> None:
    ben = portal.browser()
    ben.login("ben@acme.test")
    phone, _ = ben.enrol()
    guesser = portal.browser()
    guesser.login("ben@acme.test")
    for guess in ("111111", "222222", "333333", "444444", "555555"):
        assert guesser.post("/login/two-factor", code=guess).status_code == 422
    blocked = guesser.post("/login/two-factor", code=phone.code())  # even the right code
    assert blocked.status_code == 422
    assert "Too many wrong codes" in text(blocked)
    assert not guesser.signed_in()


def test_a10_recovery_code_is_one_time(portal: TotpPortal) -> None:
    ben = portal.browser()
    ben.login("ben@acme.test")
    phone, recovery = ben.enrol()
    late = portal.browser()
    late.login("ben@acme.test")
    for far in (time.time() - 600, time.time() + 600):  # far outside the ±1 step window
        assert (
            late.post("/login/two-factor", code=code_at(phone.secret, int(far // 30))).status_code
            == 422
        )
    typed = recovery[3].upper().replace("-", " ")  # as a user may type it
    assert late.post("/login/two-factor", code=typed).status_code == 303
    assert late.signed_in()
    [used] = portal.audit("recovery_code_used")
    assert used["actor_id"] == portal.user_id("ben@acme.test")
    assert used["detail"]["remaining"] == "9"
    assert "9 unused recovery codes" in text(late.get("/profile/two-factor"))
    again = portal.browser()
    again.login("ben@acme.test")
    assert again.post("/login/two-factor", code=recovery[3]).status_code == 422
    assert not again.signed_in()
    for entry in portal.audit("recovery_code_used") + portal.audit("two_factor_enrolled"):
        detail = str(entry["detail"])
        assert phone.secret not in detail and not any(code in detail for code in recovery)


def test_a18_enrol_needs_fresh_authentication(portal: TotpPortal) -> None:
    ben = portal.browser()
    ben.client.login("ben@acme.test")  # a live session …
    ben.set_session(auth_at=time.time() - OLD)  # … whose sign-in was long ago
    old_id = ben.session()["_user_id"]
    sent = ben.get("/profile/two-factor")
    assert sent.status_code == 303 and location(sent) == "/profile/confirm"
    assert next_of(sent.headers["Location"]) == "/acme-support/profile/two-factor"
    assert location(ben.post("/profile/two-factor", code="123456")) == "/profile/confirm"
    assert ben.get("/profile/confirm").status_code == 200
    wrong = ben.post("/profile/confirm", password="not it", next=next_of(sent.headers["Location"]))
    assert wrong.status_code == 422
    confirmed = ben.post(
        "/profile/confirm", password="correct horse 44", next=next_of(sent.headers["Location"])
    )
    assert confirmed.status_code == 303 and location(confirmed) == "/profile/two-factor"
    new_id = ben.session()["_user_id"]
    assert new_id != old_id  # A.14: a new session id after the step-up
    stale = portal.browser()
    stale.set_session(_user_id=old_id, _fresh=True)
    assert not stale.signed_in()  # the old session ended server-side
    ben.enrol()
    assert portal.enrolled("ben@acme.test")
    assert [e["detail"]["method"] for e in portal.audit("reauthenticated")] == ["password"]


def test_a18_disable_and_new_recovery_codes_need_fresh_authentication(
    portal: TotpPortal,
) -> None:
    ben = portal.browser()
    ben.login("ben@acme.test")
    phone, old_codes = ben.enrol()
    ben.set_session(auth_at=time.time() - OLD)
    old_id = ben.session()["_user_id"]
    for path in ("/profile/two-factor/disable", "/profile/two-factor/recovery"):
        assert location(ben.post(path)) == "/profile/confirm"
    assert portal.enrolled("ben@acme.test")
    assert portal.audit("recovery_codes_regenerated") == []
    sent = ben.get("/profile/two-factor/disable")
    target = next_of(sent.headers["Location"])
    assert target == "/acme-support/profile/two-factor/disable"
    no_code = ben.post("/profile/confirm", password="correct horse 44", next=target)
    assert no_code.status_code == 422  # the second factor is part of the step-up
    confirmed = ben.post(
        "/profile/confirm", password="correct horse 44", code=phone.code(), next=target
    )
    assert confirmed.status_code == 303 and location(confirmed) == "/profile/two-factor/disable"
    assert ben.session()["_user_id"] != old_id
    assert ben.get("/profile/two-factor/recovery").status_code == 200
    fresh = ben.post("/profile/two-factor/recovery")
    assert fresh.status_code == 200
    new_codes = re.findall(r"<li><code>([a-z2-9-]+)</code></li>", text(fresh))
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert len(portal.audit("recovery_codes_regenerated")) == 1
    assert ben.get("/profile/two-factor/disable").status_code == 200
    off = ben.post("/profile/two-factor/disable")
    assert off.status_code == 303 and location(off) == "/profile/two-factor"
    assert not portal.enrolled("ben@acme.test")
    assert len(portal.audit("two_factor_disabled")) == 1
    later = portal.browser()
    answer = later.login("ben@acme.test")
    assert answer.status_code == 303 and location(answer) == "/"
    assert later.signed_in()


def test_factor_audit_knows_the_portal_request_it_runs_in(portal: TotpPortal) -> None:
    """Inside a portal request the factor's own audit entries name the user and the client
    address (`portalis.web.request_portal`); outside one (an administrator's script) they
    are still written, without an address."""
    ben = portal.browser()
    ben.login("ben@acme.test")
    _, recovery = ben.enrol()
    late = portal.browser()
    late.login("ben@acme.test")
    assert late.post("/login/two-factor", code=recovery[0]).status_code == 303
    [used] = portal.audit("recovery_code_used")
    assert used["actor_email"] == "ben@acme.test"
    assert used["ip"]
    uid = portal.user_id("ben@acme.test")
    with portal.web.app.app_context(), portal.web.engine.begin() as conn:
        assert portal.factor.disable(conn, portal.web.slug, uid) is True
    [disabled] = portal.audit("two_factor_disabled")
    assert disabled["actor_id"] == uid and disabled["ip"] is None
