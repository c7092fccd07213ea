"""Semantic checks of entities, roles, grants and workflows (after the schema pass).

Input is schema-valid raw data, so shapes are known; every check reports located problems and
never raises. Pages, blocks, navigation and assets are checked in `semantics_pages`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ...problems import JsonPath, Problem, Severity
from ..builtins import SYSTEM_ROLE
from ..bundle import Bundle
from ..fields import CheckContext, FieldTypeRegistry, FieldValueError
from ..loader import SourceMap
from ..model import BUILTIN_ROLES, SYSTEM_COLUMNS, Field, Label
from ..naming import MAX_IDENTIFIER, table_name


@dataclass(slots=True)
class Ctx:
    """Shared state of one semantic pass."""

    data: dict[str, Any]
    entities: dict[str, Any]
    source: SourceMap
    registry: FieldTypeRegistry
    bundle: Bundle
    problems: list[Problem] = field(default_factory=list)
    #: provider options the loaded provider plugins declare secret (must be `${ENV}`)
    secret_options: frozenset[str] = frozenset()

    @property
    def roles(self) -> set[str]:
        """Declared and built-in role names."""
        return set(self.data.get("roles") or {}) | set(BUILTIN_ROLES)

    def add(
        self,
        code: str,
        message: str,
        path: JsonPath,
        hint: str = "",
        *,
        key: bool = False,
        severity: Severity = Severity.ERROR,
    ) -> None:
        """Record a problem at `path`."""
        self.problems.append(
            self.source.problem(code, message, path, hint, key=key, severity=severity)
        )

    def fields_of(self, entity: str) -> dict[str, Any]:
        """Raw fields of an entity (empty when unknown)."""
        raw = self.entities.get(entity) or {}
        fields = raw.get("fields") or {}
        return fields if isinstance(fields, dict) else {}


def suggest(name: str, options: Iterable[str]) -> str:
    """`did you mean 'x'?` or a short list of what exists."""
    pool = sorted(set(options))
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    if pool:
        return "known: " + ", ".join(pool[:10]) + (" …" if len(pool) > 10 else "")
    return ""


def check_roles(ctx: Ctx) -> None:
    """Role names, inheritance targets and cycles."""
    roles = ctx.data.get("roles") or {}
    for name, role in roles.items():
        if name in (*BUILTIN_ROLES, SYSTEM_ROLE):
            ctx.add(
                "role-reserved",
                f"{name!r} is a built-in role",
                ("roles", name),
                "anonymous, authenticated and system exist in every portal; pick another name",
                key=True,
            )
        for i, parent in enumerate(role.get("inherits") or []):
            if parent not in ctx.roles:
                ctx.add(
                    "ref-unknown-role",
                    f"unknown role {parent!r}",
                    ("roles", name, "inherits", i),
                    suggest(parent, ctx.roles),
                )
    for name in sorted(role_cycles(roles)):
        if name in roles:
            ctx.add(
                "role-cycle",
                f"role {name!r} inherits itself",
                ("roles", name, "inherits"),
                "remove one inherits: entry of the cycle",
            )


def role_cycles(roles: dict[str, Any]) -> set[str]:
    """Roles that inherit themselves, found in one depth-first pass (linear in the roles)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cyclic: set[str] = set()
    for start in roles:
        if state.get(start):
            continue
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(_parents(roles, start)))]
        state[start] = 1
        while stack:
            node, parents = stack[-1]
            parent = next(parents, None)
            if parent is None:
                state[node] = 2
                stack.pop()
            elif state.get(parent) == 1:
                path = [n for n, _ in stack]
                cyclic.update(path[path.index(parent) :])
            elif not state.get(parent) and parent in roles:
                state[parent] = 1
                stack.append((parent, iter(_parents(roles, parent))))
    return cyclic


def _parents(roles: dict[str, Any], name: str) -> list[str]:
    spec = roles.get(name) or {}
    return [p for p in spec.get("inherits") or [] if isinstance(p, str)]


def role_closures(roles: dict[str, Any]) -> dict[str, frozenset[str]]:
    """Each role with everything it inherits, memoized (cycles are reported elsewhere)."""
    memo: dict[str, frozenset[str]] = {}
    for start in roles:
        # iterative post-order: long inheritance chains cannot exhaust the stack
        stack: list[tuple[str, bool]] = [(start, False)]
        visiting: set[str] = set()
        while stack:
            node, expanded = stack.pop()
            if node in memo:
                continue
            if expanded:
                closure = {node}
                for parent in _parents(roles, node):
                    closure |= memo.get(parent, {parent})
                memo[node] = frozenset(closure)
                visiting.discard(node)
                continue
            if node in visiting:
                continue
            visiting.add(node)
            stack.append((node, True))
            stack.extend(
                (p, False) for p in _parents(roles, node) if p not in memo and p not in visiting
            )
    return memo


def check_role_refs(ctx: Ctx, roles: Iterable[str], path: JsonPath) -> None:
    """Each role in `roles` must exist."""
    for i, role in enumerate(roles):
        if role not in ctx.roles:
            ctx.add(
                "ref-unknown-role", f"unknown role {role!r}", (*path, i), suggest(role, ctx.roles)
            )


def check_entities(ctx: Ctx) -> None:
    """Fields, title/account/search fields, grants and table names of every entity."""
    slug = str(ctx.data.get("portal", ""))
    for name, entity in ctx.entities.items():
        base: JsonPath = ("entities", name)
        if len(table_name(slug, name)) > MAX_IDENTIFIER:
            ctx.add(
                "table-name-too-long",
                f"table name {table_name(slug, name)!r} exceeds {MAX_IDENTIFIER} characters",
                base,
                "shorten the portal slug or the entity name",
                key=True,
            )
        fields = entity.get("fields") or {}
        _check_fields(ctx, name, entity, fields, base)
        title = entity.get("title_field")
        if title is not None and title not in fields:
            ctx.add(
                "title-field",
                f"title_field {title!r} is not a field",
                (*base, "title_field"),
                suggest(title, fields),
            )
        for i, fname in enumerate(entity.get("search") or []):
            _check_field_ref(ctx, name, fname, (*base, "search", i), need="searchable")
        account_field(ctx, name, report=True)
        for i, grant in enumerate(entity.get("permissions") or []):
            check_grant(ctx, name, grant, (*base, "permissions", i))
        _check_parent_cycles(ctx, name, base)


def _check_fields(
    ctx: Ctx, entity_name: str, entity: dict[str, Any], fields: dict[str, Any], base: JsonPath
) -> None:
    builtin_fields = set(entity.get("__builtin_fields__") or [])
    _check_column_collisions(ctx, fields, base)
    entities_view = {n: (e.get("fields") or {}) for n, e in ctx.entities.items()}
    currency = str(ctx.data.get("currency") or "EUR")
    for fname, spec in fields.items():
        fpath: JsonPath = (*base, "fields", fname)
        if fname in SYSTEM_COLUMNS:
            ctx.add(
                "field-reserved",
                f"{fname!r} is a system column every entity already has",
                fpath,
                "remove it or give the field another name",
                key=True,
            )
            continue
        if entity.get("__builtin__") and fname in builtin_fields:
            declared = (ctx.data.get("entities") or {}).get(entity_name) or {}
            if fname in (declared.get("fields") or {}):
                ctx.add(
                    "field-reserved",
                    f"{fname!r} is a built-in field of {entity_name}",
                    fpath,
                    "built-in fields cannot be redefined; add a new field instead",
                    key=True,
                )
                continue
        ftype = ctx.registry.get(str(spec.get("type")))
        if ftype is None:
            continue  # the schema pass reported the unknown type
        options = {k: v for k, v in spec.items() if k in ftype.options_schema}
        check_ctx = CheckContext(entity_name, fpath, entities_view, currency, ctx.source.problem)
        try:
            ctx.problems.extend(ftype.check(options, check_ctx))
        except Exception as exc:  # a plugin's type must not crash validation
            ctx.add("plugin-error", f"field type {ftype.name} failed to check: {exc}", fpath)
        if "renamed_from" in spec and spec["renamed_from"] in fields:
            ctx.add(
                "field-option",
                f"renamed_from {spec['renamed_from']!r} is still a field",
                (*fpath, "renamed_from"),
                "remove the old field when renaming",
            )


def _check_column_collisions(ctx: Ctx, fields: dict[str, Any], base: JsonPath) -> None:
    """Extra columns of a field (money's `<name>_currency`) must not clash with other fields."""
    owners: dict[str, str] = {}
    for fname, spec in fields.items():
        ftype = ctx.registry.get(str(spec.get("type")))
        if ftype is None:
            continue
        probe = Field(fname, ftype.name, Label.of(fname), ftype)
        for column in ftype.column_names(probe):
            if column in owners or (column != fname and column in fields):
                other = owners.get(column, column)
                ctx.add(
                    "field-reserved",
                    f"field {fname!r} needs the column {column!r}, which field {other!r} uses",
                    (*base, "fields", fname),
                    "rename one of the two fields",
                    key=True,
                )
            owners.setdefault(column, fname)


def _check_field_ref(
    ctx: Ctx, entity: str, fname: str, path: JsonPath, *, need: str = "", system: bool = False
) -> bool:
    fields = ctx.fields_of(entity)
    if system and fname in SYSTEM_COLUMNS:
        return True
    if fname not in fields:
        options = list(fields) + (list(SYSTEM_COLUMNS) if system else [])
        ctx.add(
            "ref-unknown-field", f"{entity} has no field {fname!r}", path, suggest(fname, options)
        )
        return False
    ftype = ctx.registry.get(str(fields[fname].get("type")))
    if ftype is not None and need and not getattr(ftype, need):
        ctx.add(
            "field-capability",
            f"field {fname!r} ({ftype.name}) is not {need}",
            path,
            f"{need} fields: "
            + ", ".join(
                n
                for n, f in fields.items()
                if (t := ctx.registry.get(str(f.get("type")))) is not None and getattr(t, need)
            ),
        )
        return False
    return True


def account_field(ctx: Ctx, entity_name: str, *, report: bool = False) -> str | None:
    """The ref to account that the account scope uses (`id` for the account entity)."""
    if entity_name == "account":
        return "id"
    entity = ctx.entities.get(entity_name) or {}
    fields = entity.get("fields") or {}
    refs = [n for n, f in fields.items() if f.get("type") == "ref" and f.get("to") == "account"]
    declared = entity.get("account_field")
    if declared is not None:
        if declared not in refs:
            if report:
                ctx.add(
                    "scope-account",
                    f"account_field {declared!r} is not a ref to account",
                    ("entities", entity_name, "account_field"),
                    suggest(declared, refs) or "declare a field {type: ref, to: account}",
                )
            return None
        return str(declared)
    return refs[0] if len(refs) == 1 else None


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


def _check_parent_cycles(ctx: Ctx, entity_name: str, base: JsonPath) -> None:
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


def check_workflows(ctx: Ctx) -> None:
    """Workflow fields, states, transitions and reachability."""
    used: dict[tuple[str, str], str] = {}
    for name, wf in (ctx.data.get("workflows") or {}).items():
        base: JsonPath = ("workflows", name)
        entity = wf.get("entity")
        if entity not in ctx.entities:
            ctx.add(
                "ref-unknown-entity",
                f"unknown entity {entity!r}",
                (*base, "entity"),
                suggest(str(entity), ctx.entities),
            )
            continue
        fname = wf.get("field")
        spec = ctx.fields_of(entity).get(fname)
        if spec is None or spec.get("type") != "choice":
            ctx.add(
                "workflow-field",
                f"workflow field {fname!r} must be a choice field of {entity}",
                (*base, "field"),
                suggest(
                    str(fname),
                    [n for n, f in ctx.fields_of(entity).items() if f.get("type") == "choice"],
                ),
            )
            continue
        if (entity, fname) in used:
            ctx.add(
                "workflow-duplicate",
                f"{entity}.{fname} already has workflow {used[(entity, fname)]!r}",
                base,
                key=True,
            )
        used[(entity, fname)] = name
        states = [
            o if isinstance(o, str) else str(o.get("value")) for o in spec.get("options") or []
        ]
        _check_transitions(ctx, wf, entity, states, base)


def _check_transitions(
    ctx: Ctx, wf: dict[str, Any], entity: str, states: list[str], base: JsonPath
) -> None:
    initial = wf.get("initial")
    if initial not in states:
        ctx.add(
            "ref-unknown-workflow-state",
            f"initial state {initial!r} is not an option of the field",
            (*base, "initial"),
            suggest(str(initial), states),
        )
    names: set[str] = set()
    edges: dict[str, set[str]] = {}
    for i, tr in enumerate(wf.get("transitions") or []):
        tpath: JsonPath = (*base, "transitions", i)
        if tr["name"] in names:
            ctx.add(
                "workflow-duplicate", f"transition {tr['name']!r} appears twice", (*tpath, "name")
            )
        names.add(tr["name"])
        sources = tr["from"] if isinstance(tr["from"], list) else [tr["from"]]
        for j, state in enumerate(sources):
            spath = (*tpath, "from", j) if isinstance(tr["from"], list) else (*tpath, "from")
            if state not in states:
                ctx.add(
                    "ref-unknown-workflow-state",
                    f"unknown state {state!r}",
                    spath,
                    suggest(state, states),
                )
            edges.setdefault(state, set()).add(tr["to"])
        if tr["to"] not in states:
            ctx.add(
                "ref-unknown-workflow-state",
                f"unknown state {tr['to']!r}",
                (*tpath, "to"),
                suggest(tr["to"], states),
            )
        check_role_refs(ctx, tr.get("roles") or [], (*tpath, "roles"))
        for j, req in enumerate(tr.get("require") or []):
            if req not in ctx.fields_of(entity):
                ctx.add(
                    "workflow-require",
                    f"{entity} has no field {req!r}",
                    (*tpath, "require", j),
                    suggest(req, ctx.fields_of(entity)),
                )
    reachable = {initial}
    frontier = [initial]
    while frontier:
        for nxt in edges.get(str(frontier.pop()), set()):
            if nxt not in reachable:
                reachable.add(nxt)
                frontier.append(nxt)
    for state in states:
        if state not in reachable and initial in states:
            ctx.add(
                "workflow-unreachable",
                f"state {state!r} cannot be reached from {initial!r}",
                (*base, "transitions"),
                "add a transition into this state or remove it from the field's options",
            )
