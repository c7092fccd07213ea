"""The entities and fields editor: `…/d/<draft>/entities/` and `…/entities/<entity>`.

Add, rename and remove entities and fields; edit a field's type (the registered types,
plugin types included) with the type's options as a generated form (`schema_form`),
required, default, label per locale, and `visible_when`/`required_when`, whose expression is
checked as you type (`…/entities/<entity>/check-expression`, the same checker as validate;
`static/builder/expressions.js` calls it) and again when saved. A removal — or an entity
rename, which the plan carries out as drop and create — first shows what the live database
would lose (the plan's destructive steps with their row counts) and needs a confirmation.
A field renamed that the live version has gets `renamed_from: <old>`, so its column keeps
its data. Every change is saved through `builder.editing`.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, render_template, request
from werkzeug.wrappers import Response

from portalis.engine import drafts
from portalis.engine.definition.yamledit import BundleEdit
from portalis.runtime.context import state
from portalis.runtime.templating import gettext as _
from portalis.runtime.templating import ngettext

from ..editing import (
    DraftContext,
    Operation,
    base_definition,
    definition,
    editor_url,
    open_draft,
    preview_edit,
    problems_under,
    refused,
    run_edit,
    saved_message,
)
from ..rights import EDIT
from .check_reply import check_reply
from .fields import (
    EXPRESSION_KEYS,
    NAME_PATTERN,
    check_expression,
    default_text,
    field_edit,
    field_path,
    label_values,
    options_form,
)

_NAME = re.compile(NAME_PATTERN)
_PREFIX = "/p/<slug>/d/<int:draft>/entities"


def register(bp: Blueprint) -> None:
    """Add the entities editor's routes to the builder blueprint."""
    bp.add_url_rule(f"{_PREFIX}/", "entities", entities_view, methods=["GET", "POST"])
    bp.add_url_rule(f"{_PREFIX}/<entity>", "entity", entity_view, methods=["GET", "POST"])
    bp.add_url_rule(
        f"{_PREFIX}/<entity>/check-expression", "check_expression", check_expression_view
    )


def _entities(ctx: DraftContext) -> dict[str, Any]:
    return _entities_of(definition(ctx))


def _entities_of(data: dict[str, Any]) -> dict[str, Any]:
    found = data.get("entities") or {}
    return found if isinstance(found, dict) else {}


def _locales(ctx: DraftContext) -> tuple[str, ...]:
    locales = definition(ctx).get("locales") or ["en"]
    return tuple(str(loc) for loc in locales)


def entities_view(slug: str, draft: int) -> Response | str:
    """The draft's entities, and the form that adds one."""
    ctx = open_draft(slug, draft)
    here = editor_url("builder.entities", ctx)
    if request.method == "POST":
        ctx = open_draft(slug, draft, EDIT)
        name = request.form.get("name", "").strip()
        if not _NAME.match(name) or name in _entities(ctx):
            return refused(
                ctx, _("%(name)s is not a new entity name (a-z, 0-9, _).", name=name), here
            )
        label = request.form.get("label", "").strip() or name.replace("_", " ").capitalize()
        value = {
            "label": {_locales(ctx)[0]: label},
            "fields": {"name": {"type": "string", "required": True}},
        }
        target = _new_entity_file(ctx, name)
        ops: list[Operation] = [lambda edit: edit.set(("entities", name), value, file=target)]
        done = editor_url("builder.entity", ctx, entity=name)
        return run_edit(ctx, ops, editor="entities", what=f"add entity {name}", done=done)
    return render_template(
        "builder/editors/entities.html",
        ctx=ctx,
        entities=_entities(ctx),
        problems=problems_under(ctx, ("entities",)),
        message=saved_message(),
        title=_("Entities"),
    )


def _new_entity_file(ctx: DraftContext, name: str) -> str | None:
    """`entities/<name>.yaml` when the bundle keeps entities in such files, else None (the
    file of the existing `entities:`)."""
    candidate = f"entities/{name}.yaml"
    if any(path.startswith("entities/") for path in ctx.bundle.files):
        try:
            BundleEdit(ctx.bundle).locate(("entities", name), file=candidate)
        except Exception:  # noqa: BLE001 - any refusal (not included) means: use the default
            return None
        return candidate
    return None


def entity_view(slug: str, draft: int, entity: str) -> Response | str:
    """One entity with its fields; the POSTed actions change them."""
    ctx = open_draft(slug, draft)
    entities = _entities(ctx)
    if entity not in entities:
        abort(404)
    if request.method == "POST":
        return _post(open_draft(slug, draft, EDIT), entity, entities[entity])
    return _page(ctx, entity, entities[entity])


def _page(
    ctx: DraftContext,
    entity: str,
    spec: dict[str, Any],
    errors: dict[str, dict[str, str]] | None = None,
) -> str:
    registry = state().checker.registry
    locales = _locales(ctx)
    fields = spec.get("fields") or {}
    rows = []
    for name, fspec in fields.items():
        fspec = fspec if isinstance(fspec, dict) else {}
        rows.append(
            {
                "name": name,
                "spec": fspec,
                "labels": label_values(fspec.get("label"), locales),
                "default": "" if "default" not in fspec else default_text(fspec["default"]),
                "options": options_form(registry, str(fspec.get("type")), fspec, "opt"),
                "errors": (errors or {}).get(name, {}),
            }
        )
        if rows[-1]["errors"] and rows[-1]["options"] is not None:
            rows[-1]["options"].parse(request.form)  # show the posted values and their errors
    return render_template(
        "builder/editors/entity.html",
        ctx=ctx,
        entity=entity,
        spec=spec,
        fields=rows,
        entities=sorted(_entities(ctx)),
        types=registry.names(),
        locales=locales,
        expression_keys=EXPRESSION_KEYS,
        problems=problems_under(ctx, ("entities", entity)),
        message=saved_message(),
        title=_("Entity %(name)s", name=entity),
    )


def _post(ctx: DraftContext, entity: str, spec: dict[str, Any]) -> Response | str:
    action = request.form.get("action", "")
    fields = spec.get("fields") or {}
    page = editor_url("builder.entity", ctx, entity=entity)
    field = request.form.get("field", "")
    if action in ("save_field", "rename_field", "remove_field") and field not in fields:
        return refused(
            ctx, _("%(entity)s has no field %(field)s.", entity=entity, field=field), page
        )
    if action == "add_field":
        name, kind = request.form.get("name", "").strip(), request.form.get("type", "string")
        if not _NAME.match(name) or name in fields or kind not in state().checker.registry:
            return refused(
                ctx, _("%(name)s is not a new field name (a-z, 0-9, _).", name=name), page
            )
        label = {_locales(ctx)[0]: name.replace("_", " ").capitalize()}
        ops: list[Operation] = [
            lambda edit: edit.set(field_path(entity, name), {"type": kind, "label": label})
        ]
        return run_edit(
            ctx,
            ops,
            editor="entities",
            what=f"add field {entity}.{name}",
            done=f"{page}#field-{name}",
        )
    if action == "save_field":
        shown = _entities_of(base_definition(ctx)).get(entity) or {}
        seen = (shown.get("fields") or {}).get(field, fields[field])
        made = field_edit(
            state().checker.registry, entity, field, seen, _locales(ctx), request.form
        )
        if made.errors:
            body = _page(ctx, entity, spec, {field: dict(made.errors)})
            return Response(body, 422, mimetype="text/html")
        return run_edit(
            ctx, made.operations, editor="entities", what=made.what, done=f"{page}#field-{field}"
        )
    if action == "rename_field":
        new = request.form.get("new_name", "").strip()
        if not _NAME.match(new) or new in fields:
            return refused(
                ctx, _("%(name)s is not a new field name (a-z, 0-9, _).", name=new), page
            )
        ops = _rename_field_ops(ctx, entity, field, fields[field], new)
        return run_edit(
            ctx,
            ops,
            editor="entities",
            what=f"rename field {entity}.{field} to {new}",
            done=f"{page}#field-{new}",
        )
    if action == "remove_field":
        ops = [lambda edit: edit.delete(field_path(entity, field))]
        return _confirmed(
            ctx,
            ops,
            _("Remove field %(name)s", name=field),
            page,
            f"remove field {entity}.{field}",
            page,
            live_loss(ctx, entity, field),
        )
    if action == "rename_entity":
        new = request.form.get("new_name", "").strip()
        if not _NAME.match(new) or new in _entities(ctx):
            return refused(
                ctx, _("%(name)s is not a new entity name (a-z, 0-9, _).", name=new), page
            )
        ops = [lambda edit: edit.rename(("entities", entity), new)]
        done = editor_url("builder.entity", ctx, entity=new)
        return _confirmed(
            ctx,
            ops,
            _("Rename entity %(name)s", name=entity),
            done,
            f"rename entity {entity} to {new}",
            page,
            live_loss(ctx, entity),
        )
    if action == "remove_entity":
        ops = [lambda edit: edit.delete(("entities", entity))]
        return _confirmed(
            ctx,
            ops,
            _("Remove entity %(name)s", name=entity),
            editor_url("builder.entities", ctx),
            f"remove entity {entity}",
            page,
            live_loss(ctx, entity),
        )
    return refused(ctx, _("Unknown action."), page)


def _rename_field_ops(
    ctx: DraftContext, entity: str, field: str, spec: Any, new: str
) -> list[Operation]:
    ops: list[Operation] = [lambda edit: edit.rename(field_path(entity, field), new)]
    live = state().registry.get(ctx.slug)
    live_entity = live.compiled.model.entities.get(entity) if live is not None else None
    had = isinstance(spec, dict) and "renamed_from" in spec
    if live_entity is not None and field in live_entity.fields and not had:
        # the live column keeps its data under the new name
        ops.append(lambda edit: edit.set(field_path(entity, new, "renamed_from"), field))
    return ops


def live_loss(ctx: DraftContext, entity: str, field: str | None = None) -> str | None:
    """What the live database holds that removing `entity` (or its `field`) would drop:
    its record count, or how many records have a value in the field — counted by
    `drafts.live_rows`/`live_values`, since the plan itself cannot be made while the edit leaves the
    draft with errors (a field still in use elsewhere)."""
    live = state().registry.get(ctx.slug)
    if live is None or entity not in live.compiled.model.entities:
        return None
    engine = state().engine
    if field is None:
        count = drafts.live_rows(engine, ctx.slug, entity)
    else:
        known = live.compiled.model.entities[entity].fields.get(field)
        if known is None:
            return None
        count = drafts.live_values(engine, ctx.slug, entity, known.columns)
    if field is None:
        return ngettext(
            "%(num)d record of %(entity)s", "%(num)d records of %(entity)s", count, entity=entity
        )
    dotted = entity + "." + field
    return ngettext(
        "%(num)d record has a value in %(field)s",
        "%(num)d records have a value in %(field)s",
        count,
        field=dotted,
    )


def _confirmed(
    ctx: DraftContext,
    ops: list[Operation],
    heading: str,
    done: str,
    what: str,
    back: str,
    loss: str | None = None,
) -> Response | str:
    """Save when the form says `confirm=yes`; else the page that shows what the live
    database would lose and asks."""
    if request.form.get("confirm") == "yes":
        return run_edit(ctx, ops, editor="entities", what=what, done=done)
    preview = preview_edit(ctx, ops)
    kept = [(k, v) for k, v in request.form.items(multi=True) if k != "csrf_token"]
    return render_template(
        "builder/editors/confirm.html",
        ctx=ctx,
        heading=heading,
        preview=preview,
        loss=loss,
        kept=kept,
        action=request.path,
        back=back,
        title=heading,
    )


def check_expression_view(slug: str, draft: int, entity: str) -> Response:
    """JSON: the problems of `expr` as field `field`'s `key` expression (`visible_when` or
    `required_when`), as validate would report them; nothing is saved."""
    ctx = open_draft(slug, draft)
    field, key = request.args.get("field", ""), request.args.get("key", "")
    fields = (_entities(ctx).get(entity) or {}).get("fields") or {}
    if field not in fields or key not in EXPRESSION_KEYS:
        abort(404)
    st = state()
    found = check_expression(
        st.checker, ctx.bundle, entity, field, key, request.args.get("expr", ""), st.settings.env
    )
    return check_reply(found)
