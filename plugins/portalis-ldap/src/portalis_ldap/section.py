"""The `type: ldap` provider entry's definition section, owned by this plugin: the options'
schema, the checks a schema cannot state and the options that must be `${ENV}` references."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from portalis.api import DefinitionSection, JsonPath, SectionContext

#: The options of a `type: ldap` entry (the core adds `type`, `name` and `label`).
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "url": {"type": "string", "description": "ldap:// or ldaps:// URL of the directory."},
        "start_tls": {
            "type": "boolean",
            "description": "Upgrade ldap:// connections with StartTLS.",
        },
        "bind_dn_template": {
            "type": "string",
            "description": "Direct bind: DN with {username}, e.g. "
            "uid={username},ou=people,dc=example,dc=org.",
        },
        "bind_dn": {"type": "string", "description": "Search-then-bind: the service account DN."},
        "bind_password": {
            "type": "string",
            "description": "The service account password; use ${ENV_NAME}.",
        },
        "user_search_base": {"type": "string", "description": "Where users are searched."},
        "user_filter": {
            "type": "string",
            "description": "Filter with {username}, e.g. (uid={username}).",
        },
        "group_search_base": {
            "type": "string",
            "description": "Where groups are searched (when memberOf is not available).",
        },
        "email_attribute": {
            "type": "string",
            "description": "Attribute holding the e-mail (default mail).",
        },
        "name_attribute": {
            "type": "string",
            "description": "Attribute holding the display name (default cn).",
        },
        "role_map": {
            "type": "object",
            "additionalProperties": {"$ref": "#/$defs/role_name"},
            "description": "Group DN or name → role.",
        },
        "account_from": {
            "type": "string",
            "description": "How to assign the account: attribute:<name> or email_domain.",
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
        "allow_registration": {
            "type": "boolean",
            "description": "Create users just in time on their first login.",
        },
        "link_by_email": {
            "type": "boolean",
            "description": "Link a first login to the existing user "
            "with the same, provider-verified e-mail "
            "address (trusts the provider's e-mail "
            "verification; default false: such users "
            "link the identity from their profile).",
        },
        "group_filter": {
            "type": "string",
            "description": "Group search filter with {dn} and "
            "{username}, e.g. (member={dn}) (default: "
            "(|(member={dn})(uniqueMember={dn})(memberUid={username}))).",
        },
        "ca_file": {
            "type": "string",
            "description": "CA certificate file (PEM path) that verifies the "
            "directory's TLS certificate.",
        },
        "roles_from": {
            "type": "string",
            "description": "Attribute that lists group DNs (default "
            "memberOf); groups found by group_search_base "
            "are added.",
        },
        "timeout": {
            "type": "integer",
            "minimum": 1,
            "maximum": 60,
            "description": "Seconds to wait for the directory (default 5).",
        },
    },
    "additionalProperties": False,
    "required": ["url"],
    "description": "LDAP / Active Directory login.",
}


def check_ldap(options: Mapping[str, Any], path: JsonPath, ctx: SectionContext) -> None:
    """One way to find users (direct bind, or search then bind), `{username}` where it is
    needed, an ldap(s) URL, and a password for the service account."""
    url = str(options.get("url") or "")
    if not url.startswith(("ldap://", "ldaps://")) or not urlsplit(url).hostname:
        ctx.problem(
            "schema-value",
            f"LDAP url {url!r} must be ldap://host[:port] or ldaps://host[:port]",
            (*path, "url"),
            "write e.g. url: ldap://directory.example.org:389",
        )
    if url.startswith("ldaps://") and options.get("start_tls"):
        ctx.problem(
            "schema-value",
            "start_tls upgrades ldap:// connections; an ldaps:// URL is already encrypted",
            (*path, "start_tls"),
            "remove start_tls, or use an ldap:// URL",
        )
    template = options.get("bind_dn_template")
    searching = options.get("user_search_base") is not None or options.get("user_filter")
    if template is not None and searching:
        ctx.problem(
            "schema-value",
            "use either bind_dn_template (direct bind) or user_search_base/user_filter "
            "(search then bind), not both",
            (*path, "bind_dn_template"),
            "keep the one your directory needs",
        )
    elif template is None and not searching:
        ctx.problem(
            "schema-missing-key",
            "an LDAP provider needs bind_dn_template, or user_search_base and user_filter",
            path,
            "direct bind: bind_dn_template: uid={username},ou=people,dc=example,dc=org",
        )
    if template is not None and "{username}" not in str(template):
        ctx.problem(
            "schema-value",
            "bind_dn_template must contain {username}",
            (*path, "bind_dn_template"),
            "write e.g. uid={username},ou=people,dc=example,dc=org",
        )
    if searching:
        for key in ("user_search_base", "user_filter"):
            if not options.get(key):
                ctx.problem(
                    "schema-missing-key",
                    f"search-then-bind needs {key}",
                    path,
                    "e.g. user_search_base: ou=people,dc=example,dc=org, "
                    "user_filter: (uid={username})",
                )
        flt = str(options.get("user_filter") or "")
        if flt and "{username}" not in flt:
            ctx.problem(
                "schema-value",
                "user_filter must contain {username}",
                (*path, "user_filter"),
                "write e.g. (uid={username}); the value is escaped before it is used",
            )
    if options.get("bind_dn") and "bind_password" not in options:
        ctx.problem(
            "schema-missing-key",
            "a service account (bind_dn) needs bind_password",
            path,
            'add bind_password: "${LDAP_BIND_PASSWORD}"',
        )


LDAP_SECTION = DefinitionSection(
    "provider",
    "ldap",
    SCHEMA,
    "LDAP",
    "Sign-in with a directory user name and password (LDAP or Active Directory): direct bind or search-then-bind over ldaps:// or StartTLS, groups mapped to roles, users provisioned on their first sign-in.",
    'name: corp\nurl: ldaps://directory.example.org\nuser_search_base: ou=people,dc=example,dc=org\nuser_filter: (uid={username})\nbind_dn: cn=portal,ou=services,dc=example,dc=org\nbind_password: "${LDAP_BIND_PASSWORD}"\nrole_map: {"cn=support,ou=groups,dc=example,dc=org": agent}',
    check_ldap,
    secret_options=("bind_password",),
)
