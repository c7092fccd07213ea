"""Page views: guard the page's roles, load its record, render its blocks in the layout.

A page whose route has `<id>` shows one record: the entity comes from its detail block (or
edit form, or the parent of its list/form blocks). The record is loaded through the store
with the actor, so a record the actor may not read is a 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import abort, g, redirect, request
from markupsafe import Markup

from portalis.engine.data.errors import NotFound
from portalis.engine.data.permissions import Actor
from portalis.engine.data.rows import Record
from portalis.engine.definition.block_configs import DetailBlock, FormBlock, ListBlock
from portalis.engine.definition.model import Page, PortalModel

from .blocks.base import BlockContext
from .context import state
from .page_shell import render_page
from .registry import RuntimePortal
from .urls import portal_url


def page_entity(model: PortalModel, page: Page) -> str | None:
    """The entity whose record a page with `<id>` shows."""
    for block in page.blocks:
        cfg = block.config
        if isinstance(cfg, DetailBlock):
            return cfg.entity
        if isinstance(cfg, FormBlock) and cfg.mode == "edit":
            return cfg.entity
    for block in page.blocks:
        cfg = block.config
        if isinstance(cfg, ListBlock | FormBlock) and cfg.parent:
            ref = model.entities[cfg.entity].fields[cfg.parent]
            target = getattr(ref.config, "to", None)
            if isinstance(target, str):
                return target
    return None


def page_record(portal: RuntimePortal, actor: Actor, page: Page, record_id: Any) -> Record | None:
    """The record a page with <id> shows, read as `actor` (404 when unseen); None otherwise."""
    if not page.has_id:
        return None
    entity = page_entity(portal.compiled.model, page)
    if entity is None:
        abort(404)
    try:
        return portal.store.get(actor, entity, record_id)
    except NotFound:
        abort(404)


def page_allowed(page: Page, actor: Actor) -> bool:
    """True when one of the actor's roles may open the page."""
    return bool(page.roles & actor.roles)


def page_view(portal: RuntimePortal, actor: Actor, name: str, args: Mapping[str, Any]) -> Any:
    """GET renders the page; POST goes to the block named in `_block`."""
    model = portal.compiled.model
    page = model.pages[name]
    if not page_allowed(page, actor):
        if not actor.is_authenticated:
            return redirect(portal_url("/login", next=request.full_path.rstrip("?")))
        abort(403)
    record = page_record(portal, actor, page, args.get("id"))
    contexts = [
        BlockContext(portal, page, block, actor, g.locale, record, request.args)
        for block in page.blocks
    ]
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
    html = [render_block(ctx) for ctx in contexts]
    title = page.title.get(g.locale, model.default_locale)
    if record is not None:
        shown = model.entities[record.entity]
        title = f"{shown.title_of(record.values)} · {title}"
    status = 422 if any(c.errors for c in contexts) else 200
    return render_page(portal, actor, page, html, title, record), status


def render_block(ctx: BlockContext) -> Markup:
    """One block's HTML (an unknown block type renders nothing visible)."""
    block_type = state().blocks.get(ctx.block.type)
    if block_type is None:
        return Markup("")
    return Markup(block_type.render(ctx))
