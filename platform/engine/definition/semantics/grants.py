"""Semantic checks of permission grants: roles, actions, the scope (account, self, parent,
where) and the field restriction; parent scopes must not form a cycle."""

from __future__ import annotations

from typing import Any

from ...problems import JsonPath
from ..fields import FieldValueError
from ..model import Field
from ..values import Label
from .base import Ctx, account_field, check_role_refs, suggest, tree_parent


def check_grant(ctx: Ctx, entity_name: str, grant: dict[str, Any], path: JsonPath) -> None:
    """Roles, actions, scope and field restriction of one grant."""
    check_role_refs(ctx, grant.get("roles") or [], (*path, "roles"))
    actions = grant.get("actions") or []
    if "transition" in actions and not any(
        (w or {}).get("entity") == entity_name for w in (ctx.data.get("workflows") or {}).values()
    ):
        ctx.add(
            "grant-action",
            f"'transition' granted on {entity_name}, which has no workflow",
            (*path, "actions", actions.index("transition")),
            "declare a workflow for this entity or remove the action",
        )
    check_scope(ctx, entity_name, grant.get("scope"), (*path, "scope"))
    _check_state_condition(ctx, grant, path)
    restriction = grant.get("fields") or {}
    for key in ("only", "except"):
        for i, fname in enumerate(restriction.get(key) or []):
            if fname not in ctx.fields_of(entity_name):
                ctx.add(
                    "grant-fields",
                    f"{entity_name} has no field {fname!r}",
                    (*path, "fields", key, i),
                    suggest(fname, ctx.fields_of(entity_name)),
                )


def _check_state_condition(ctx: Ctx, grant: dict[str, Any], path: JsonPath) -> None:
    """`when` on a parent scope is checked in Python on writes; reads are SQL filters, which
    it cannot become, so a read grant may not carry one (a separate grant reads)."""
    scope = grant.get("scope")
    if not isinstance(scope, dict) or "parent" not in scope:
        return
    if "message" in scope and "when" not in scope:
        ctx.add(
            "scope-message",
            "message: is shown when when: refuses a write; this scope has no when:",
            (*path, "scope", "message"),
            "add when: or remove message:",
            key=True,
        )
    if "when" in scope and "read" in (grant.get("actions") or []):
        ctx.add(
            "scope-when-read",
            "a parent scope with when: applies to writes only, not to read",
            (*path, "scope", "when"),
            "give read in a grant of its own (scope: {parent: ...}) and keep when: on the "
            "create/update/delete grant",
            key=True,
        )


def check_scope(ctx: Ctx, entity_name: str, scope: Any, path: JsonPath) -> None:
    """A scope must be usable on its entity."""
    fields = ctx.fields_of(entity_name)
    if scope == "account":
        if account_field(ctx, entity_name) is None:
            ctx.add(
                "scope-account",
                f"{entity_name} has no single reference to account for the account scope",
                path,
                "add a field {type: ref, to: account} or name one with account_field:",
            )
    elif scope == "account_tree":
        if account_field(ctx, entity_name) is None:
            ctx.add(
                "scope-account",
                f"{entity_name} has no single reference to account for the account_tree scope",
                path,
                "add a field {type: ref, to: account} or name one with account_field:",
            )
        if tree_parent(ctx) is None:
            ctx.add(
                "scope-account-tree",
                "scope account_tree needs the account entity's parent_field",
                path,
                "declare entities: {account: {parent_field: parent, fields: {parent: "
                "{type: ref, to: account}}}}",
            )
    elif scope == "self":
        if entity_name != "user":
            ctx.add(
                "scope-self",
                "scope self applies only to the user entity",
                path,
                "use own for records the actor created",
            )
    elif isinstance(scope, dict) and "parent" in scope:
        ref = scope["parent"]
        spec = fields.get(ref)
        if spec is None or spec.get("type") != "ref":
            refs = [n for n, f in fields.items() if f.get("type") == "ref"]
            ctx.add(
                "scope-parent",
                f"parent scope needs a ref field of {entity_name}; {ref!r} is not one",
                (*path, "parent"),
                suggest(ref, refs) if refs else "add a ref field to the parent entity",
            )
    elif isinstance(scope, dict) and "where" in scope:
        for fname, value in scope["where"].items():
            vpath: JsonPath = (*path, "where", fname)
            if fname not in fields and fname not in ("id", "created_by"):
                ctx.add(
                    "scope-where",
                    f"{entity_name} has no field {fname!r}",
                    vpath,
                    suggest(fname, fields),
                    key=True,
                )
            elif isinstance(value, str) and value.startswith("$"):
                _check_where_actor_value(ctx, entity_name, fname, value, vpath)
            elif fname in fields:
                _check_where_literal(ctx, fname, fields[fname], value, vpath)


def _check_where_actor_value(ctx: Ctx, entity: str, fname: str, value: str, path: JsonPath) -> None:
    """`$actor.id` compares with users, `$actor.account` with accounts."""
    targets = {"$actor.id": "user", "$actor.account": "account"}
    if value not in targets:
        ctx.add(
            "scope-where", f"unknown actor value {value!r}", path, "use $actor.id or $actor.account"
        )
        return
    wanted = targets[value]
    spec = ctx.fields_of(entity).get(fname) or {}
    ok = (
        (fname == "created_by" and wanted == "user")
        or (fname == "id" and entity == wanted)
        or (spec.get("type") == "ref" and spec.get("to") == wanted)
    )
    if not ok:
        ctx.add(
            "scope-where",
            f"{fname!r} never equals {value} (it does not refer to a {wanted})",
            path,
            f"compare {value} with a ref to {wanted}",
        )


def _check_where_literal(
    ctx: Ctx, fname: str, spec: dict[str, Any], value: Any, path: JsonPath
) -> None:
    """A literal must be a valid value of the field, or the grant silently matches nothing."""
    ftype = ctx.registry.get(str(spec.get("type")))
    if ftype is None or value is None:
        return
    options = {k: v for k, v in spec.items() if k in ftype.options_schema}
    try:
        config = ftype.make_config(options, currency="EUR")
        ftype.clean(Field(fname, ftype.name, Label.of(fname), ftype, config), value)
    except FieldValueError as exc:
        ctx.add(
            "scope-where",
            f"{value!r} is not a valid {fname}: {exc}",
            path,
            "this grant would match no record",
        )
    except Exception:  # invalid options are reported by the field's own checks
        return


def check_parent_cycles(ctx: Ctx, entity_name: str, base: JsonPath) -> None:
    """Parent scopes must not loop back (ticket → message → ticket)."""
    seen = [entity_name]
    current = entity_name
    for _ in range(len(ctx.entities) + 1):
        nxt = _parent_target(ctx, current)
        if nxt is None:
            return
        if nxt in seen:
            if nxt == entity_name:
                ctx.add(
                    "scope-cycle",
                    "parent scopes form a cycle: " + " → ".join([*seen, nxt]),
                    (*base, "permissions"),
                    "one entity in the chain needs a scope other than parent",
                )
            return
        seen.append(nxt)
        current = nxt


def _parent_target(ctx: Ctx, entity_name: str) -> str | None:
    entity = ctx.entities.get(entity_name) or {}
    for grant in entity.get("permissions") or []:
        scope = grant.get("scope")
        if isinstance(scope, dict) and "parent" in scope:
            spec = (entity.get("fields") or {}).get(scope["parent"]) or {}
            target = spec.get("to")
            if isinstance(target, str):
                return target
    return None
