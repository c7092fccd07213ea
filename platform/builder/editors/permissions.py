"""The permission matrix: `…/d/<draft>/permissions` and `…/permissions/<role>/<entity>`.

One screen for the whole portal: a table of roles × entities whose cells show each grant
(actions, scope, field restriction) naming the role, and those the role inherits. A cell's
own page edits its grants in small forms (works without JavaScript): change a grant, add
one, remove one. A grant shared with other roles is split when changed — the role leaves
the shared grant and gets its own copy right after it — so an edit of one cell never
changes another cell. Each edit is checked with the validator before it is saved (the
same checker as `portalis validate`: a `where` naming an unknown field, a `parent` that is
no reference are refused with the checker's words), then saved through `builder.editing`;
grants keep their flow style. The side panel says in words what each role can do.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from werkzeug.wrappers import Response

from portalis.engine.definition.yamledit import BundleEdit
from portalis.engine.problems import Problem
from portalis.runtime.templating import gettext as _

from ..editing import (
    DraftContext,
    Operation,
    base_definition,
    definition,
    editor_url,
    open_draft,
    preview_edit,
    problems_under,
    run_edit,
    saved_message,
)
from ..rights import EDIT
from .grants import SCOPES, CellGrant, cell_grants, offered_actions, parse_grant
from .roles import BUILTIN_ROLES, compiled_model, declared_roles, words_for

_PREFIX = "/p/<slug>/d/<int:draft>/permissions"


def register(bp: Blueprint) -> None:
    """Add the permission matrix's routes to the builder blueprint."""
    bp.add_url_rule(_PREFIX, "permissions", matrix_view)
    bp.add_url_rule(
        f"{_PREFIX}/<role>/<entity>", "permission_cell", cell_view, methods=["GET", "POST"]
    )


def _entities(ctx: DraftContext) -> dict[str, dict[str, Any]]:
    """entity → its plain spec; the built-in entities the draft does not extend included
    (from the compiled draft) with no grants."""
    found = definition(ctx).get("entities") or {}
    out = {k: (v if isinstance(v, dict) else {}) for k, v in found.items()}
    model = compiled_model(ctx)
    for name in model.entities if model is not None else ():
        out.setdefault(name, {})
    return out


def _roles(ctx: DraftContext) -> list[str]:
    return [*declared_roles(definition(ctx)), *BUILTIN_ROLES]


def _permissions(spec: dict[str, Any]) -> list[Any]:
    found = spec.get("permissions") or []
    return found if isinstance(found, list) else []


def matrix_view(slug: str, draft: int) -> str:
    """The roles × entities grid."""
    ctx = open_draft(slug, draft)
    entities = _entities(ctx)
    roles = _roles(ctx)
    declared = declared_roles(definition(ctx))
    cells = {
        (role, entity): cell_grants(_permissions(spec), declared, role)
        for role in roles
        for entity, spec in entities.items()
    }
    return render_template(
        "builder/editors/permissions.html",
        ctx=ctx,
        roles=roles,
        entities=list(entities),
        cells=cells,
        words=words_for(ctx, list(declared)),
        problems=[p for p in problems_under(ctx, ("entities",)) if "permissions" in p.path],
        message=saved_message(),
        title=_("Permissions"),
    )


def cell_view(slug: str, draft: int, role: str, entity: str) -> Response | str:
    """The grants of one role on one entity, each in its own form."""
    ctx = open_draft(slug, draft)
    entities = _entities(ctx)
    if entity not in entities or role not in _roles(ctx):
        abort(404)
    if request.method == "POST":
        return _post(open_draft(slug, draft, EDIT), role, entity)
    return _page(ctx, role, entity)


def _fields_of(ctx: DraftContext, entity: str) -> tuple[list[str], list[str]]:
    """The entity's field names and its reference fields (compiled when possible, so the
    built-in fields count)."""
    model = compiled_model(ctx)
    if model is not None and entity in model.entities:
        known = model.entities[entity]
        return list(known.fields), [f.name for f in known.refs()]
    fields = _entities(ctx)[entity].get("fields") or {}
    refs = [n for n, f in fields.items() if isinstance(f, dict) and f.get("type") == "ref"]
    return list(fields), refs


def _page(
    ctx: DraftContext,
    role: str,
    entity: str,
    *,
    errors: dict[str, str] | None = None,
    refused: list[Problem] | None = None,
    status: int = 200,
) -> Response | str:
    declared = declared_roles(definition(ctx))
    spec = _entities(ctx)[entity]
    own, inherited = cell_grants(_permissions(spec), declared, role)
    fields, refs = _fields_of(ctx, entity)
    body = render_template(
        "builder/editors/permission_cell.html",
        ctx=ctx,
        role=role,
        entity=entity,
        own=own,
        inherited=inherited,
        fields=fields,
        refs=refs,
        actions=offered_actions(spec, own),
        scopes=SCOPES,
        posted=request.form if errors or refused else None,
        errors=errors or {},
        refused=refused or [],
        words=words_for(ctx, [role]) if role in declared else [],
        problems=problems_under(ctx, ("entities", entity, "permissions")),
        message=saved_message(),
        title=_("%(role)s on %(entity)s", role=role, entity=entity),
    )
    return body if status == 200 else Response(body, status, mimetype="text/html")


def _post(ctx: DraftContext, role: str, entity: str) -> Response | str:
    here = editor_url("builder.permission_cell", ctx, role=role, entity=entity)
    path = ("entities", entity, "permissions")
    shown = (base_definition(ctx).get("entities") or {}).get(entity) or {}
    grants = _permissions(shown if isinstance(shown, dict) else {})
    action = request.form.get("action", "")
    index_raw = request.form.get("index", "")
    index = int(index_raw) if index_raw.isdigit() else -1
    current: CellGrant | None = None
    if action in ("save", "remove"):
        if not 0 <= index < len(grants) or role not in (grants[index].get("roles") or []):
            abort(404)
        current = CellGrant(index, grants[index])
    ops: list[Operation]
    if action == "remove" and current is not None:
        ops = [_leave(path, current, role)] if current.shared else [_drop(path, index)]
        return run_edit(
            ctx, ops, editor="permissions", what=f"remove grant {entity}/{role}", done=here
        )
    if action not in ("save", "add"):
        abort(400)
    fields, refs = _fields_of(ctx, entity)
    # what the form offered: a payable entity's `pay` and `refund` are kept on save
    kept = [] if current is None else [current]
    offered = offered_actions(shown if isinstance(shown, dict) else {}, kept)
    parsed = parse_grant(request.form, role, fields, refs, offered)
    if parsed.errors:
        return _page(ctx, role, entity, errors=parsed.errors, status=422)
    if current is None:
        ops = [_added(path, grants, parsed.grant)]
    elif current.shared:
        ops = [_leave(path, current, role), _inserted(path, index + 1, parsed.grant)]
    else:
        ops = _changed(path, index, current.grant, parsed.grant)
    before = {p.code + str(p.path) for p in problems_under(ctx, path)}
    found = [
        p
        for p in preview_edit(ctx, ops).problems
        if tuple(p.path[:3]) == path and p.code + str(p.path) not in before
    ]
    if found:
        return _page(ctx, role, entity, refused=found, status=422)
    what = f"{action} grant {entity}/{role}"
    return run_edit(ctx, ops, editor="permissions", what=what, done=here)


def _drop(path: tuple[str | int, ...], step: str | int) -> Operation:
    return lambda edit: edit.delete((*path, step))


def _setter(path: tuple[str | int, ...], value: Any) -> Operation:
    return lambda edit: edit.set(path, value)


def _leave(path: tuple[str, ...], current: CellGrant, role: str) -> Operation:
    position = list(current.grant.get("roles") or []).index(role)
    return lambda edit: edit.delete((*path, current.index, "roles", position))


def _simple(grant: dict[str, Any]) -> dict[str, Any]:
    """The grant with a keyword scope and no field restriction: written as one flow line
    like its neighbours; the nested parts are set afterwards, in that line (`_nested`)."""
    return {"roles": grant["roles"], "actions": grant["actions"], "scope": "all"}


def _nested(edit: BundleEdit, at: tuple[str | int, ...], grant: dict[str, Any]) -> None:
    if grant["scope"] != "all":
        edit.set((*at, "scope"), grant["scope"])
    if "fields" in grant:
        edit.set((*at, "fields"), grant["fields"])


def _inserted(path: tuple[str, ...], index: int, grant: dict[str, Any]) -> Operation:
    def insert(edit: BundleEdit) -> None:
        edit.insert_item(path, index, _simple(grant))
        _nested(edit, (*path, index), grant)

    return insert


def _added(path: tuple[str, ...], grants: list[Any], grant: dict[str, Any]) -> Operation:
    if not grants:
        return lambda edit: edit.set(path, [grant])
    return _inserted(path, len(grants), grant)


def _changed(path: tuple[str, ...], index: int, old: Any, new: dict[str, Any]) -> list[Operation]:
    """Only the keys of the grant whose value changed (its `roles` list stays as written)."""
    ops: list[Operation] = []
    for key in ("actions", "scope", "fields"):
        if key in new and _same(new[key], old.get(key)):
            continue
        if key in new:
            ops.append(_setter((*path, index, key), _kept_order(new[key], old.get(key))))
        elif key in old:
            ops.append(_drop((*path, index), key))
    return ops


def _kept_order(new: Any, old: Any) -> Any:
    """`new` with the items `old` already lists first, in their written order (a ticked
    field is added at the end rather than the list re-sorted)."""
    if isinstance(new, list) and isinstance(old, list):
        return [x for x in old if x in new] + [x for x in new if x not in old]
    if isinstance(new, dict) and isinstance(old, dict):
        return {k: _kept_order(v, old.get(k)) for k, v in new.items()}
    return new


def _same(new: Any, old: Any) -> bool:
    """Equal up to the order of a list (a re-posted form lists actions and fields in the
    form's order)."""
    if isinstance(new, list) and isinstance(old, list):
        return sorted(map(str, new)) == sorted(map(str, old))
    if isinstance(new, dict) and isinstance(old, dict) and new.keys() == old.keys():
        return all(_same(v, old[k]) for k, v in new.items())
    return bool(new == old)
