"""The `oidc` provider type and the provider it binds: authorization code flow with PKCE.

`begin` sends the browser to the provider's authorization endpoint with a fresh `state`,
`nonce` and PKCE S256 challenge (kept in the flow, i.e. in the session that started it);
`step("callback")` checks the state, exchanges the code over the back channel
(client_secret_basic + the PKCE verifier), verifies the ID token and returns the identity.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from flask import request
from werkzeug.exceptions import NotFound
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from portalis.api import AuthProvider, OutboundPolicy
from portalis.web import BindContext, ExternalIdentity, LoginRefused, ProviderKind

from .http import Backchannel, FetchFailed, safe_code
from .identity import merge_userinfo, to_identity
from .jose import create_s256_code_challenge, generate_token
from .metadata import Discovery, ProviderMetadata
from .options import OidcOptions
from .tokens import verify_id_token

if TYPE_CHECKING:
    from portalis.web import FlowContext

#: The flow step the provider redirects back to.
CALLBACK = "callback"


@dataclass(slots=True)
class BoundOidc:
    """The OIDC provider of one entry of one portal version (discovery and keys cached)."""

    entry: AuthProvider
    options: OidcOptions
    metadata: ProviderMetadata
    backchannel: Backchannel
    kind: ProviderKind = "redirect"

    def csrf_exempt(self, name: str) -> bool:
        """Never: the provider redirects the browser back with a GET; `state` protects it."""
        return False

    def redirect_uri(self, flow: FlowContext) -> str:
        """The redirect URI sent to the provider — registered there, matched exactly."""
        return self.options.redirect_uri or flow.url(CALLBACK)

    def begin(self, flow: FlowContext) -> Response:
        """Send the browser to the authorization endpoint (the core shows the hand-off page);
        state, nonce and the PKCE verifier are kept in the flow. A provider that cannot be
        discovered refuses at once (the core audits the reason)."""
        try:
            discovery = self.metadata.discovery()
        except FetchFailed as exc:
            raise LoginRefused(f"discovery_{exc.reason}") from exc
        endpoint = discovery.authorization_endpoint
        if urlsplit(endpoint).scheme not in ("https", "http"):
            raise LoginRefused("discovery_bad_authorization_endpoint")
        verifier = generate_token(64)  # RFC 7636 §4.1: 43–128 unreserved characters
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        redirect_uri = self.redirect_uri(flow)
        flow.data = {
            "state": state,
            "nonce": nonce,
            "verifier": verifier,
            "redirect_uri": redirect_uri,
        }
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.options.client_id,
                "redirect_uri": redirect_uri,
                "scope": " ".join(self.options.scopes),
                "state": state,
                "nonce": nonce,
                "code_challenge": create_s256_code_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if urlsplit(endpoint).query else "?"
        return redirect(f"{endpoint}{separator}{query}", 303)

    def step(self, name: str, flow: FlowContext) -> Response | ExternalIdentity:
        """The callback: check state, exchange the code, verify the ID token."""
        if name != CALLBACK:
            raise NotFound()
        if not flow.active or not isinstance(flow.data.get("state"), str):
            raise LoginRefused("flow_not_started")
        args = request.args
        if not hmac.compare_digest(args.get("state", "").encode(), flow.data["state"].encode()):
            raise LoginRefused("state_mismatch")
        if args.get("error"):
            raise LoginRefused(f"idp_error_{safe_code(args['error'])}")
        code = args.get("code", "")
        if not code:
            raise LoginRefused("no_code")
        discovery = self._discovery()
        tokens = self._exchange(discovery, code, flow.data)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise LoginRefused("no_id_token")
        access_token = tokens.get("access_token")
        access = access_token if isinstance(access_token, str) and access_token else None
        claims = verify_id_token(
            id_token, self.metadata, issuer=self.options.issuer,
            client_id=self.options.client_id, nonce=str(flow.data["nonce"]),
            access_token=access,
        )  # fmt: skip
        if discovery.userinfo_endpoint and access:
            claims = merge_userinfo(claims, self._userinfo(discovery, access, claims["sub"]))
        return to_identity(self.entry.name, self.options, claims)

    def _discovery(self) -> Discovery:
        try:
            return self.metadata.discovery()
        except FetchFailed as exc:
            raise LoginRefused(f"discovery_{exc.reason}") from None

    def _exchange(self, discovery: Discovery, code: str, data: dict[str, Any]) -> dict[str, Any]:
        """POST the code to the token endpoint (client_secret_basic, RFC 6749 §2.3.1)."""
        pair = (
            f"{quote(self.options.client_id, safe='')}:{quote(self.options.client_secret, safe='')}"
        )
        basic = base64.b64encode(pair.encode("utf-8")).decode("ascii")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": str(data["redirect_uri"]),
            "code_verifier": str(data["verifier"]),
        }
        try:
            return self.backchannel.post_form(
                discovery.token_endpoint, form, {"Authorization": f"Basic {basic}"}
            )
        except FetchFailed as exc:
            raise LoginRefused(f"token_{exc.reason}") from None

    def _userinfo(self, discovery: Discovery, access_token: str, subject: str) -> dict[str, Any]:
        """The userinfo answer; its `sub` must be the ID token's (OIDC Core §5.3.2)."""
        assert discovery.userinfo_endpoint is not None
        try:
            info = self.backchannel.get_json(
                discovery.userinfo_endpoint, {"Authorization": f"Bearer {access_token}"}
            )
        except FetchFailed as exc:
            raise LoginRefused(f"userinfo_{exc.reason}") from None
        if info.get("sub") != subject:
            raise LoginRefused("userinfo_sub_mismatch")
        return info


class OidcProviderType:
    """OpenID Connect single sign-on (`type: oidc`)."""

    name = "oidc"
    kind: ProviderKind = "redirect"

    def bind(self, entry: AuthProvider, ctx: BindContext) -> BoundOidc:
        """Bind without network access: discovery and keys are fetched at first use."""
        options = OidcOptions.of(entry.options)
        policy = OutboundPolicy.parse(ctx.env.get("PORTALIS_OUTBOUND_ALLOW"))
        backchannel = Backchannel(policy)
        metadata = ProviderMetadata(backchannel, options.discovery_url, options.issuer)
        return BoundOidc(entry, options, metadata, backchannel)
