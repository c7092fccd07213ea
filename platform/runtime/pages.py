"""Page views: guard the page's roles, load its record, render its blocks in the layout.

A page whose route has `<id>` shows one record (`page_records`): a record the actor may not
read is a 404. `GET <page>?_fragment=<block index>` answers one block's HTML alone, after the
same checks — live pages (`live`) re-fetch the blocks that changed so, rendered exactly as
on the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import abort, g, redirect, request
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from portalis.engine.data.permissions import Actor

from .blocks.base import BlockContext
from .context import state
from .live import NO_STORE, live_element
from .page_records import page_allowed, page_entity, page_record
from .page_shell import render_page
from .registry import RuntimePortal
from .urls import portal_url

#: The query parameter that asks for one block's HTML instead of the whole page.
FRAGMENT_PARAM = "_fragment"


def page_view(portal: RuntimePortal, actor: Actor, name: str, args: Mapping[str, Any]) -> Any:
    """GET renders the page; POST goes to the block named in `_block`."""
    model = portal.compiled.model
    page = model.pages[name]
    if not page_allowed(page, actor):
        if not actor.is_authenticated:
            return redirect(portal_url("/login", next=request.full_path.rstrip("?")))
        abort(403)
    record = page_record(portal, actor, page, args.get("id"))
    fragment = request.args.get(FRAGMENT_PARAM) if request.method == "GET" else None
    query = request.args
    if fragment is not None:
        query = MultiDict(request.args)
        query.poplist(FRAGMENT_PARAM)
    contexts = [
        BlockContext(portal, page, block, actor, g.locale, record, query) for block in page.blocks
    ]
    if fragment is not None:
        return _fragment(contexts, fragment)
    if request.method == "POST":
        try:
            index = int(request.form.get("_block", "-1"))
        except ValueError:
            abort(400)
        if not 0 <= index < len(contexts):
            abort(400)
        ctx = contexts[index]
        ctx.form = request.form
        ctx.files = request.files
        block_type = state().blocks.get(ctx.block.type)
        if block_type is None:
            abort(404)
        response = block_type.handle_post(ctx)
        if response is not None:
            return response
    # the live element reads its stamps before the blocks render (see `live.live_element`)
    live = live_element(
        portal, actor, page, None if record is None else record.id,
        page_entity(model, page) if record is not None else None,
    )  # fmt: skip
    html = [render_block(ctx) for ctx in contexts]
    if live is not None:
        html.append(live)
    title = page.title.get(g.locale, model.default_locale)
    if record is not None:
        shown = model.entities[record.entity]
        title = f"{shown.title_of(record.values)} · {title}"
    # a block may answer with its own status (413: an upload over the limit)
    status = g.get("block_status") or (422 if any(c.errors for c in contexts) else 200)
    return render_page(portal, actor, page, html, title, record), status


def render_block(ctx: BlockContext) -> Markup:
    """One block's HTML (an unknown block type renders nothing visible)."""
    block_type = state().blocks.get(ctx.block.type)
    if block_type is None:
        return Markup("")
    return Markup(block_type.render(ctx))


def _fragment(contexts: list[BlockContext], raw: str) -> Response:
    """One block's HTML without the layout (never stored: it is the viewer's own)."""
    if not raw.isdigit() or not 0 <= int(raw) < len(contexts):
        abort(404)
    html = render_block(contexts[int(raw)])
    return Response(html, mimetype="text/html", headers={"Cache-Control": NO_STORE})
