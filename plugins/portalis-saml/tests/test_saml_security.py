"""SECURITY A.13 and the SAML profile's checks: every forged, tampered, replayed or misdirected
response is refused with a `login_failed` audit entry and no session (both databases)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from saml_idp import SamlIdP, set_attribute, set_text
from saml_sso import deliver, entries, now, signed_in, start

from portalis.testing.inspection import find_user
from portalis.testing.web import PortalClient, WebPortal


def _saml_time(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def _without_in_response_to(xml: str) -> str:
    changed, count = re.subn(r'\sInResponseTo="[^"]*"', "", xml)
    assert count
    return changed


def assert_refused(
    web: WebPortal, browser: PortalClient, since: datetime, email: str, *reasons: str
) -> str:
    """Nobody is signed in, no user was created, one login_failed entry with a reason that
    starts with one of `reasons`; returns that reason."""
    assert not signed_in(browser)
    with web.engine.connect() as conn:
        assert find_user(conn, web.compiled, email) is None
    failed = entries(web, since, "login_failed")
    assert len(failed) == 1, failed
    assert failed[0]["detail"]["provider"] == "corp"
    reason = str(failed[0]["detail"]["reason"])
    assert reason.startswith(reasons), reason
    assert not entries(web, since, "login", "user_provisioned")
    return reason


# -- A.13: the answer counts only in the session that started the flow ---------------------
def test_a13_finish_without_the_sessions_flow_refused(web: WebPortal, idp: SamlIdP) -> None:
    since = now()
    _victim, answer = start(web, idp)
    attacker = web.client()  # a login forced into another browser (login CSRF)
    refused = deliver(attacker, answer)
    assert refused.status_code == 401
    assert "failed" in refused.get_data(as_text=True)
    assert_refused(web, attacker, since, idp.user.attributes["mail"][0], "flow_not_started")


def test_a13_relay_state_mismatch_refused(web: WebPortal, idp: SamlIdP) -> None:
    since = now()
    browser, answer = start(web, idp)
    answer.fields["RelayState"] = "forged-relay-state"
    assert deliver(browser, answer).status_code == 401
    assert_refused(web, browser, since, idp.user.attributes["mail"][0], "relay_state_mismatch")


def test_a13_ticket_is_single_use_and_acs_needs_post(web: WebPortal, idp: SamlIdP) -> None:
    since = now()
    browser, answer = start(web, idp)
    parked = browser.client.post(answer.acs_path, data=answer.fields)
    finish = parked.headers["Location"]
    assert browser.client.get(finish.replace("ticket=", "ticket=x")).status_code == 401
    assert_refused(web, browser, since, idp.user.attributes["mail"][0], "unknown_ticket")
    assert browser.client.get(answer.acs_path).status_code == 405
    # the start of a flow is CSRF-protected (only the ACS is exempt)
    browser.csrf = "wrong"
    assert browser.post("/auth/corp/start", {}).status_code in (400, 403)


# -- the response itself ----------------------------------------------------------------------
def _tamper_attribute(idp: SamlIdP) -> Callable[[str], str]:
    return lambda xml: xml.replace("Lena Kraus", "Anna Berg")


def _tamper_name_id(idp: SamlIdP) -> Callable[[str], str]:
    return lambda xml: xml.replace(idp.user.name_id, "u-someone-else")


@pytest.mark.parametrize("tamper", [_tamper_attribute, _tamper_name_id], ids=["attr", "nameid"])
def test_tampered_assertion_refused(
    web: WebPortal, idp: SamlIdP, tamper: Callable[[SamlIdP], Callable[[str], str]]
) -> None:
    since = now()
    idp.tamper = tamper(idp)
    browser, answer = start(web, idp)
    assert deliver(browser, answer).status_code == 401
    assert_refused(
        web, browser, since, idp.user.attributes["mail"][0], "invalid_response:Signature"
    )


MISDIRECTED: dict[str, tuple[Callable[[], Callable[[str], str]], tuple[str, ...]]] = {
    "wrong_audience": (
        lambda: set_text("Audience", "https://evil.example/sp"),
        ("invalid_response:Exception", "wrong_audience"),
    ),
    "wrong_recipient": (
        lambda: set_attribute("Recipient", "https://evil.example/acs", "SubjectConfirmationData"),
        ("no_valid_subject_confirmation",),  # pysaml2 lets it pass: our check
    ),
    "wrong_destination": (
        lambda: set_attribute("Destination", "https://evil.example/acs", "Response"),
        ("invalid_response", "wrong_destination"),
    ),
    "expired": (
        lambda: set_attribute("NotOnOrAfter", _saml_time(timedelta(minutes=-10))),
        ("invalid_response:VerificationError", "expired"),
    ),
    "not_yet_valid": (
        lambda: set_attribute("NotBefore", _saml_time(timedelta(minutes=10)), "Conditions"),
        ("invalid_response:VerificationError", "not_yet_valid"),
    ),
    "wrong_in_response_to": (
        lambda: set_attribute("InResponseTo", "id-forged-0123456789"),
        ("invalid_response:UnsolicitedResponse", "wrong_in_response_to"),
    ),
    "unsolicited": (
        lambda: _without_in_response_to,
        ("invalid_response:UnsolicitedResponse",),
    ),
}


@pytest.mark.parametrize("case", sorted(MISDIRECTED))
def test_misdirected_or_stale_response_refused(web: WebPortal, idp: SamlIdP, case: str) -> None:
    since = now()
    mutation, reasons = MISDIRECTED[case]
    idp.mutate = [mutation()]
    browser, answer = start(web, idp)
    assert deliver(browser, answer).status_code == 401
    assert_refused(web, browser, since, idp.user.attributes["mail"][0], *reasons)


def test_unsigned_assertion_refused(web: WebPortal, idp: SamlIdP) -> None:
    since = now()
    idp.sign = False
    browser, answer = start(web, idp)
    assert deliver(browser, answer).status_code == 401
    assert_refused(
        web, browser, since, idp.user.attributes["mail"][0], "invalid_response:Signature"
    )


# -- replay -----------------------------------------------------------------------------------
def test_replayed_response_refused(web: WebPortal, idp: SamlIdP) -> None:
    browser, answer = start(web, idp)
    assert deliver(browser, answer).status_code == 303 and signed_in(browser)
    since = now()
    # the same SAMLResponse POSTed again: in the same browser and in another one
    for again in (browser, web.client()):
        assert deliver(again, answer).status_code == 401
    failed = entries(web, since, "login_failed")
    assert [e["detail"]["reason"] for e in failed] == ["flow_not_started"] * 2
    assert not entries(web, since, "login")


def test_replayed_assertion_with_copied_session_refused(web: WebPortal, idp: SamlIdP) -> None:
    # an attacker who copied the victim's cookie *and* the response gets past the flow check
    # (same request id, same RelayState): only the used-assertion table stops the replay
    browser, answer = start(web, idp)
    copied = browser.client.get_cookie("portalis")
    assert copied is not None
    assert deliver(browser, answer).status_code == 303 and signed_in(browser)
    since = now()
    attacker = web.client()
    attacker.client.set_cookie("portalis", copied.value, domain=copied.domain)
    assert deliver(attacker, answer).status_code == 401
    assert not signed_in(attacker)
    failed = entries(web, since, "login_failed")
    assert [e["detail"]["reason"] for e in failed] == ["replayed"]
    assert not entries(web, since, "login")
