"""`auth.two_factor`: the roles that must sign in with a second factor (owned by this plugin)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portalis.api import DefinitionSection, JsonPath, PortalModel, SectionContext

#: `auth.two_factor`
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "required_for": {
            "type": "array",
            "items": {"$ref": "#/$defs/role_name"},
            "description": "Roles that must use two-factor login.",
        }
    },
    "additionalProperties": False,
    "description": "Two-factor authentication.",
}


@dataclass(frozen=True, slots=True)
class TwoFactorPolicy:
    """The compiled `auth.two_factor`: roles whose users must enrol and use a factor."""

    required_for: frozenset[str] = frozenset()

    @classmethod
    def compile(cls, value: Mapping[str, Any]) -> TwoFactorPolicy:
        """The policy of one portal version."""
        return cls(frozenset(value.get("required_for") or ()))

    @classmethod
    def of(cls, model: PortalModel) -> TwoFactorPolicy:
        """The policy of `model` (nobody is required when it sets no `auth.two_factor`)."""
        found = model.auth.section("two_factor")
        return found if isinstance(found, TwoFactorPolicy) else cls()


def check_two_factor(value: Mapping[str, Any], path: JsonPath, ctx: SectionContext) -> None:
    """The roles named exist."""
    ctx.check_roles(value.get("required_for") or [], (*path, "required_for"))


TWO_FACTOR_SECTION = DefinitionSection(
    "auth",
    "two_factor",
    SCHEMA,
    "Two-factor sign-in",
    "Roles whose users must enrol an authenticator app and give a code after every sign-in "
    "(password, LDAP, SSO or invitation). Users of other roles may enrol on their own. A "
    "portal that sets it is not served where this plugin is not loaded.",
    "required_for: [agent, account_admin]",
    check_two_factor,
    TwoFactorPolicy.compile,
)
