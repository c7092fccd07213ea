"""The `type: saml` provider entry's definition section, owned by this plugin: the options'
schema and the options that must be `${ENV}` references."""

from __future__ import annotations

from typing import Any

from portalis.api import DefinitionSection

#: The options of a `type: saml` entry (the core adds `type`, `name` and `label`).
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "idp_metadata": {
            "type": "string",
            "description": "IdP metadata XML file in the definition folder, or its URL.",
        },
        "entity_id": {"type": "string", "description": "This service provider's entity id."},
        "certificate": {"type": "string", "description": "SP certificate (PEM); use ${ENV_NAME}."},
        "private_key": {"type": "string", "description": "SP private key (PEM); use ${ENV_NAME}."},
        "roles_from": {"type": "string", "description": "Attribute that carries groups/roles."},
        "role_map": {
            "type": "object",
            "additionalProperties": {"$ref": "#/$defs/role_name"},
            "description": "Attribute value → role.",
        },
        "account_from": {
            "type": "string",
            "description": "How to assign the account: attribute:<name> or email_domain.",
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
        "email_attribute": {
            "type": "string",
            "description": "Attribute with the e-mail address "
            "(default mail, then the NameID when it is "
            "an e-mail address).",
        },
        "name_attribute": {
            "type": "string",
            "description": "Attribute with the display name (default displayName, then cn).",
        },
    },
    "additionalProperties": False,
    "required": ["idp_metadata"],
    "description": "SAML 2.0 single sign-on.",
}


SAML_SECTION = DefinitionSection(
    "provider",
    "saml",
    SCHEMA,
    "SAML 2.0",
    "Single sign-on with a SAML 2.0 identity provider (Web Browser SSO, signed assertions, replay protection); attributes mapped to roles and an account.",
    'name: corp\nidp_metadata: idp-metadata.xml\nentity_id: https://portal.example.org/saml\ncertificate: sp-cert.pem\nprivate_key: "${SAML_SP_KEY}"',
    None,
    secret_options=("private_key",),
)
