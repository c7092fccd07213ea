"""Compiling who may do what: roles, an entity's grants and the sign-in configuration.

Part of the compiler (`compiler.py`): these run after the schema and semantic passes, so the
data they read is known to be well formed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..expr.expressions import Expression
from ..problems import JsonPath
from .auth_config import AuthConfig, AuthProvider, PasswordPolicy
from .compiler_flow import humanize
from .model import BUILTIN_ROLES, Grant, Role, Scope
from .semantics.base import Ctx, account_field, tree_parent
from .semantics.roles import role_closures
from .semantics.sections import CORE_AUTH_KEYS
from .values import Label, frozen_map

#: What the `when` of a parent scope sees: the parent record's values and the actor.
PARENT_STATE_NAMES = ("parent", "actor")


#: The compiler's expression compiler: (source, path, entity, names) → expression or None.
Compile = Callable[[str | None, JsonPath, str | None, Iterable[str]], Expression | None]


def compile_roles(declared: dict[str, Any]) -> dict[str, Role]:
    """The built-in roles and the declared ones, each with the roles it includes."""
    roles: dict[str, Role] = {}
    for name in BUILTIN_ROLES:
        roles[name] = Role(name, Label.of(humanize(name)), closure=frozenset({name}), builtin=True)
    closures = role_closures(declared)
    for name, spec in declared.items():
        roles[name] = Role(
            name,
            Label.of(spec.get("label"), humanize(name)),
            tuple(spec.get("inherits") or ()),
            bool(spec.get("staff", False)),
            frozenset(closures[name]),
            assigns=tuple(spec.get("assigns") or ()),
        )
    return roles


def compile_grant(
    ctx: Ctx, expression: Compile, entity: str, index: int, spec: dict[str, Any]
) -> Grant:
    """Grant `index` of `entity` (built-in grants first, then the declared `permissions`)."""
    raw_scope = spec["scope"]
    if isinstance(raw_scope, str):
        scope = Scope(raw_scope)  # type: ignore[arg-type]
        if raw_scope in ("account", "account_tree"):
            up = tree_parent(ctx) if raw_scope == "account_tree" else None
            scope = Scope(raw_scope, field=account_field(ctx, entity), target=up)  # type: ignore[arg-type]
    elif "parent" in raw_scope:
        ref = raw_scope["parent"]
        target = (ctx.fields_of(entity).get(ref) or {}).get("to")
        # built-in grants come first in `index` but are not in the definition's list
        builtin = (ctx.entities.get(entity) or {}).get("__builtin_permissions__")
        at = index - len(builtin or ())
        when = expression(
            raw_scope.get("when"),
            ("entities", entity, "permissions", at, "scope", "when"),
            None,
            PARENT_STATE_NAMES,
        )
        message = Label.of(raw_scope["message"]) if "message" in raw_scope else None
        scope = Scope("parent", field=ref, target=target, when=when, message=message)
    else:
        scope = Scope("where", where=tuple(sorted(raw_scope["where"].items())))
    restriction = spec.get("fields") or {}
    return Grant(
        index=index,
        entity=entity,
        roles=frozenset(spec["roles"]),
        actions=frozenset(spec["actions"]),
        scope=scope,
        fields_only=frozenset(restriction["only"]) if "only" in restriction else None,
        fields_except=frozenset(restriction.get("except") or ()),
    )


def compile_auth(ctx: Ctx) -> AuthConfig:
    """The sign-in providers (each configured by its definition section), sessions, admins."""
    spec = ctx.data.get("auth") or {"providers": [{"type": "password"}]}
    providers = []
    password = None
    for p in spec.get("providers") or [{"type": "password"}]:
        options = {k: v for k, v in p.items() if k not in ("type", "name", "label")}
        section = ctx.sections.get("provider", p["type"])
        config = section.compiled(options) if section is not None else None
        providers.append(
            AuthProvider(
                p["type"],
                p.get("name") or p["type"],
                frozen_map({k: v for k, v in p.items() if k not in ("type", "name")}),
                config,
            )
        )
        if isinstance(config, PasswordPolicy):
            password = config
    sections = {
        key: section.compiled(value)
        for key, value in spec.items()
        if key not in CORE_AUTH_KEYS and (section := ctx.sections.get("auth", key)) is not None
    }
    sessions = spec.get("sessions") or {}
    return AuthConfig(
        providers=tuple(providers),
        password=password,
        sections=frozen_map(sections),
        idle_minutes=int(sessions.get("idle_minutes", 60)),
        absolute_hours=int(sessions.get("absolute_hours", 12)),
        admin_roles=frozenset(spec.get("admin_roles") or ()),
    )
