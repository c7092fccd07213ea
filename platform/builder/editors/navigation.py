"""The navigation editor: `…/d/<draft>/navigation` — the main navigation's entries in order.

An entry is a page without a record id in its path; its label is the page's title, edited
here per locale. Move entries up and down (buttons; the vendored SortableJS drag posts the
whole order), add a page, remove an entry. The operations find entries by page name when
they run, so a stale form moves the page it showed. Saved through `builder.editing`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from werkzeug.wrappers import Response

from portalis.engine.definition.loader import load
from portalis.engine.definition.yamledit import BundleEdit, EditError
from portalis.runtime.templating import gettext as _

from ..editing import (
    DraftContext,
    Operation,
    base_definition,
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
from .pages import locales_of, pages_of, title_ops


def register(bp: Blueprint) -> None:
    """Add the navigation editor's route to the builder blueprint."""
    bp.add_url_rule(
        "/p/<slug>/d/<int:draft>/navigation", "navigation", navigation_view, methods=["GET", "POST"]
    )


def entries_of(data: dict[str, Any]) -> list[str]:
    """The navigation's page names, in order."""
    return [str(name) for name in data.get("navigation") or []]


def _entries(edit: BundleEdit) -> list[str]:
    return entries_of(load(edit.result().bundle)[0].data)


def move_op(name: str, delta: int) -> Operation:
    """Move entry `name` by `delta` places."""

    def run(edit: BundleEdit) -> None:
        names = _entries(edit)
        if name not in names:
            raise EditError(f"the navigation has no entry {name} any more")
        index = names.index(name)
        target = max(0, min(len(names) - 1, index + delta))
        if target != index:
            edit.move_item(("navigation", index), target)

    return run


def order_op(order: list[str]) -> Operation:
    """Put the entries in `order` (the same entries, another order)."""

    def run(edit: BundleEdit) -> None:
        if sorted(_entries(edit)) != sorted(order):
            raise EditError("the navigation changed meanwhile; order it again")
        for target, name in enumerate(order):
            index = _entries(edit).index(name)
            if index != target:
                edit.move_item(("navigation", index), target)

    return run


def add_op(name: str) -> Operation:
    """Append page `name` to the navigation (creating the list when there is none)."""

    def run(edit: BundleEdit) -> None:
        names = _entries(edit)
        if name in names:
            raise EditError(f"the navigation already has {name}")
        if names:
            edit.append(("navigation",), name)
        else:
            edit.set(("navigation",), [name])

    return run


def remove_op(name: str) -> Operation:
    """Take entry `name` out of the navigation."""

    def run(edit: BundleEdit) -> None:
        names = _entries(edit)
        if name not in names:
            raise EditError(f"the navigation has no entry {name} any more")
        edit.delete(("navigation", names.index(name)))

    return run


def navigation_view(slug: str, draft: int) -> Response | str:
    """The navigation's entries with their labels; the POSTed actions change them."""
    ctx = open_draft(slug, draft)
    if request.method == "POST":
        return _post(open_draft(slug, draft, EDIT))
    return _render(ctx)


def _post(ctx: DraftContext) -> Response | str:
    here = editor_url("builder.navigation", ctx)
    action = request.form.get("action", "")
    name = request.form.get("page", "")
    anchor = f"#nav-{name}"
    if action == "labels":
        data = base_definition(ctx)
        spec = pages_of(data).get(name)
        if not isinstance(spec, dict):
            return edit_failed(ctx, EditError(_("There is no page %(name)s.", name=name)), here)
        wanted = {loc: request.form.get(f"title.{loc}", "").strip() for loc in locales_of(data)}
        ops = title_ops(("pages", name, "title"), spec.get("title"), wanted)
        return run_edit(ctx, ops, editor="navigation", what=f"label of {name}", done=here + anchor)
    choices: dict[str, tuple[Operation, str]] = {
        "up": (move_op(name, -1), f"move {name} up"),
        "down": (move_op(name, 1), f"move {name} down"),
        "add": (add_op(name), f"add {name}"),
        "remove": (remove_op(name), f"remove {name}"),
    }
    if action == "order":
        order = [n for n in request.form.get("order", "").split(",") if n]
        choices["order"] = (order_op(order), "reorder")
    if action not in choices:
        return edit_failed(ctx, EditError(_("Unknown action.")), here)
    if action == "add" and name not in addable(definition(ctx)):
        return edit_failed(
            ctx, EditError(_("%(name)s cannot be added to the navigation.", name=name)), here
        )
    op, what = choices[action]
    done = here + ("" if action == "remove" else anchor)
    return run_edit(ctx, [op], editor="navigation", what=what, done=done)


def addable(data: dict[str, Any]) -> list[str]:
    """Pages that may join the navigation: not in it yet, no record id in their path."""
    names = entries_of(data)
    return [
        name
        for name, spec in pages_of(data).items()
        if name not in names and "<" not in str((spec or {}).get("route", ""))
    ]


def _render(ctx: DraftContext) -> str:
    data = definition(ctx)
    pages = pages_of(data)
    locales = locales_of(data)
    entries = [
        (name, label_values((pages.get(name) or {}).get("title"), locales))
        for name in entries_of(data)
    ]
    return render_template(
        "builder/editors/navigation.html",
        ctx=ctx,
        entries=entries,
        locales=locales,
        addable=addable(data),
        problems=problems_under(ctx, ("navigation",)),
        message=saved_message(),
        title=_("Navigation"),
    )
