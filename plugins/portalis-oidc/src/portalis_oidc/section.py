"""The `type: oidc` provider entry's definition section, owned by this plugin: the options'
schema and the options that must be `${ENV}` references."""

from __future__ import annotations

from typing import Any

from portalis.api import DefinitionSection

#: The options of a `type: oidc` entry (the core adds `type`, `name` and `label`).
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "issuer": {
            "type": "string",
            "description": "The OpenID Connect issuer URL (discovery at "
            "/.well-known/openid-configuration).",
        },
        "client_id": {"type": "string", "description": "The client id registered at the provider."},
        "client_secret": {"type": "string", "description": "The client secret; use ${ENV_NAME}."},
        "scopes": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Scopes to request (openid is always requested).",
        },
        "roles_from": {"type": "string", "description": "The claim that carries groups/roles."},
        "role_map": {
            "type": "object",
            "additionalProperties": {"$ref": "#/$defs/role_name"},
            "description": "Claim value → role.",
        },
        "account_from": {
            "type": "string",
            "description": "How to assign the account: claim:<name> or email_domain.",
        },
        "allow_registration": {
            "type": "boolean",
            "description": "Create users just in time on first login.",
        },
        "account_match": {
            "type": "string",
            "description": "The account field the value of account_from "
            "is compared with (default name), e.g. a "
            "domain field for email_domain.",
        },
        "default_roles": {
            "type": "array",
            "items": {"$ref": "#/$defs/role_name"},
            "description": "Roles every user provisioned by this "
            "provider gets (besides the mapped ones).",
        },
        "link_by_email": {
            "type": "boolean",
            "description": "Link a first login to the existing user "
            "with the same, provider-verified e-mail "
            "address (trusts the provider's e-mail "
            "verification; default false: such users "
            "link the identity from their profile).",
        },
        "redirect_uri": {
            "type": "string",
            "description": "The redirect URI registered at the provider, "
            "matched exactly (default: "
            "<PORTALIS_BASE_URL>/<portal>/auth/<name>/callback).",
        },
        "email_claim": {
            "type": "string",
            "description": "Claim with the e-mail address (default email).",
        },
        "name_claim": {
            "type": "string",
            "description": "Claim with the display name (default name).",
        },
    },
    "additionalProperties": False,
    "required": ["issuer", "client_id"],
    "description": "OpenID Connect single sign-on.",
}


OIDC_SECTION = DefinitionSection(
    "provider",
    "oidc",
    SCHEMA,
    "OpenID Connect",
    "Single sign-on with an OpenID Connect provider (authorization code flow with PKCE, signed ID tokens); claims mapped to roles and an account.",
    'name: corp\nissuer: https://login.example.org\nclient_id: portal\nclient_secret: "${OIDC_CLIENT_SECRET}"\nrole_map: {support: agent}',
    None,
    secret_options=("client_secret",),
)
