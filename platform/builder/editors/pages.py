"""The pages editor: `…/d/<draft>/pages/` and `…/pages/<page>`.

The list adds a page (name, path, title) and removes one (its navigation entry goes with
it). A page's screen edits its path, title per locale and roles, and its blocks: add one of
every registered block type, move blocks up and down, remove them, and change a block's
options in the form generated from its section's schema (`blocks`); a form block links to
the forms editor for its field order. Every change is saved through `builder.editing`.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, render_template, request
from werkzeug.wrappers import Response

from portalis.engine.definition.loader import load
from portalis.engine.definition.model import BUILTIN_ROLES
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
from .blocks import (
    add_op,
    block_form,
    block_sections,
    block_type,
    move_op,
    options_op,
    remove_op,
)
from .fields import NAME_PATTERN, label_values

_NAME = re.compile(NAME_PATTERN)
_ROUTE = re.compile(r"^/[A-Za-z0-9_<>/.-]{0,199}$")
_PREFIX = "/p/<slug>/d/<int:draft>/pages"


def register(bp: Blueprint) -> None:
    """Add the pages editor's routes to the builder blueprint."""
    bp.add_url_rule(f"{_PREFIX}/", "pages", pages_view, methods=["GET", "POST"])
    bp.add_url_rule(f"{_PREFIX}/<page>", "page", page_view, methods=["GET", "POST"])


def pages_of(data: dict[str, Any]) -> dict[str, Any]:
    """The definition's pages by name."""
    found = data.get("pages") or {}
    return found if isinstance(found, dict) else {}


def locales_of(data: dict[str, Any]) -> tuple[str, ...]:
    """The definition's locales (the first is the default)."""
    return tuple(str(loc) for loc in data.get("locales") or ["en"])


def title_ops(base: tuple[str, ...], written: Any, wanted: dict[str, str]) -> list[Operation]:
    """Operations writing a label (at `base`) as `wanted` (locale → text): one locale at a
    time when the label is a mapping, so the other locales keep their text."""
    locales = tuple(wanted)
    if wanted == label_values(written, locales):
        return []
    if not isinstance(written, dict):
        value = {loc: text for loc, text in wanted.items() if text}
        return [lambda edit: edit.set(base, value)] if value else []
    ops: list[Operation] = []
    for loc, text in wanted.items():
        if text == str(written.get(loc, "")):
            continue
        if text or loc in written:
            ops.append(_label_op((*base, loc), text))
    return ops


def _label_op(path: tuple[str, ...], text: str) -> Operation:
    """Set one locale's text at `path` (delete it when `text` is empty)."""
    if text:
        return lambda edit: edit.set(path, text)
    return lambda edit: edit.delete(path)


def _posted_title(locales: tuple[str, ...]) -> dict[str, str]:
    return {loc: request.form.get(f"title.{loc}", "").strip() for loc in locales}


def pages_view(slug: str, draft: int) -> Response | str:
    """The draft's pages; POST adds or removes one."""
    ctx = open_draft(slug, draft)
    here = editor_url("builder.pages", ctx)
    if request.method == "POST":
        return _pages_post(open_draft(slug, draft, EDIT), here)
    data = definition(ctx)
    return render_template(
        "builder/editors/pages.html",
        ctx=ctx,
        pages=pages_of(data),
        default_locale=locales_of(data)[0],
        problems=problems_under(ctx, ("pages",)),
        message=saved_message(),
        title=_("Pages"),
    )


def _pages_post(ctx: DraftContext, here: str) -> Response | str:
    data = definition(ctx)
    pages = pages_of(data)
    action = request.form.get("action", "")
    name = request.form.get("name", "").strip()
    if action == "add":
        route = request.form.get("route", "").strip()
        if not _NAME.match(name) or name in pages:
            return edit_failed(
                ctx, EditError(_("%(name)s is not a new page name (a-z, 0-9, _).", name=name)), here
            )
        if not _ROUTE.match(route):
            return edit_failed(
                ctx, EditError(_("%(route)s is not a path (it starts with /).", route=route)), here
            )
        title = request.form.get("title", "").strip() or name.replace("_", " ").capitalize()
        value = {"route": route, "title": {locales_of(data)[0]: title}}
        done = editor_url("builder.page", ctx, page=name)
        op: Operation = lambda edit: edit.set(("pages", name), value)  # noqa: E731
        return run_edit(ctx, [op], editor="pages", what=f"add page {name}", done=done)
    if action == "remove":
        return run_edit(
            ctx, [remove_page_op(name)], editor="pages", what=f"remove page {name}", done=here
        )
    return edit_failed(ctx, EditError(_("Unknown action.")), here)


def remove_page_op(name: str) -> Operation:
    """Remove page `name` and its navigation entry."""

    def run(edit: BundleEdit) -> None:
        data = load(edit.result().bundle)[0].data
        if name not in pages_of(data):
            raise EditError(f"the definition has no page {name} any more")
        navigation = list(data.get("navigation") or [])
        if name in navigation:
            edit.delete(("navigation", navigation.index(name)))
        edit.delete(("pages", name))

    return run


def page_view(slug: str, draft: int, page: str) -> Response | str:
    """One page: its settings and blocks; the POSTed actions change them."""
    ctx = open_draft(slug, draft)
    if page not in pages_of(definition(ctx)):
        abort(404)
    if request.method == "POST":
        return _page_post(open_draft(slug, draft, EDIT), page)
    return _render(ctx, page)


def _page_post(ctx: DraftContext, page: str) -> Response | str:
    here = editor_url("builder.page", ctx, page=page)
    action = request.form.get("action", "")
    sections = block_sections()
    kind = request.form.get("type", "")
    raw_index = request.form.get("block", "")
    index = int(raw_index) if raw_index.isdigit() else -1
    if action == "settings":
        return _save_settings(ctx, page, here)
    if kind not in sections:
        return edit_failed(ctx, EditError(_("Unknown block type %(type)s.", type=kind)), here)
    anchor = f"#block-{index}"
    simple: dict[str, tuple[Operation, str, str]] = {
        "add": (add_op(page, sections[kind]), f"add {kind} block", "#blocks-end"),
        "up": (move_op(page, index, kind, -1), f"move block {index + 1} up", f"#block-{index - 1}"),
        "down": (move_op(page, index, kind, 1), f"move block {index + 1} down", f"#block-{index + 1}"),
        "remove": (remove_op(page, index, kind), f"remove block {index + 1}", "#blocks-end"),
    }  # fmt: skip
    if action in simple:
        op, what, anchor = simple[action]
        return run_edit(ctx, [op], editor="pages", what=f"page {page}: {what}", done=here + anchor)
    if action != "options":
        return edit_failed(ctx, EditError(_("Unknown action.")), here)
    blocks = pages_of(base_definition(ctx))[page].get("blocks") or []
    if not 0 <= index < len(blocks) or block_type(blocks[index]) != kind:
        return edit_failed(ctx, EditError(f"block {index + 1} is no {kind} block any more"), here)
    made = block_form(sections[kind], blocks[index][kind], f"b{index}")
    parsed = made.form.parse(request.form)
    if not parsed.ok:
        body = _render(ctx, page, posted={index: made})
        return Response(body, 422, mimetype="text/html")
    op = options_op(page, index, kind, made.changes(parsed.changes))
    what = f"page {page}: {kind} block {index + 1} options"
    return run_edit(ctx, [op], editor="pages", what=what, done=here + anchor)


def _save_settings(ctx: DraftContext, page: str, here: str) -> Response | str:
    data = base_definition(ctx)
    spec = pages_of(data)[page]
    ops: list[Operation] = []
    route = request.form.get("route", "").strip()
    if route != str(spec.get("route", "")):
        if not _ROUTE.match(route):
            return edit_failed(
                ctx, EditError(_("%(route)s is not a path (it starts with /).", route=route)), here
            )
        ops.append(lambda edit: edit.set(("pages", page, "route"), route))
    wanted = _posted_title(locales_of(data))
    ops.extend(title_ops(("pages", page, "title"), spec.get("title"), wanted))
    roles = [r for r in request.form.getlist("roles") if r in _roles(data)]
    if roles != list(spec.get("roles") or []):
        if roles:
            ops.append(lambda edit: edit.set(("pages", page, "roles"), roles))
        else:
            ops.append(lambda edit: edit.delete(("pages", page, "roles")))
    return run_edit(ctx, ops, editor="pages", what=f"page {page}: settings", done=here)


def _roles(data: dict[str, Any]) -> list[str]:
    declared = data.get("roles") or {}
    return [*BUILTIN_ROLES, *(declared if isinstance(declared, dict) else [])]


def _render(ctx: DraftContext, page: str, posted: dict[int, Any] | None = None) -> str:
    data = definition(ctx)
    spec = pages_of(data)[page]
    sections = block_sections()
    locales = locales_of(data)
    rows = []
    for index, block in enumerate(spec.get("blocks") or []):
        kind = block_type(block)
        section = sections.get(kind or "")
        made = (posted or {}).get(index)
        if made is None and section is not None and kind is not None:
            made = block_form(section, block[kind], f"b{index}")
        rows.append({"index": index, "type": kind, "section": section, "form": made})
    return render_template(
        "builder/editors/page.html",
        ctx=ctx,
        page=page,
        spec=spec,
        locales=locales,
        titles=label_values(spec.get("title"), locales),
        roles=_roles(data),
        blocks=rows,
        sections=sections,
        problems=problems_under(ctx, ("pages", page)),
        message=saved_message(),
        title=_("Page %(name)s", name=page),
    )
