"""The compiled `auth:` section: provider entries, the password policy, sessions, admin roles
and the compiled values of the plugin-owned `auth:` keys (`sections`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .values import frozen_map


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """Password rules of the built-in password provider."""

    min_length: int = 12
    max_age_days: int | None = None
    history: int = 0
    lockout_after: int = 10
    self_registration: bool = False


@dataclass(frozen=True, slots=True)
class AuthProvider:
    """An auth provider entry; `options` are its other keys, checked by the definition
    schema (the provider type's `options_schema`, or the base schema for the types it
    describes) and the auth checks of the validator before they get here."""

    type: str
    name: str
    options: Mapping[str, Any] = field(default_factory=frozen_map)


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """The `auth:` section."""

    providers: tuple[AuthProvider, ...] = ()
    password: PasswordPolicy | None = None
    two_factor_roles: frozenset[str] = frozenset()
    ip_portal: tuple[str, ...] = ()
    ip_roles: Mapping[str, tuple[str, ...]] = field(default_factory=frozen_map)
    #: networks allowed into the admin area (`/admin`, the builder); empty: no extra limit
    ip_builder: tuple[str, ...] = ()
    idle_minutes: int = 60
    absolute_hours: int = 12
    #: roles that may use the portal's admin area (/admin)
    admin_roles: frozenset[str] = frozenset()

    def provider(self, name: str) -> AuthProvider | None:
        """The provider entry named `name`, or None."""
        return next((p for p in self.providers if p.name == name), None)
