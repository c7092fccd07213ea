"""The `saml` provider type and the provider it binds for one entry of one portal version.

Steps under `/auth/<name>/`:

- `metadata` (GET, public): this service provider's metadata XML.
- `start` → `begin`: an AuthnRequest over HTTP-Redirect (signed when a key is set); its ID
  and a random RelayState are kept in the flow.
- `acs` (POST from the IdP, cross-site, CSRF-exempt): the session cookie may be missing
  (SameSite=Lax), so nothing is checked or trusted here: the answer is parked server-side
  and the browser is sent on to `finish` with a single-use ticket.
- `finish` (GET, same-site): the parked answer is checked against *this* session's flow —
  RelayState, signature, audience, recipient, validity, InResponseTo, replay — and turned
  into an `ExternalIdentity`.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any

import sqlalchemy as sa
from flask import abort, redirect, request
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.metadata import entity_descriptor
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256
from werkzeug.wrappers import Response

from portalis.api import AuthProvider
from portalis.web import BindContext, ExternalIdentity, FlowContext, LoginRefused, ProviderKind

from .checks import check_assertion, expiry
from .identity import to_identity
from .idp_metadata import load_idp_metadata
from .keys import write_key_files
from .replay import remember_assertion
from .sp_config import ClientCache, SpUrls, idp_entity_id

log = logging.getLogger("portalis.saml")
#: A SAMLResponse larger than this is refused before parsing (XML bombs, memory).
MAX_RESPONSE_CHARS = 512 * 1024


class BoundSaml:
    """The SAML service provider of one provider entry of one portal version."""

    kind: ProviderKind = "redirect"

    def __init__(self, entry: AuthProvider, ctx: BindContext) -> None:
        self.entry = entry
        self.slug = ctx.slug
        self.engine: sa.Engine = ctx.engine
        options = entry.options
        source = str(options.get("idp_metadata") or "")
        if not source:
            raise ValueError(f"SAML provider {entry.name!r} needs idp_metadata")
        self.idp_metadata = load_idp_metadata(source, ctx.files, ctx.env)
        self.idp_entity_id, self.idp_sso_url = idp_entity_id(self.idp_metadata)
        self.keys = write_key_files(self, options.get("certificate"), options.get("private_key"))
        self.clients = ClientCache(self.idp_metadata, self.keys)

    # -- URLs --------------------------------------------------------------------------------
    def urls(self, flow: FlowContext) -> SpUrls:
        """Entity id (the entry's, else the metadata URL) and ACS URL for this request."""
        entity_id = str(self.entry.options.get("entity_id") or flow.url("metadata"))
        return SpUrls(entity_id, flow.url("acs"))

    # -- the protocol ------------------------------------------------------------------------
    def csrf_exempt(self, name: str) -> bool:
        """Only the ACS: the IdP POSTs there cross-site; the response's signature and the
        flow checks at `finish` authenticate it."""
        return name == "acs"

    def begin(self, flow: FlowContext) -> Response:
        """Send the browser to the IdP with an AuthnRequest; remember its ID and RelayState."""
        urls = self.urls(flow)
        client = self.clients.client(urls)
        relay_state = secrets.token_urlsafe(32)
        signing: dict[str, Any] = {}
        if self.keys.signing:
            signing = {"sign": True, "sigalg": SIG_RSA_SHA256, "digest_alg": DIGEST_SHA256}
        request_id, info = client.prepare_for_authenticate(
            entityid=self.idp_entity_id,
            relay_state=relay_state,
            binding=BINDING_HTTP_REDIRECT,
            response_binding=BINDING_HTTP_POST,
            **signing,
        )
        location = dict(info["headers"])["Location"]
        flow.data.update(
            request_id=str(request_id),
            relay_state=relay_state,
            entity_id=urls.entity_id,
            acs_url=urls.acs_url,
        )
        return redirect(location, 303)

    def step(self, name: str, flow: FlowContext) -> Response | ExternalIdentity:
        """`metadata`, `acs` and `finish` (module docstring); anything else is 404."""
        if name == "metadata":
            return self.metadata(flow)
        if name == "acs":
            return self.acs(flow)
        if name == "finish":
            return self.finish(flow)
        abort(404)

    def metadata(self, flow: FlowContext) -> Response:
        """This SP's metadata: entity id, ACS (HTTP-POST), signing certificate, flags."""
        if request.method != "GET":
            abort(405)
        client = self.clients.client(self.urls(flow))
        xml = str(entity_descriptor(client.config))
        return Response(xml, 200, mimetype="application/samlmetadata+xml")

    def acs(self, flow: FlowContext) -> Response:
        """Park the IdP's answer (nothing is trusted yet) and continue same-site."""
        if request.method != "POST":
            abort(405)
        saml_response = request.form.get("SAMLResponse", "")
        relay_state = request.form.get("RelayState", "")
        if not saml_response or len(saml_response) > MAX_RESPONSE_CHARS:
            raise LoginRefused("bad_response")
        ticket = flow.park({"SAMLResponse": saml_response, "RelayState": relay_state[:200]})
        return redirect(f"{flow.path('finish')}?ticket={ticket}", 303)

    def finish(self, flow: FlowContext) -> ExternalIdentity:
        """Verify the parked answer against this session's flow; the identity."""
        payload = flow.unpark(request.args.get("ticket", "")[:100])
        if payload is None:
            raise LoginRefused("unknown_ticket")
        if not flow.active or "request_id" not in flow.data:
            raise LoginRefused("flow_not_started")
        if not hmac.compare_digest(
            str(payload.get("RelayState") or ""), str(flow.data.get("relay_state") or "")
        ):
            raise LoginRefused("relay_state_mismatch")
        request_id = str(flow.data["request_id"])
        urls = SpUrls(str(flow.data["entity_id"]), str(flow.data["acs_url"]))
        client = self.clients.client(urls)
        try:
            parsed = client.parse_authn_request_response(
                payload["SAMLResponse"], BINDING_HTTP_POST, outstanding={request_id: "portalis"}
            )
        except Exception as exc:  # pysaml2 raises many unrelated types: every one refuses
            log.info("SAML response of %s/%s refused: %r", self.slug, self.entry.name, exc)
            raise LoginRefused(f"invalid_response:{type(exc).__name__}") from None
        if parsed is None or parsed.assertion is None:
            raise LoginRefused("invalid_response")
        if parsed.issuer() != self.idp_entity_id:
            raise LoginRefused("wrong_issuer")
        assertion = parsed.assertion
        check_assertion(parsed.response, assertion, urls, request_id)
        if not assertion.id or not remember_assertion(
            self.engine, self.slug, self.entry.name, str(assertion.id), expiry(assertion)
        ):
            raise LoginRefused("replayed")
        return to_identity(
            self.entry.name, self.idp_entity_id, assertion, parsed.ava, self.entry.options
        )


class SamlProviderType:
    """SAML 2.0 single sign-on (Web Browser SSO profile, SP side)."""

    name = "saml"
    kind: ProviderKind = "redirect"

    def bind(self, entry: AuthProvider, ctx: BindContext) -> BoundSaml:
        """Read the IdP metadata and write the SP key files (ValueError when unusable)."""
        return BoundSaml(entry, ctx)
