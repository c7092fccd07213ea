"""Which record a page shows and who may open it: the checks every path to a page shares.

A page whose route has `<id>` shows one record: the entity comes from its detail block (or
edit form, or the parent of its list/form blocks). The record is loaded through the store
with the actor, so a record the actor may not read is a 404.
"""

from __future__ import annotations

from typing import Any

from flask import abort

from portalis.engine.data.errors import NotFound
from portalis.engine.data.permissions import Actor
from portalis.engine.data.rows import Record
from portalis.engine.definition.block_configs import DetailBlock, FormBlock, ListBlock
from portalis.engine.definition.model import Page, PortalModel

from .registry import RuntimePortal


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
