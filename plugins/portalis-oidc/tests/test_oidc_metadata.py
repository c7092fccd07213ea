"""Discovery and key caching, the outbound policy and option parsing (no database needed)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from oidc_idp import LoopbackIdP
from portalis_oidc import OidcProviderType
from portalis_oidc.http import Backchannel, FetchFailed
from portalis_oidc.jose import JsonWebKey
from portalis_oidc.metadata import ProviderMetadata
from portalis_oidc.options import OidcOptions
from portalis_oidc.section import OIDC_SECTION
from portalis_oidc.tokens import verify_id_token

from portalis.api import AuthProvider, OutboundPolicy
from portalis.web import BindContext, LoginRefused


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def metadata(idp: LoopbackIdP) -> Iterator[tuple[ProviderMetadata, Clock]]:
    clock = Clock()
    backchannel = Backchannel(OutboundPolicy.parse("127.0.0.1/32"))
    found = idp.issuer + "/.well-known/openid-configuration"
    yield ProviderMetadata(backchannel, found, idp.issuer, ttl=60, clock=clock), clock


def test_bind_needs_no_network() -> None:
    entry = AuthProvider(
        "oidc", "corp", {"issuer": "https://login.invalid", "client_id": "c", "client_secret": "s"}
    )
    ctx = BindContext(
        slug="p",
        model=None,
        engine=None,
        env={},
        base_url="",
        files={},  # type: ignore[arg-type]
    )
    bound = OidcProviderType().bind(entry, ctx)
    assert bound.kind == "redirect" and not bound.csrf_exempt("callback")
    assert bound.metadata.fetches == {"discovery": 0, "jwks": 0}
    assert OIDC_SECTION.secret_options == ("client_secret",)


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="issuer"):
        OidcOptions.of({"issuer": "login.example.com", "client_id": "c"})
    with pytest.raises(ValueError, match="client_id"):
        OidcOptions.of({"issuer": "https://login.example.com"})
    options = OidcOptions.of(
        {"issuer": "https://login.example.com/", "client_id": "c", "scopes": ["email", "openid"]}
    )
    assert options.scopes == ("openid", "email")
    assert options.discovery_url == "https://login.example.com/.well-known/openid-configuration"
    assert (options.email_claim, options.name_claim) == ("email", "name")


def test_discovery_and_keys_are_cached_with_a_ttl(
    idp: LoopbackIdP, metadata: tuple[ProviderMetadata, Clock]
) -> None:
    meta, clock = metadata
    assert meta.discovery().token_endpoint == f"{idp.issuer}/token"
    assert meta.discovery() is meta.discovery()
    assert meta.key("k1", "RSA") is meta.key("k1", "RSA")
    assert meta.fetches == {"discovery": 1, "jwks": 1}
    clock.now += 61
    meta.discovery()
    meta.key("k1", "RSA")
    assert meta.fetches == {"discovery": 2, "jwks": 2}


def test_unknown_kid_refetches_the_keys_once(
    idp: LoopbackIdP, metadata: tuple[ProviderMetadata, Clock]
) -> None:
    meta, _ = metadata
    meta.key("k1", "RSA")
    # the provider rotates its key: a token with the new kid makes one refetch
    idp.key = JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": "k2"})
    assert meta.key("k2", "RSA").kid == "k2"
    assert meta.fetches["jwks"] == 2
    with pytest.raises(FetchFailed) as failed:
        meta.key("nobody", "RSA")
    assert failed.value.reason == "unknown_key"
    assert meta.fetches["jwks"] == 3  # one refetch per unknown kid, not a loop
    with pytest.raises(FetchFailed):
        meta.key("k2", "EC")  # an ES256 header cannot pick the RSA key


def test_token_signed_with_a_rotated_key_verifies(
    idp: LoopbackIdP, metadata: tuple[ProviderMetadata, Clock]
) -> None:
    meta, _ = metadata
    meta.key("k1", "RSA")
    idp.key = JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": "k2"})
    now = int(time.time())
    claims = {"iss": idp.issuer, "sub": "s", "aud": "acme-portal", "iat": now, "exp": now + 60}
    token = idp.sign({**claims, "nonce": "n"})
    verified = verify_id_token(token, meta, issuer=idp.issuer, client_id="acme-portal", nonce="n")
    assert verified["sub"] == "s"
    with pytest.raises(LoginRefused) as refused:
        verify_id_token(token, meta, issuer=idp.issuer, client_id="acme-portal", nonce="other")
    assert refused.value.reason.startswith("id_token_")


def test_a34_loopback_needs_the_allow_list(idp: LoopbackIdP) -> None:
    strict = Backchannel(OutboundPolicy())  # the default: https to public addresses only
    with pytest.raises(FetchFailed) as refused:
        strict.get_json(f"{idp.issuer}/.well-known/openid-configuration")
    assert refused.value.reason == "outbound_refused"
    allowed = Backchannel(OutboundPolicy.parse("127.0.0.1/32"))
    assert allowed.get_json(f"{idp.issuer}/.well-known/openid-configuration")["issuer"]
    authorize = f"{idp.issuer}/authorize?response_type=code&client_id=acme-portal"
    with pytest.raises(FetchFailed) as redirected:
        allowed.get_json(f"{authorize}&redirect_uri=http://x/")  # answers 302
    assert redirected.value.reason == "http_status"  # redirects are never followed
