"""SECURITY A.11–A.13 for OIDC sign-in: identity binding, ID token checks, flow binding.

A real portal (Flask test client, SQLite and PostgreSQL) signs in against a loopback OpenID
provider that speaks the real protocol and hands out the broken tokens an attacker would.
"""

from __future__ import annotations

import time
from typing import Any

from oidc_idp import LoopbackIdP, query
from oidc_portal import INITECH, PROVIDER, account_id, auth_events, find
from oidc_sso import Deployer, callback, refused_at_start, signed_in, sso, start

from portalis.testing.inspection import set_active
from portalis.testing.web import WebPortal


def refused_with(web: WebPortal, reason_prefix: str) -> dict[str, Any]:
    """The last `login_failed` audit entry, which must carry a reason with this prefix."""
    failed = auth_events(web.engine, web.slug, "login_failed")
    assert failed, "no login_failed audit entry"
    assert str(failed[-1].get("reason", "")).startswith(reason_prefix), failed[-1]
    assert failed[-1].get("provider") == PROVIDER
    return failed[-1]


# -- the happy path through the test client, on both databases -----------------------------
def test_jit_provisioning_account_and_role_sync(deploy: Deployer, idp: LoopbackIdP) -> None:
    web = deploy()
    browser = web.client()
    answer = sso(browser, idp)
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    assert signed_in(browser)
    carla = find(web.engine, web.compiled, "carla@initech.test")
    assert carla is not None and carla["name"] == "Carla Diaz"
    assert carla["account"] == account_id(web.engine, web.compiled, INITECH)
    assert list(carla["roles"]) == ["account_admin"]
    assert auth_events(web.engine, web.slug, "user_provisioned")[-1]["provider"] == PROVIDER
    # the provider moves her to another group: the managed role follows at the next login
    idp.users["carla-1"]["groups"] = ["portal-users"]
    again = web.client()
    assert sso(again, idp).status_code == 303 and signed_in(again)
    carla = find(web.engine, web.compiled, "carla@initech.test")
    assert carla is not None and list(carla["roles"]) == ["customer"]
    assert auth_events(web.engine, web.slug, "roles_synced")[-1]["after"] == ["customer"]
    # the token request carried the PKCE verifier and the exact redirect URI
    sent = idp.token_requests[-1]
    assert len(sent["code_verifier"]) >= 43
    assert sent["redirect_uri"].endswith(f"/{web.slug}/auth/{PROVIDER}/callback")


def test_disabled_user_is_refused(deploy: Deployer, idp: LoopbackIdP) -> None:
    web = deploy()
    assert sso(web.client(), idp).status_code == 303
    with web.engine.begin() as conn:
        set_active(conn, web.compiled, "carla@initech.test", False)
    browser = web.client()
    assert sso(browser, idp).status_code == 403
    assert not signed_in(browser)
    assert auth_events(web.engine, web.slug, "login_failed")[-1]["reason"] == "disabled"


def test_userinfo_completes_the_claims_but_not_the_subject(
    deploy: Deployer, idp: LoopbackIdP
) -> None:
    web = deploy(name_claim="display_name")
    idp.userinfo_claims = {"display_name": "Carla D. (userinfo)", "iss": "https://evil.example"}
    browser = web.client()
    assert sso(browser, idp).status_code == 303 and signed_in(browser)
    carla = find(web.engine, web.compiled, "carla@initech.test")
    assert carla is not None and carla["name"] == "Carla D. (userinfo)"
    # userinfo about another subject is refused (OIDC Core 5.3.2): no identity swap
    idp.userinfo_claims = {"sub": "someone-else"}
    browser = web.client()
    assert sso(browser, idp).status_code == 401 and not signed_in(browser)
    refused_with(web, "userinfo_sub_mismatch")


# -- A.11: identities are bound by (issuer, subject) ---------------------------------------
def test_a11_same_email_other_subject_does_not_sign_in(deploy: Deployer, idp: LoopbackIdP) -> None:
    web = deploy()
    assert sso(web.client(), idp).status_code == 303  # carla-1 provisioned
    idp.users["mallory"] = {"email": "carla@initech.test", "email_verified": True}
    idp.current = "mallory"
    browser = web.client()
    answer = sso(browser, idp)
    assert answer.status_code == 403
    assert not signed_in(browser)
    refused_with(web, "email_taken")


def test_a11_same_subject_from_another_issuer_does_not_sign_in(
    deploy: Deployer, idp: LoopbackIdP
) -> None:
    from oidc_idp import serve_idp
    from oidc_portal import CLIENT_ID, CLIENT_SECRET, oidc_entry

    with serve_idp(CLIENT_ID, CLIENT_SECRET) as other:
        # another issuer asserting the very same subject and a verified e-mail address
        other.users["carla-1"] = dict(idp.users["carla-1"])
        other.current = "carla-1"
        partner = oidc_entry(name="partner", label="Partner", issuer="${OIDC_ISSUER_2}")
        web = deploy(extra=[partner], extra_env={"OIDC_ISSUER_2": other.issuer})
        assert sso(web.client(), idp).status_code == 303  # carla via the first issuer
        browser = web.client()
        answer = sso(browser, other, provider="partner")
        assert answer.status_code == 403
        assert not signed_in(browser)
        failed = auth_events(web.engine, web.slug, "login_failed")[-1]
        assert failed["reason"] == "email_taken" and failed["provider"] == "partner"


def test_a11_link_by_email_only_when_verified(deploy: Deployer, idp: LoopbackIdP) -> None:
    web = deploy(link_by_email=True)
    idp.users["ben-ext"] = {
        "email": "ben@acme.test",
        "email_verified": False,
        "groups": ["portal-users"],
    }
    idp.current = "ben-ext"
    browser = web.client()
    assert sso(browser, idp).status_code == 403
    assert not signed_in(browser)
    refused_with(web, "email_taken")
    idp.users["ben-ext"]["email_verified"] = "true"  # some providers send a string
    browser = web.client()
    assert sso(browser, idp).status_code == 303
    assert signed_in(browser)
    assert "Ben Ortiz" in browser.get("/tickets").get_data(as_text=True)


# -- A.12: the ID token is verified completely --------------------------------------------
#: attack → how the provider misbehaves and the audited reason of the refusal
ATTACKS: dict[str, dict[str, Any]] = {
    "bad signature": {"signing": "other_key", "reason": "id_token_signature"},
    "alg none": {"signing": "none", "reason": "id_token_alg"},
    "HS256 keyed with the public key": {"signing": "hs256_public", "reason": "id_token_alg"},
    "wrong audience": {"overrides": {"aud": "another"}, "reason": "id_token_invalid_claim_aud"},
    "several audiences without azp": {
        "overrides": {"aud": ["acme-portal", "another"]},
        "reason": "id_token_missing_claim_azp",
    },
    "wrong nonce": {
        "overrides": {"nonce": "not-the-flows"},
        "reason": "id_token_invalid_claim_nonce",
    },
    "expired": {
        "overrides": {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
        "reason": "id_token_expired_token_exp",
    },
    "issued in the future": {
        "overrides": {"iat": int(time.time()) + 3600},
        "reason": "id_token_invalid_claim_iat",
    },
    "wrong issuer": {
        "overrides": {"iss": "https://evil.example"},
        "reason": "id_token_invalid_claim_iss",
    },
    "no subject": {"overrides": {"sub": ""}, "reason": "id_token_invalid_claim_sub"},
}


def test_a12_bad_id_tokens_are_refused(deploy: Deployer, idp: LoopbackIdP) -> None:
    web = deploy()
    for name, attack in ATTACKS.items():
        idp.signing = attack.get("signing", "good")
        idp.overrides = dict(attack.get("overrides", {}))
        before = len(auth_events(web.engine, web.slug, "login_failed"))
        browser = web.client()
        answer = sso(browser, idp)
        assert answer.status_code == 401, name
        assert "Signing in with Acme ID failed" in answer.get_data(as_text=True), name
        assert not signed_in(browser), name
        assert len(auth_events(web.engine, web.slug, "login_failed")) == before + 1, name
        assert refused_with(web, attack["reason"])["reason"] == attack["reason"], name
    assert find(web.engine, web.compiled, "carla@initech.test") is None
    assert not auth_events(web.engine, web.slug, "login")
    # the same provider with a good token works: the refusals were the tokens' fault
    idp.signing, idp.overrides = "good", {}
    browser = web.client()
    assert sso(browser, idp).status_code == 303 and signed_in(browser)


def test_a12_discovery_must_name_the_configured_issuer(deploy: Deployer, idp: LoopbackIdP) -> None:
    web = deploy()
    idp.claimed_issuer = "https://login.example.com"
    browser = web.client()
    assert refused_at_start(browser) == 401 and not signed_in(browser)
    refused_with(web, "discovery_issuer_mismatch")


def test_a12_outbound_policy_applies_to_the_issuer(deploy: Deployer, idp: LoopbackIdP) -> None:
    web = deploy(outbound=False)  # no PORTALIS_OUTBOUND_ALLOW: loopback over http refused
    browser = web.client()
    assert refused_at_start(browser) == 401 and not signed_in(browser)
    refused_with(web, "discovery_outbound_refused")


# -- A.13: the callback belongs to the browser that started the flow -----------------------
def test_a13_state_from_another_session_is_refused(deploy: Deployer, idp: LoopbackIdP) -> None:
    web = deploy()
    victim, attacker = web.client(), web.client()
    attackers_callback = idp.follow_authorize(start(attacker))
    start(victim)  # the victim has a flow of her own, with another state
    answer = callback(victim, attackers_callback)
    assert answer.status_code == 401 and not signed_in(victim)
    refused_with(web, "state_mismatch")
    # a browser without any flow is refused too, and the code was never redeemed
    requests_before = len(idp.token_requests)
    stranger = web.client()
    stranger.get("/login")
    assert callback(stranger, attackers_callback).status_code == 401
    refused_with(web, "flow_not_started")
    assert not signed_in(stranger)
    assert len(idp.token_requests) == requests_before


def test_a13_pkce_verifier_is_required(deploy: Deployer, idp: LoopbackIdP) -> None:
    web = deploy()
    browser = web.client()
    authorize = start(browser)
    params = query(authorize)
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert params["state"] and params["nonce"] and params["state"] != params["nonce"]
    back = idp.follow_authorize(authorize)
    # the code is bound to another challenge, as if it had been obtained by someone else
    idp.codes[query(back)["code"]]["challenge"] = "A" * 43
    answer = callback(browser, back)
    assert answer.status_code == 401 and not signed_in(browser)
    refused_with(web, "token_invalid_grant")
    assert idp.token_requests[-1]["code_verifier"]


def test_a13_provider_error_is_refused(deploy: Deployer, idp: LoopbackIdP) -> None:
    web = deploy()
    browser = web.client()
    state = query(start(browser))["state"]
    answer = browser.client.get(
        f"/{web.slug}/auth/{PROVIDER}/callback?error=access_denied&state={state}"
    )
    assert answer.status_code == 401 and not signed_in(browser)
    refused_with(web, "idp_error_access_denied")
