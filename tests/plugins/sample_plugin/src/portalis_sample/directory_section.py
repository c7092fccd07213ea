"""The `type: sample_directory` provider entry's definition section: a short list of users
with peppered password hashes, written in the definition.

The schema says the shapes; the check says what a schema cannot: user names and e-mail
addresses are unique (case-insensitively) and every hash is a well-formed PBKDF2 hash with
enough iterations. `pepper` is a secret option (a `${ENV}` reference). The compile step
makes the `Directory` the provider type binds; the keys every provider shares (`role_map`,
`default_roles`, `allow_registration`, `link_by_email`, `account_from`, `account_match`)
are read and checked by the core.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portalis.api import DefinitionSection, JsonPath, SectionContext

from .passwords import PasswordHash, parse_hash

_ROLES = {"type": "array", "items": {"$ref": "#/$defs/role_name"}}

#: The options of a `type: sample_directory` entry (the core adds `type`, `name`, `label`).
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "pepper": {
            "type": "string",
            "minLength": 1,
            "description": "The secret every password is peppered with; write ${ENV_NAME}.",
        },
        "users": {
            "type": "array",
            "minItems": 1,
            "maxItems": 1000,
            "description": "The directory's users.",
            "items": {
                "type": "object",
                "properties": {
                    "username": {
                        "type": "string",
                        "pattern": "^[a-z][a-z0-9._-]{0,63}$",
                        "description": "What the user types (lower case).",
                    },
                    "password_hash": {
                        "type": "string",
                        "description": "pbkdf2_sha256$<iterations>$<salt>$<digest> "
                        "(python -m portalis_sample.passwords).",
                    },
                    "email": {"type": "string", "maxLength": 254, "pattern": "^[^@\\s]+@[^@\\s]+$"},
                    "name": {"type": "string", "maxLength": 200},
                    "groups": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Groups matched against role_map.",
                    },
                    "account": {
                        "type": "string",
                        "maxLength": 200,
                        "description": "The claim `account` (for account_from: claim:account).",
                    },
                },
                "required": ["username", "password_hash", "email"],
                "additionalProperties": False,
            },
        },
        "role_map": {
            "type": "object",
            "additionalProperties": {"$ref": "#/$defs/role_name"},
            "description": "Group → role.",
        },
        "default_roles": {**_ROLES, "description": "Roles every provisioned user gets."},
        "allow_registration": {
            "type": "boolean",
            "description": "Create users just in time on their first sign-in.",
        },
        "link_by_email": {
            "type": "boolean",
            "description": "Link a first sign-in to the existing user with the same e-mail.",
        },
        "account_from": {
            "type": "string",
            "description": "How to find the account: email_domain or claim:<name>.",
        },
        "account_match": {
            "type": "string",
            "description": "The account field account_from is compared with (default name).",
        },
    },
    "required": ["pepper", "users"],
    "additionalProperties": False,
    "description": "Sign-in against a list of users in the definition (sample plugin).",
}


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """One user of the directory."""

    username: str
    password: PasswordHash
    email: str
    name: str | None
    groups: tuple[str, ...]
    account: str | None = None


@dataclass(frozen=True, slots=True)
class Directory:
    """The compiled entry: its pepper and users by user name."""

    pepper: str
    users: Mapping[str, DirectoryUser]


def check_directory(options: Mapping[str, Any], path: JsonPath, ctx: SectionContext) -> None:
    """Unique user names and addresses; every hash well-formed."""
    seen: dict[str, set[str]] = {"username": set(), "email": set()}
    for i, user in enumerate(options["users"]):
        where: JsonPath = (*path, "users", i)
        for key, taken in seen.items():
            value = str(user[key]).lower()
            if value in taken:
                ctx.problem(
                    "schema-value",
                    f"two users have the {key} {user[key]!r}",
                    (*where, key),
                    f"give every user of the directory a distinct {key}",
                )
            taken.add(value)
        try:
            parse_hash(user["password_hash"])
        except ValueError as exc:
            ctx.problem(
                "schema-format",
                f"the password hash of {user['username']!r} is unusable: {exc}",
                (*where, "password_hash"),
                "make one with: python -m portalis_sample.passwords",
            )


def compile_directory(options: Mapping[str, Any]) -> Directory:
    """The `Directory` the provider binds (the check has parsed every hash already)."""
    users = {
        user["username"]: DirectoryUser(
            user["username"],
            parse_hash(user["password_hash"]),
            user["email"],
            user.get("name"),
            tuple(user.get("groups") or ()),
            user.get("account"),
        )
        for user in options["users"]
    }
    return Directory(options["pepper"], users)


DIRECTORY_SECTION = DefinitionSection(
    "provider",
    "sample_directory",
    SCHEMA,
    "Sample directory",
    "Sign-in with a user name and password checked against a short list of users written "
    "in the definition, with peppered PBKDF2 hashes; groups map to roles and users are "
    "provisioned on their first sign-in like with any directory.",
    'name: staff\nlabel: {en: Staff sign-in}\npepper: "${SAMPLE_DIRECTORY_PEPPER}"\n'
    "users:\n  - username: sam\n    email: sam@support.test\n"
    '    password_hash: "pbkdf2_sha256$600000$…$…"\n    groups: [support]\n'
    "  - username: bob\n    email: bob@acme.test\n    account: C-1001\n"
    '    password_hash: "pbkdf2_sha256$600000$…$…"\n'
    "role_map: {support: agent}\nallow_registration: true\n"
    "account_from: claim:account\naccount_match: customer_number",
    check_directory,
    compile_directory,
    secret_options=("pepper",),
)
