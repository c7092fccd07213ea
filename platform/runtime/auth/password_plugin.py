"""The built-in password provider, registered as a default plugin like any other provider.

Its form is the core's login form (`auth.login.password_login`), which keeps the
enumeration-safe answers, throttling and password policy in one place; the bound provider
only tells the login page that the form is there.
"""

from __future__ import annotations

from dataclasses import dataclass

from portalis.engine.definition.auth_config import AuthProvider
from portalis.engine.plugins import hookimpl

from .providers import BindContext, ProviderKind, ProviderType


@dataclass(frozen=True, slots=True)
class BoundPassword:
    """The password provider of one portal version."""

    entry: AuthProvider
    kind: ProviderKind = "form"


class PasswordProvider:
    """E-mail + password login (policy from the definition's password provider entry)."""

    name = "password"
    kind: ProviderKind = "form"

    def bind(self, entry: AuthProvider, ctx: BindContext) -> BoundPassword:
        """The password provider needs nothing bound: the policy is in the model."""
        return BoundPassword(entry)


@hookimpl
def portalis_auth_provider_types() -> list[ProviderType]:
    """The password provider type."""
    return [PasswordProvider()]
