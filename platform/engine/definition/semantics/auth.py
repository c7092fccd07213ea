"""Semantic checks of the core's part of `auth:`: admin roles and what every provider entry
shares — unique names, one password provider, role maps, default roles, account mapping.

What is particular to a provider type (an LDAP entry picks one way to find users, …), its
secret options and the plugin-owned `auth:` keys are checked by their definition sections
(`semantics.sections`).
"""

from __future__ import annotations

from typing import Any

from ...problems import JsonPath
from .base import Ctx, check_role_refs, suggest

#: How `account_from` may be written.
ACCOUNT_SOURCES = ("claim:", "attribute:", "email_domain")


def check_auth(ctx: Ctx) -> None:
    """Roles named in auth settings exist; provider entries are consistent."""
    auth = ctx.data.get("auth") or {}
    check_role_refs(ctx, auth.get("admin_roles") or [], ("auth", "admin_roles"))
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
        _check_account(ctx, provider, path)


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
