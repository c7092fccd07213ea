"""The built-in password provider's definition section: its options and password policy.

The password provider is a provider type like the ones plugins add; its section compiles the
entry's options into the `PasswordPolicy` the sign-in, registration and reset flows read.
"""

from __future__ import annotations

from typing import Any

from .auth_config import PasswordPolicy
from .sections import DefinitionSection

#: The options of `{type: password}` (the core adds `type`, `name` and `label`).
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "self_registration": {
            "type": "boolean",
            "description": "Whether visitors may register themselves.",
        },
        "policy": {
            "type": "object",
            "properties": {
                "min_length": {
                    "type": "integer",
                    "description": "Minimum password length (8–128).",
                    "minimum": 8,
                    "maximum": 128,
                },
                "max_age_days": {
                    "type": "integer",
                    "description": "Days after which a password must be changed.",
                    "minimum": 1,
                    "maximum": 3650,
                },
                "history": {
                    "type": "integer",
                    "description": "How many previous passwords may not be reused.",
                    "minimum": 0,
                    "maximum": 24,
                },
                "lockout_after": {
                    "type": "integer",
                    "description": "Failed logins after which the account is throttled.",
                    "minimum": 3,
                    "maximum": 100,
                },
            },
            "additionalProperties": False,
            "description": "Password rules.",
        },
    },
    "additionalProperties": False,
    "description": "Built-in e-mail + password login.",
}


def compile_password(options: dict[str, Any]) -> PasswordPolicy:
    """The entry's policy (defaults where the definition says nothing)."""
    policy = options.get("policy") or {}
    return PasswordPolicy(
        min_length=int(policy.get("min_length", 12)),
        max_age_days=policy.get("max_age_days"),
        history=int(policy.get("history", 0)),
        lockout_after=int(policy.get("lockout_after", 10)),
        self_registration=bool(options.get("self_registration", False)),
    )


PASSWORD_SECTION = DefinitionSection(
    "provider",
    "password",
    SCHEMA,
    "Password",
    "E-mail and password sign-in with the portal's password policy, lockout after repeated "
    "failures and, when self_registration is on, sign-up with e-mail verification.",
    "self_registration: true\npolicy: {min_length: 14, history: 5, max_age_days: 365}",
    compile=compile_password,
)
