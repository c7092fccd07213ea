"""The auth provider protocol: what a login plugin (password, OIDC, SAML, LDAP, …) implements.

A *provider type* comes from the `portalis_auth_provider_types` hook; it is bound once per
compiled portal version and provider entry (`auth.providers[i]`) into a *provider*, which the
login page and the flow endpoint `/auth/<name>/<step>` drive. Providers never sign anyone in
themselves: they return an `ExternalIdentity`, and the core (`auth.external`) maps it to a
user, an account and roles, links or provisions the user, asks the second factor and starts
the session. So every provider gets the same rules: identities bound by (issuer, subject),
refusals audited, 2FA enforced, sessions rotated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeGuard

import pluggy
import sqlalchemy as sa

from portalis.engine.definition.auth_config import AuthProvider
from portalis.engine.definition.model import PortalModel

if TYPE_CHECKING:
    from werkzeug.wrappers import Response

    from .flows import FlowContext

#: How a provider meets the user: a user-name/password form, or a redirect to an IdP.
ProviderKind = Literal["form", "redirect"]


@dataclass(frozen=True, slots=True)
class ExternalIdentity:
    """Who an external provider says signed in (already verified by the provider).

    `issuer` and `subject` bind the identity (ASVS 6.8.1): an OIDC `iss`/`sub`, a SAML IdP
    entity id and NameID, an LDAP server URL and entry DN. `claims` are what the provider
    received (shown by the admin's test login; `account_from: claim:<name>` reads them) and
    `groups` the values matched against the entry's `role_map`.
    """

    provider: str
    issuer: str
    subject: str
    email: str | None = None
    email_verified: bool = False
    name: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)
    groups: tuple[str, ...] = ()


class LoginRefused(Exception):
    """A provider refused a login. `message` is shown to the user (translated by the core
    when it is one of the core's messages), `reason` goes to the audit log only."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class BindContext:
    """What a provider type may use when it binds an entry of one portal version."""

    #: the portal's slug
    slug: str
    #: the compiled definition (roles, locales, entities)
    model: PortalModel
    #: the application's database engine (for the provider's own tables)
    engine: sa.Engine
    #: the settings' environment (PORTALIS_* variables, PORTALIS_OUTBOUND_ALLOW, …)
    env: Mapping[str, str]
    #: where portals are served (PORTALIS_BASE_URL, "" when unset): absolute callback URLs
    base_url: str
    #: the definition's folder is not available at serve time; files the provider needs
    #: (e.g. SAML IdP metadata) are read from the deployed bundle through this mapping of
    #: bundle-relative path → text
    files: Mapping[str, str]


class Provider(Protocol):
    """A provider bound to one entry of one portal version.

    Form providers (`kind == "form"`) implement `authenticate`; redirect providers
    (`kind == "redirect"`) implement `begin`, `step` and `csrf_exempt`. The login page's
    button or heading is labelled from the entry (its `label` option, else its name), not by
    the provider.
    """

    @property
    def entry(self) -> AuthProvider:
        """The definition's provider entry it was bound for."""
        ...

    @property
    def kind(self) -> ProviderKind:
        """`"form"` or `"redirect"`: which of the protocols below it follows."""
        ...


class FormProvider(Provider, Protocol):
    """A provider that checks a user name and password (LDAP, …)."""

    def authenticate(self, username: str, password: str) -> ExternalIdentity:
        """The identity for these credentials; raises `LoginRefused` otherwise (an empty
        password must be refused before any network call)."""
        ...


class RedirectProvider(Provider, Protocol):
    """A provider that sends the browser to an identity provider (OIDC, SAML, …)."""

    def begin(self, flow: FlowContext) -> Response:
        """The redirect (or auto-submitting form) to the identity provider. Store what the
        callback must check (state, nonce, PKCE verifier, request id) in `flow.data`."""
        ...

    def step(self, name: str, flow: FlowContext) -> Response | ExternalIdentity:
        """Handle `/auth/<entry>/<name>` (callback, acs, metadata, …): a response, or the
        verified identity when the flow is complete. Raise `LoginRefused` on any failed
        check; the core answers with a login page that says sign-in failed."""
        ...

    def csrf_exempt(self, name: str) -> bool:
        """True for steps an identity provider POSTs to cross-site (SAML ACS); such a step
        must authenticate its input itself (signatures)."""
        ...


class ProviderType(Protocol):
    """A provider type from the `portalis_auth_provider_types` hook: how its entries sign
    users in. The entries' options are its definition section's (place `"provider"`, same
    name): schema, checks, secret options and the compiled `entry.config`."""

    @property
    def name(self) -> str:
        """The `type:` of the provider entries it binds."""
        ...

    @property
    def kind(self) -> ProviderKind:
        """How its providers meet the user: a login form, or a redirect."""
        ...

    def bind(self, entry: AuthProvider, ctx: BindContext) -> Provider:
        """The provider for `entry` of one portal version (raise ValueError with a message
        when the entry cannot be used, e.g. unreadable metadata)."""
        ...


def is_form(provider: Provider) -> TypeGuard[FormProvider]:
    """True for a form provider that checks credentials itself (the built-in password
    provider is a form provider too, but the core's login form does its work)."""
    return provider.kind == "form" and hasattr(provider, "authenticate")


def is_redirect(provider: Provider) -> TypeGuard[RedirectProvider]:
    """True for a provider whose kind is `"redirect"` (it implements `begin` and `step`)."""
    return provider.kind == "redirect"


class ProviderTypes:
    """Provider types by name, collected once from the plugins."""

    def __init__(self, types: Iterable[ProviderType]) -> None:
        self._types: dict[str, ProviderType] = {}
        for ptype in types:
            self._types[ptype.name] = ptype

    @classmethod
    def from_plugins(cls, pm: pluggy.PluginManager) -> ProviderTypes:
        """Every plugin's provider types (later registrations override by name)."""
        results: list[list[ProviderType]] = pm.hook.portalis_auth_provider_types()
        return cls(ptype for result in reversed(results) for ptype in result)

    def get(self, name: str) -> ProviderType | None:
        """The type named `name`, or None."""
        return self._types.get(name)
