"""portalis-saml: SAML 2.0 single sign-on for Portalis portals (a `saml` auth provider).

The plugin is the service provider side of the Web Browser SSO profile, built on pysaml2 and
xmlsec1: HTTP-Redirect AuthnRequests (signed when the entry has a key), HTTP-POST responses
with signed assertions, and a table of used assertion ids against replays. It returns a
verified `ExternalIdentity`; the core maps it to a user, account and roles.
"""

from __future__ import annotations

import sqlalchemy as sa

from portalis.api import DefinitionSection, hookimpl
from portalis.web import ProviderType

from .provider import BoundSaml, SamlProviderType
from .replay import saml_metadata, used_assertions
from .section import SAML_SECTION

__all__ = ["BoundSaml", "SamlProviderType", "saml_metadata", "used_assertions"]


@hookimpl
def portalis_definition_sections() -> list[DefinitionSection]:
    """The options of `type: saml` entries."""
    return [SAML_SECTION]


@hookimpl
def portalis_auth_provider_types() -> list[ProviderType]:
    """The `saml` provider type."""
    return [SamlProviderType()]


@hookimpl
def portalis_runtime_tables() -> list[sa.MetaData]:
    """The used-assertion table (replay prevention)."""
    return [saml_metadata]
