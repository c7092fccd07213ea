"""The roles editor: `…/d/<draft>/roles`.

Add a role; edit its label per locale, the roles it inherits and its staff flag; rename it
— every reference in the draft follows (grants, workflow transitions and approvals, pages,
a detail's history, `inherits`, auth lists, provider role maps, IP allow-lists, notification
recipients `role:<name>`, seed users; see `role_refs`), shown before it is saved, and
refused with the reason when a reference sits in an expression; remove a role — refused
while pages, workflows or other settings use it, else removed with its grants after a
confirmation that lists them. The side panel says in words what each role can do
(`role_words`, from the compiled draft). Every change is saved through `builder.editing`.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, g, render_template, request
from werkzeug.wrappers import Response

from portalis.engine import drafts
from portalis.engine.definition.bundle import Bundle
from portalis.engine.definition.model import PortalModel
from portalis.engine.definition.yamledit import BundleEdit
from portalis.runtime.context import state
from portalis.runtime.templating import gettext as _

from ..editing import (
    DraftContext,
    Operation,
    base_definition,
    definition,
    editor_url,
    open_draft,
    posted_base,
    problems_under,
    refused,
    review_of,
    run_edit,
    saved_message,
)
from ..rights import EDIT
from .fields import NAME_PATTERN, label_values
from .role_refs import RoleRef, references, removal_operations, rename_operations
from .role_words import RoleWords, all_role_words

_NAME = re.compile(NAME_PATTERN)
#: Roles every portal has; they are not declared under `roles:`.
BUILTIN_ROLES = ("anonymous", "authenticated")


def register(bp: Blueprint) -> None:
    """Add the roles editor's route to the builder blueprint."""
    bp.add_url_rule("/p/<slug>/d/<int:draft>/roles", "roles", roles_view, methods=["GET", "POST"])


def declared_roles(data: dict[str, Any]) -> dict[str, Any]:
    """The definition's `roles:` (name → spec)."""
    found = data.get("roles") or {}
    return found if isinstance(found, dict) else {}


def locales_of(data: dict[str, Any]) -> tuple[str, ...]:
    """The definition's locales (the first is the default)."""
    return tuple(str(loc) for loc in (data.get("locales") or ["en"]))


def compiled_model(ctx: DraftContext) -> PortalModel | None:
    """The compiled model of the draft's head (None while it has errors)."""
    compiled = review_of(ctx).compiled
    return compiled.model if compiled is not None else None


def words_for(ctx: DraftContext, roles: list[str]) -> list[RoleWords]:
    """The side panel: what each role can do, from the compiled draft."""
    model = compiled_model(ctx)
    if model is None:
        return []
    return all_role_words(model, roles, str(g.get("locale") or "en"))


def roles_view(slug: str, draft: int) -> Response | str:
    """The draft's roles with their forms; the POSTed actions change them."""
    ctx = open_draft(slug, draft)
    if request.method == "POST":
        return _post(open_draft(slug, draft, EDIT))
    data = definition(ctx)
    roles = declared_roles(data)
    locales = locales_of(data)
    rows = [
        {
            "name": name,
            "spec": spec if isinstance(spec, dict) else {},
            "labels": label_values((spec or {}).get("label"), locales),
            "uses": len(references(ctx.bundle, data, name)),
        }
        for name, spec in roles.items()
    ]
    return render_template(
        "builder/editors/roles.html",
        ctx=ctx,
        roles=rows,
        names=list(roles),
        locales=locales,
        words=words_for(ctx, list(roles)),
        problems=problems_under(ctx, ("roles",)),
        message=saved_message(),
        title=_("Roles"),
    )


def _post(ctx: DraftContext) -> Response | str:
    here = editor_url("builder.roles", ctx)
    data = definition(ctx)
    roles = declared_roles(data)
    action = request.form.get("action", "")
    role = request.form.get("role", "")
    if action == "add":
        name = request.form.get("name", "").strip()
        if not _NAME.match(name) or name in roles or name in BUILTIN_ROLES:
            return refused(
                ctx, _("%(name)s is not a new role name (a-z, 0-9, _).", name=name), here
            )
        text = request.form.get("label", "").strip() or name.replace("_", " ").capitalize()
        value = {"label": {locales_of(data)[0]: text}}
        ops: list[Operation] = [lambda edit: edit.set(("roles", name), value)]
        return run_edit(
            ctx, ops, editor="roles", what=f"add role {name}", done=f"{here}#role-{name}"
        )
    if role not in roles:
        return refused(ctx, _("The draft has no role %(name)s.", name=role), here)
    if action == "save":
        return _save(ctx, role, roles, here)
    if action == "rename":
        return _rename(ctx, role, roles, here)
    if action == "remove":
        return _remove(ctx, role, here)
    return refused(ctx, _("Unknown action."), here)


def _save(ctx: DraftContext, role: str, roles: dict[str, Any], here: str) -> Response | str:
    shown = declared_roles(base_definition(ctx)).get(role) or roles[role]
    shown = shown if isinstance(shown, dict) else {}
    locales = locales_of(definition(ctx))
    ops: list[Operation] = []
    posted = {loc: request.form.get(f"label.{loc}", "").strip() for loc in locales}
    if posted != label_values(shown.get("label"), locales):
        label = {loc: text for loc, text in posted.items() if text}
        if label:
            ops.append(lambda edit: edit.set(("roles", role, "label"), label))
        elif "label" in shown:
            ops.append(lambda edit: edit.delete(("roles", role, "label")))
    inherits = [r for r in roles if r != role and r in request.form.getlist("inherits")]
    if inherits != list(shown.get("inherits") or []):
        if inherits:
            ops.append(lambda edit: edit.set(("roles", role, "inherits"), inherits))
        elif "inherits" in shown:
            ops.append(lambda edit: edit.delete(("roles", role, "inherits")))
    staff = request.form.get("staff") == "true"
    if staff != bool(shown.get("staff")):
        if staff:
            ops.append(lambda edit: edit.set(("roles", role, "staff"), True))
        else:
            ops.append(lambda edit: edit.delete(("roles", role, "staff")))
    return run_edit(ctx, ops, editor="roles", what=f"edit role {role}", done=f"{here}#role-{role}")


def _rename(ctx: DraftContext, role: str, roles: dict[str, Any], here: str) -> Response | str:
    new = request.form.get("new_name", "").strip()
    if not _NAME.match(new) or new in roles or new in BUILTIN_ROLES:
        return refused(ctx, _("%(name)s is not a new role name (a-z, 0-9, _).", name=new), here)
    refs = references(_base_bundle(ctx), base_definition(ctx), role)
    unsafe = [r for r in refs if not r.safe]
    if unsafe:
        return _usage(
            ctx,
            role,
            refs,
            here,
            refused=_(
                "%(name)s is named inside an expression; rename it there by hand first.", name=role
            ),
        )
    ops = rename_operations(refs, role, new)
    if request.form.get("confirm") == "yes":
        what = f"rename role {role} to {new}"
        return run_edit(ctx, ops, editor="roles", what=what, done=f"{here}#role-{new}")
    return _usage(
        ctx, role, refs, here, heading=_("Rename role %(old)s to %(new)s", old=role, new=new)
    )


def _remove(ctx: DraftContext, role: str, here: str) -> Response | str:
    data = base_definition(ctx)
    refs = references(_base_bundle(ctx), data, role)
    others = [r for r in refs if not r.is_grant]
    if others:
        return _usage(
            ctx,
            role,
            refs,
            here,
            refused=_(
                "%(name)s is still used outside permissions; remove it there first.", name=role
            ),
        )
    entities = data.get("entities") or {}
    grants = {str(r.path[1]): list(entities[r.path[1]].get("permissions") or []) for r in refs}
    ops = removal_operations(refs, role, grants)
    if request.form.get("confirm") == "yes":
        return run_edit(ctx, ops, editor="roles", what=f"remove role {role}", done=here)
    return _usage(ctx, role, refs, here, heading=_("Remove role %(name)s", name=role))


def _base_bundle(ctx: DraftContext) -> Bundle:
    """The files of the revision the posted form was rendered from: the references of a
    rename or removal are found where its operations are applied."""
    base = posted_base(ctx)
    if base == ctx.revision:
        return ctx.bundle
    return drafts.revision_bundle(state().engine, ctx.draft_id, base)


def _usage(
    ctx: DraftContext,
    role: str,
    refs: list[RoleRef],
    back: str,
    *,
    heading: str | None = None,
    refused: str | None = None,
) -> Response | str:
    """What a rename or removal touches (file:line of every reference) and the confirmation
    form — or why it is refused (422)."""
    kept = [(k, v) for k, v in request.form.items(multi=True) if k != "csrf_token"]
    body = render_template(
        "builder/editors/role_usage.html",
        ctx=ctx,
        role=role,
        refs=[(ref, _position(ctx, ref)) for ref in refs],
        heading=heading or _("Role %(name)s is in use", name=role),
        refused=refused,
        kept=kept,
        action=request.path,
        back=back,
        title=heading or _("Role %(name)s is in use", name=role),
    )
    if refused:
        return Response(body, 422, mimetype="text/html")
    return body


def _position(ctx: DraftContext, ref: RoleRef) -> str:
    if ref.file:
        return ref.file
    from_edit = _edit_of(ctx).position(ref.path)
    return f"{from_edit.file}:{from_edit.line}"


def _edit_of(ctx: DraftContext) -> BundleEdit:
    found = g.get("builder_roles_edit")
    if not isinstance(found, BundleEdit):
        found = g.builder_roles_edit = BundleEdit(_base_bundle(ctx))
    return found
