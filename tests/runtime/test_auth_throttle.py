"""Login throttling (ASVS 6.3.1): per address with backoff, per IP, never a permanent lockout."""

from __future__ import annotations

from datetime import timedelta

from test_auth_support import AuthHarness

from portalis.runtime.auth import throttle
from portalis.testing.web import mask_csrf

ATTACKER = "10.66.0.1"


def test_backoff_grows_and_is_capped() -> None:
    assert throttle.backoff(9, 10) == timedelta(0)
    assert throttle.backoff(10, 10) == timedelta(seconds=30)
    assert throttle.backoff(11, 10) == timedelta(seconds=60)
    assert throttle.backoff(12, 10) == timedelta(seconds=120)
    assert throttle.backoff(40, 10) == throttle.MAX_DELAY


def test_asvs_6_3_1_brute_force_throttled_per_account(auth: AuthHarness) -> None:
    attacker = auth.client(ATTACKER)
    for i in range(10):  # lockout_after: 10 in b2c
        assert auth.login(attacker, "anna@acme.test", f"guess number {i}").status_code == 422
    refused = auth.login(attacker, "anna@acme.test")  # even the right password waits now
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 30
    assert "Too many sign-in attempts" in refused.get_data(as_text=True)
    # the real user elsewhere is throttled too, but only for the backoff ...
    user = auth.client("192.0.2.10")
    assert auth.login(user, "anna@acme.test").status_code == 429
    auth.age_attempts(timedelta(seconds=31))
    # ... after which the right password works: no permanent lockout of a chosen user
    response = auth.login(user, "anna@acme.test")
    assert response.status_code == 303
    assert auth.signed_in(user)


def test_asvs_6_3_1_backoff_doubles_and_refusals_do_not_extend_it(auth: AuthHarness) -> None:
    attacker = auth.client(ATTACKER)
    for i in range(11):
        assert auth.login(attacker, "ben@acme.test", f"guess number {i}").status_code == 422
        if i < 10:
            auth.age_attempts(timedelta(seconds=31))  # wait out each backoff
    first = auth.login(attacker, "ben@acme.test", "another guess 1")
    assert first.status_code == 429
    assert 30 < int(first.headers["Retry-After"]) <= 60  # 11 failures: 60 s
    for _ in range(5):  # hammering while refused records nothing
        assert auth.login(attacker, "ben@acme.test", "another guess 1").status_code == 429
    auth.age_attempts(timedelta(seconds=61))
    assert auth.login(auth.client("192.0.2.20"), "ben@acme.test").status_code == 303


def test_asvs_6_3_1_known_ip_is_not_locked_out(auth: AuthHarness) -> None:
    home = auth.client("192.0.2.10")
    assert auth.login(home, "anna@acme.test").status_code == 303
    attacker = auth.client(ATTACKER)
    for i in range(12):
        auth.login(attacker, "anna@acme.test", f"guess number {i}")
    assert auth.login(attacker, "anna@acme.test").status_code == 429
    # where anna signed in before, the attacker's failures do not count
    assert auth.login(auth.client("192.0.2.10"), "anna@acme.test").status_code == 303


def test_asvs_6_3_1_brute_force_throttled_per_ip(auth: AuthHarness) -> None:
    attacker = auth.client(ATTACKER)
    for i in range(20):  # spread over many addresses: no per-address lock applies
        response = auth.login(attacker, f"user{i}@acme.test", "guess 123456789")
        assert response.status_code == 422
    refused = auth.login(attacker, "ben@acme.test")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert auth.login(auth.client("192.0.2.30"), "ben@acme.test").status_code == 303
    auth.age_attempts(throttle.WINDOW)
    assert auth.login(attacker, "ben@acme.test").status_code == 303


def test_unknown_addresses_are_throttled_alike(auth: AuthHarness) -> None:
    client = auth.client(ATTACKER)
    responses = {}
    for email in ("anna@acme.test", "nobody@acme.test"):
        for i in range(10):
            auth.login(client, email, f"guess number {i}")
        responses[email] = auth.login(client, email, "guess number 99")
    known, unknown = responses["anna@acme.test"], responses["nobody@acme.test"]
    assert known.status_code == unknown.status_code == 429
    # the same page, but for the address typed and the time its CSRF token was signed
    assert mask_csrf(known.get_data(as_text=True).replace("anna@", "x@")) == mask_csrf(
        unknown.get_data(as_text=True).replace("nobody@", "x@")
    )
