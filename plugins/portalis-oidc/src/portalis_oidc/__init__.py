"""portalis-oidc: OpenID Connect single sign-on for Portalis portals.

Registers the auth provider type `oidc` (a redirect provider): authorization code flow with
PKCE (S256), `state` and `nonce`, client_secret_basic at the token endpoint, ID tokens
verified against the provider's published keys (asymmetric algorithms only), discovery and
keys fetched through the platform's outbound (SSRF) policy. The verified identity goes to the
core, which binds it by (issuer, subject), provisions, maps accounts and roles, asks the
second factor and starts the session.
"""

from __future__ import annotations

from portalis.api import DefinitionSection, hookimpl
from portalis.web import ProviderType

from .provider import BoundOidc, OidcProviderType
from .section import OIDC_SECTION

__all__ = ["BoundOidc", "OidcProviderType", "portalis_auth_provider_types"]


@hookimpl
def portalis_definition_sections() -> list[DefinitionSection]:
    """The options of `type: oidc` entries."""
    return [OIDC_SECTION]


@hookimpl
def portalis_auth_provider_types() -> list[ProviderType]:
    """The `oidc` provider type."""
    return [OidcProviderType()]
