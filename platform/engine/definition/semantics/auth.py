"""Semantic checks of the `auth:` section: roles, provider entries, secrets, account mapping.

The JSON Schema fixes the shape of each provider entry; these checks add what a schema cannot
say: referenced roles exist, names are unique, secrets are `${ENV}` references, an LDAP entry
picks exactly one way to find users, and account assignment names a real account field.
"""

from __future__ import annotations

from typing import Any

from ...problems import JsonPath
from .base import Ctx, check_role_refs, suggest

#: Options that hold secrets; they must be written as one `${NAME}` reference.
SECRET_OPTIONS = ("client_secret", "bind_password", "private_key")
#: How `account_from` may be written.
ACCOUNT_SOURCES = ("claim:", "attribute:", "email_domain")


def check_auth(ctx: Ctx) -> None:
    """Roles named in auth settings exist; provider entries are consistent."""
    auth = ctx.data.get("auth") or {}
    two_factor = auth.get("two_factor") or {}
    check_role_refs(
        ctx, two_factor.get("required_for") or [], ("auth", "two_factor", "required_for")
    )
    check_role_refs(ctx, auth.get("admin_roles") or [], ("auth", "admin_roles"))
    for role in (auth.get("ip_allowlist") or {}).get("roles") or {}:
        if role not in ctx.roles:
            ctx.add(
                "ref-unknown-role",
                f"unknown role {role!r}",
                ("auth", "ip_allowlist", "roles", role),
                suggest(role, ctx.roles),
                key=True,
            )
    names: set[str] = set()
    passwords = 0
    for i, provider in enumerate(auth.get("providers") or []):
        if not isinstance(provider, dict):
            continue
        path: JsonPath = ("auth", "providers", i)
        pname = provider.get("name") or provider.get("type")
        if pname in names:
            ctx.add(
                "schema-value",
                f"two providers are named {pname!r}",
                path,
                "give each provider a distinct name:",
            )
        names.add(str(pname))
        if provider.get("type") == "password":
            passwords += 1
            if passwords > 1:
                ctx.add(
                    "schema-value",
                    "a portal has at most one password provider",
                    path,
                    "merge the password entries into one",
                )
        for key, role in (provider.get("role_map") or {}).items():
            if role not in ctx.roles:
                ctx.add(
                    "ref-unknown-role",
                    f"unknown role {role!r}",
                    (*path, "role_map", key),
                    suggest(role, ctx.roles),
                )
        check_role_refs(ctx, provider.get("default_roles") or [], (*path, "default_roles"))
        _check_secrets(ctx, provider, path)
        _check_account(ctx, provider, path)
        if provider.get("type") == "ldap":
            _check_ldap(ctx, provider, path)


def _check_secrets(ctx: Ctx, provider: dict[str, Any], path: JsonPath) -> None:
    for key in sorted(set(SECRET_OPTIONS) | ctx.secret_options):
        if key in provider and (*path, key) not in ctx.source.env_paths:
            ctx.add(
                "secret-literal",
                f"{key} is written into the definition",
                (*path, key),
                f"secrets never live in definition files: write {key}: "
                f'"${{{key.upper()}}}" and set that environment variable for every process',
            )


def _check_account(ctx: Ctx, provider: dict[str, Any], path: JsonPath) -> None:
    source = provider.get("account_from")
    if source is not None:
        if not isinstance(source, str) or not (
            source == "email_domain"
            or (source.startswith(ACCOUNT_SOURCES[:2]) and source.partition(":")[2].strip())
        ):
            ctx.add(
                "schema-value",
                f"account_from {source!r} is not claim:<name>, attribute:<name> or email_domain",
                (*path, "account_from"),
                "write e.g. account_from: claim:organisation, or account_from: email_domain",
            )
    match = provider.get("account_match")
    if match is not None:
        fields = ctx.fields_of("account")
        if match not in fields:
            ctx.add(
                "ref-unknown-field",
                f"account has no field {match!r}",
                (*path, "account_match"),
                suggest(str(match), fields),
            )
        elif source is None:
            ctx.add(
                "schema-value",
                "account_match needs account_from",
                (*path, "account_match"),
                "say where the value comes from, e.g. account_from: email_domain",
            )


def _check_ldap(ctx: Ctx, provider: dict[str, Any], path: JsonPath) -> None:
    url = str(provider.get("url") or "")
    if not url.startswith(("ldap://", "ldaps://")):
        ctx.add(
            "schema-value",
            f"LDAP url {url!r} must start with ldap:// or ldaps://",
            (*path, "url"),
            "write e.g. url: ldap://directory.example.org:389",
        )
    if url.startswith("ldaps://") and provider.get("start_tls"):
        ctx.add(
            "schema-value",
            "start_tls upgrades ldap:// connections; an ldaps:// URL is already encrypted",
            (*path, "start_tls"),
            "remove start_tls, or use an ldap:// URL",
        )
    template = provider.get("bind_dn_template")
    searching = provider.get("user_search_base") is not None or provider.get("user_filter")
    if template is not None and searching:
        ctx.add(
            "schema-value",
            "use either bind_dn_template (direct bind) or user_search_base/user_filter "
            "(search then bind), not both",
            (*path, "bind_dn_template"),
            "keep the one your directory needs",
        )
    elif template is None and not searching:
        ctx.add(
            "schema-missing-key",
            "an LDAP provider needs bind_dn_template, or user_search_base and user_filter",
            path,
            "direct bind: bind_dn_template: uid={username},ou=people,dc=example,dc=org",
        )
    if template is not None and "{username}" not in str(template):
        ctx.add(
            "schema-value",
            "bind_dn_template must contain {username}",
            (*path, "bind_dn_template"),
            "write e.g. uid={username},ou=people,dc=example,dc=org",
        )
    if searching:
        for key in ("user_search_base", "user_filter"):
            if not provider.get(key):
                ctx.add(
                    "schema-missing-key",
                    f"search-then-bind needs {key}",
                    path,
                    "e.g. user_search_base: ou=people,dc=example,dc=org, "
                    "user_filter: (uid={username})",
                )
        flt = str(provider.get("user_filter") or "")
        if flt and "{username}" not in flt:
            ctx.add(
                "schema-value",
                "user_filter must contain {username}",
                (*path, "user_filter"),
                "write e.g. (uid={username}); the value is escaped before it is used",
            )
    if provider.get("bind_dn") and "bind_password" not in provider:
        ctx.add(
            "schema-missing-key",
            "a service account (bind_dn) needs bind_password",
            path,
            'add bind_password: "${LDAP_BIND_PASSWORD}"',
        )
