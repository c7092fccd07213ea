"""portalis-ldap: sign in against an LDAP directory or Active Directory (`type: ldap`).

Registered through the `portalis.plugins` entry point `ldap`. The plugin only verifies
credentials and reads what the directory says about the user; the core maps the identity to
a user, account and roles (`portalis.runtime.auth.external`), asks the second factor and
starts the session.
"""

from __future__ import annotations

from portalis.api import DefinitionSection, hookimpl
from portalis.web import ProviderType

from .options import LdapOptions, parse_options
from .provider import LdapProvider, LdapProviderType
from .section import LDAP_SECTION

__all__ = ["LdapOptions", "LdapProvider", "LdapProviderType", "parse_options"]


@hookimpl
def portalis_definition_sections() -> list[DefinitionSection]:
    """The options of `type: ldap` entries."""
    return [LDAP_SECTION]


@hookimpl
def portalis_auth_provider_types() -> list[ProviderType]:
    """The `ldap` provider type."""
    return [LdapProviderType()]
