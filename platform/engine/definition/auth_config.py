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
    """An auth provider entry: `options` are its keys besides `type` and `name` as written
    (checked by the provider type's definition section), `config` what that section compiled
    from them (a `PasswordPolicy` for the password provider; a plugin's own object, or a
    read-only mapping, for others)."""

    type: str
    name: str
    options: Mapping[str, Any] = field(default_factory=frozen_map)
    config: object = None


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """The `auth:` section.

    `sections` holds the compiled values of the `auth:` keys plugins own (`two_factor`,
    `ip_allowlist`, …), by key; a plugin reads its own with `section(name)`.
    """

    providers: tuple[AuthProvider, ...] = ()
    password: PasswordPolicy | None = None
    sections: Mapping[str, object] = field(default_factory=frozen_map)
    idle_minutes: int = 60
    absolute_hours: int = 12
    #: roles that may use the portal's admin area (/admin)
    admin_roles: frozenset[str] = frozenset()

    def section(self, name: str) -> object | None:
        """The compiled value of the plugin-owned `auth:` key `name`, or None when unset."""
        return self.sections.get(name)

    def provider(self, name: str) -> AuthProvider | None:
        """The provider entry named `name`, or None."""
        return next((p for p in self.providers if p.name == name), None)
