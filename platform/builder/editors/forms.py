"""The forms editor: `…/d/<draft>/forms/<page>/<int:block>` orders a form block's fields.

The form block (`- form: {entity, fields: [...]}`) has no grouping (no sections or
fieldsets in its schema), so the editor orders, adds and removes fields. Each change is one
POST saved through `builder.editing`: move a field up or down (buttons, no JavaScript
needed), set the whole order (what dragging with the vendored SortableJS submits), add one of
the entity's fields not yet in the form, remove one. The operations find fields by name when
they run, so "apply my change on top of the latest revision" moves the same field even when
someone else changed the list meanwhile (and says so when it no longer can).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from werkzeug.wrappers import Response

from portalis.engine.definition.loader import load
from portalis.engine.definition.yamledit import BundleEdit, EditError
from portalis.runtime.templating import gettext as _

from ..editing import (
    DraftContext,
    Operation,
    definition,
    edit_failed,
    editor_url,
    open_draft,
    problems_under,
    run_edit,
    saved_message,
)
from ..rights import EDIT
from .fields import label_values


def register(bp: Blueprint) -> None:
    """Add the forms editor's route to the builder blueprint."""
    bp.add_url_rule(
        "/p/<slug>/d/<int:draft>/forms/<page>/<int:block>",
        "form_block",
        form_view,
        methods=["GET", "POST"],
    )


def fields_path(page: str, block: int) -> tuple[str | int, ...]:
    """The definition path of a form block's field list."""
    return ("pages", page, "blocks", block, "form", "fields")


def form_block(data: dict[str, Any], page: str, block: int) -> dict[str, Any] | None:
    """The `form:` mapping of block `block` of `page`, if that block is a form."""
    blocks = ((data.get("pages") or {}).get(page) or {}).get("blocks") or []
    if not 0 <= block < len(blocks) or not isinstance(blocks[block], dict):
        return None
    found = blocks[block].get("form")
    return found if isinstance(found, dict) else None


def _current(edit: BundleEdit, page: str, block: int) -> list[str]:
    form = form_block(load(edit.result().bundle)[0].data, page, block)
    if form is None:
        raise EditError(f"pages.{page}.blocks.{block} is no form block any more")
    return [str(name) for name in form.get("fields") or []]


def move_op(page: str, block: int, name: str, delta: int) -> Operation:
    """Move field `name` by `delta` places (-1 up, +1 down)."""

    def run(edit: BundleEdit) -> None:
        names = _current(edit, page, block)
        if name not in names:
            raise EditError(f"the form has no field {name} any more")
        index = names.index(name)
        target = max(0, min(len(names) - 1, index + delta))
        if target != index:
            edit.move_item((*fields_path(page, block), index), target)

    return run


def order_op(page: str, block: int, order: list[str]) -> Operation:
    """Put the form's fields in `order` (the same fields, another order)."""

    def run(edit: BundleEdit) -> None:
        names = _current(edit, page, block)
        if sorted(names) != sorted(order):
            raise EditError("the form's fields changed meanwhile; order them again")
        for target, name in enumerate(order):
            names = _current(edit, page, block)
            index = names.index(name)
            if index != target:
                edit.move_item((*fields_path(page, block), index), target)

    return run


def add_op(page: str, block: int, name: str) -> Operation:
    """Append field `name` to the form."""

    def run(edit: BundleEdit) -> None:
        if name in _current(edit, page, block):
            raise EditError(f"the form already has {name}")
        edit.append(fields_path(page, block), name)

    return run


def remove_op(page: str, block: int, name: str) -> Operation:
    """Take field `name` out of the form."""

    def run(edit: BundleEdit) -> None:
        names = _current(edit, page, block)
        if name not in names:
            raise EditError(f"the form has no field {name} any more")
        if len(names) == 1:
            raise EditError("a form needs at least one field")
        edit.delete((*fields_path(page, block), names.index(name)))

    return run


def form_view(slug: str, draft: int, page: str, block: int) -> Response | str:
    """The form block's fields in order, with move, add and remove."""
    ctx = open_draft(slug, draft)
    data = definition(ctx)
    form = form_block(data, page, block)
    if form is None:
        abort(404)
    here = editor_url("builder.form_block", ctx, page=page, block=block)
    if request.method == "POST":
        return _post(open_draft(slug, draft, EDIT), page, block, here)
    return _render(ctx, data, form, page, block)


def _post(ctx: DraftContext, page: str, block: int, here: str) -> Response | str:
    action = request.form.get("action", "")
    name = request.form.get("field", "")
    ops: dict[str, tuple[Operation, str]] = {
        "up": (move_op(page, block, name, -1), f"move {name} up"),
        "down": (move_op(page, block, name, 1), f"move {name} down"),
        "add": (add_op(page, block, name), f"add {name}"),
        "remove": (remove_op(page, block, name), f"remove {name}"),
    }
    if action == "order":
        order = [n for n in request.form.get("order", "").split(",") if n]
        ops["order"] = (order_op(page, block, order), "reorder fields")
    if action not in ops:
        return edit_failed(ctx, EditError(_("Unknown action.")), here)
    op, what = ops[action]
    anchor = f"#form-field-{name}" if name and action != "remove" else ""
    return run_edit(
        ctx, [op], editor="forms", what=f"form {page}.{block}: {what}", done=here + anchor
    )


def _render(
    ctx: DraftContext, data: dict[str, Any], form: dict[str, Any], page: str, block: int
) -> str:
    entity = str(form.get("entity", ""))
    spec = ((data.get("entities") or {}).get(entity) or {}).get("fields") or {}
    locales = tuple(str(loc) for loc in data.get("locales") or ["en"])
    names = [str(n) for n in form.get("fields") or []]

    def label(name: str) -> str:
        field = spec.get(name)
        found = label_values(field.get("label"), locales) if isinstance(field, dict) else {}
        return found.get(locales[0], "") or name

    return render_template(
        "builder/editors/form.html",
        ctx=ctx,
        page=page,
        block=block,
        entity=entity,
        fields=[(n, label(n)) for n in names],
        addable=[(n, label(n)) for n in spec if n not in names],
        problems=problems_under(ctx, ("pages", page, "blocks", block)),
        message=saved_message(),
        title=_("Form on page %(page)s", page=page),
    )
