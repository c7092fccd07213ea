"""`parse_event` verifies `Sandbox-Signature` (HMAC-SHA256 of "<t>.<body>") before it reads
the body, then the signed time against the tolerance (SECURITY R3: a bad signature or a
stale timestamp is refused, nothing is read)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from portalis_payments_sandbox import SIGNATURE_HEADER, SandboxConfig, sign
from portalis_payments_sandbox.signing import link_code, link_code_valid, signature
from sandbox_support import CONFIG, PROVIDER, SECRET
from sqlalchemy import create_engine

from portalis.api import EventRejected, OutboundPolicy, PaymentEvent, ProviderContext

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
AT = int(NOW.timestamp())
BODY = json.dumps(
    {
        "id": "evt_1",
        "type": "payment.succeeded",
        "created": AT,
        "data": {"payment_id": "pay_1", "checkout": "cs_1", "amount": "12.50", "currency": "EUR"},
    }
).encode()


def parse(body: bytes, headers: dict[str, str], now: datetime = NOW) -> PaymentEvent | None:
    return PROVIDER.parse_event(CONFIG, body, headers, now)


def test_r3_good_signature_is_accepted() -> None:
    event = parse(BODY, sign(SECRET, BODY, AT))
    assert event is not None and event.event_id == "evt_1"


def test_sign_gives_the_documented_header() -> None:
    headers = sign(SECRET, BODY, AT)
    assert headers[SIGNATURE_HEADER] == f"t={AT},v1={signature(SECRET, BODY, AT)}"
    assert headers["Content-Type"] == "application/json"
    assert len(signature(SECRET, BODY, AT)) == 64  # hex SHA-256


def test_r3_tampered_body_is_refused() -> None:
    headers = sign(SECRET, BODY, AT)
    tampered = BODY.replace(b'"12.50"', b'"1250.00"')
    with pytest.raises(EventRejected, match="does not match"):
        parse(tampered, headers)


def test_r3_wrong_secret_is_refused() -> None:
    with pytest.raises(EventRejected, match="does not match"):
        parse(BODY, sign("another-secret-of-enough-length-0123456789", BODY, AT))


@pytest.mark.parametrize(
    "headers",
    [{}, {SIGNATURE_HEADER: ""}, {"Other": "t=1,v1=ab"}],
    ids=["none", "empty", "other-header"],
)
def test_r3_missing_signature_is_refused(headers: dict[str, str]) -> None:
    with pytest.raises(EventRejected, match="no Sandbox-Signature"):
        parse(BODY, headers)


@pytest.mark.parametrize(
    "value",
    [f"v1={signature(SECRET, BODY, AT)}", f"t={AT}", f"t=-{AT},v1=00", "t=1e9,v1=00",
     f"t={AT},v1=" + "é" * 64, "x" * 2000],
    ids=["no-time", "no-signature", "negative", "exponent", "non-ascii", "too-long"],
)  # fmt: skip
def test_r3_malformed_header_is_refused(value: str) -> None:
    with pytest.raises(EventRejected):
        parse(BODY, {SIGNATURE_HEADER: value})


def test_r3_stale_timestamp_is_refused() -> None:
    old = AT - CONFIG.tolerance_seconds - 1
    with pytest.raises(EventRejected, match="from now"):
        parse(BODY, sign(SECRET, BODY, old))
    # at the edge of the tolerance it is still accepted
    assert parse(BODY, sign(SECRET, BODY, AT - CONFIG.tolerance_seconds)) is not None


def test_r3_future_timestamp_is_refused() -> None:
    ahead = AT + CONFIG.tolerance_seconds + 1
    with pytest.raises(EventRejected, match="from now"):
        parse(BODY, sign(SECRET, BODY, ahead))
    assert parse(BODY, sign(SECRET, BODY, AT + CONFIG.tolerance_seconds)) is not None


def test_r3_replay_with_another_timestamp_is_refused() -> None:
    """A captured event re-sent later with a fresh `t` and the old signature: the time is
    signed with the body, so the signature no longer matches."""
    captured = sign(SECRET, BODY, AT - 3600)[SIGNATURE_HEADER]
    old_signature = captured.split("v1=", 1)[1]
    with pytest.raises(EventRejected, match="does not match"):
        parse(BODY, {SIGNATURE_HEADER: f"t={AT},v1={old_signature}"})
    # and the captured header as it was is stale
    with pytest.raises(EventRejected, match="from now"):
        parse(BODY, {SIGNATURE_HEADER: captured})


def test_r3_signature_is_checked_before_the_body_is_read() -> None:
    """An unsigned body that is not even JSON is refused for its signature; the same body
    signed is refused for what it is."""
    garbage = b"{not json"
    with pytest.raises(EventRejected, match="does not match"):
        parse(garbage, {SIGNATURE_HEADER: f"t={AT},v1={'0' * 64}"})
    with pytest.raises(EventRejected, match="not JSON"):
        parse(garbage, sign(SECRET, garbage, AT))


def test_one_of_several_signatures_may_match() -> None:
    """While a secret is rotated a sender may sign with both keys."""
    good = signature(SECRET, BODY, AT)
    assert parse(BODY, {SIGNATURE_HEADER: f"t={AT},v1={'0' * 64},v1={good}"}) is not None


def test_header_name_and_hex_case_do_not_matter() -> None:
    value = sign(SECRET, BODY, AT)[SIGNATURE_HEADER]
    assert parse(
        BODY, {"sandbox-signature": value.upper().replace("T=", "t=").replace("V1=", "v1=")}
    )


def test_naive_now_is_utc() -> None:
    assert parse(BODY, sign(SECRET, BODY, AT), NOW.replace(tzinfo=None)) is not None


def test_tolerance_comes_from_the_config() -> None:
    strict = SandboxConfig(secret=SECRET, tolerance_seconds=30)
    headers = sign(SECRET, BODY, AT - 31)
    assert PROVIDER.parse_event(CONFIG, BODY, headers, NOW) is not None
    with pytest.raises(EventRejected):
        PROVIDER.parse_event(strict, BODY, headers, NOW)


def test_checkout_link_codes() -> None:
    code = link_code(SECRET, "cs_abc")
    assert link_code_valid(SECRET, "cs_abc", code)
    assert not link_code_valid(SECRET, "cs_abd", code)
    assert not link_code_valid("another-secret-of-enough-length-0123456789", "cs_abc", code)
    assert not link_code_valid(SECRET, "cs_abc", "")
    assert not link_code_valid(SECRET, "cs_abc", "é" * 32)


def test_config_repr_hides_the_secret() -> None:
    assert SECRET not in repr(CONFIG)


def test_r3_an_entry_without_a_secret_signs_with_the_installations_derived_key() -> None:
    derived = SandboxConfig(secret=None)
    keys = {"payments-sandbox": "derived-" + "k" * 40}
    here = ProviderContext(
        OutboundPolicy(), create_engine("sqlite://"), derive_key=keys.__getitem__
    )
    event = PROVIDER.parse_event(derived, BODY, sign(keys["payments-sandbox"], BODY, AT), NOW, here)
    assert event is not None and event.event_id == "evt_1"
    # another installation's key, the entry's old secret, or no context: refused
    for headers in (sign("other-" + "k" * 40, BODY, AT), sign(SECRET, BODY, AT)):
        with pytest.raises(EventRejected):
            PROVIDER.parse_event(derived, BODY, headers, NOW, here)
    with pytest.raises(EventRejected):
        PROVIDER.parse_event(derived, BODY, sign(keys["payments-sandbox"], BODY, AT), NOW)
