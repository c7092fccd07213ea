"""The `related` block: links to records related to the page's record (`fulltext.related`),
those the reader may read only; nothing at all when there are none."""

from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from portalis.engine.data.fulltext.related import related_records
from portalis.engine.definition.related_section import RelatedBlock

from ..templating import gettext, label
from ..urls import page_url
from .base import BlockContext, BlockType


class RelatedBlockType(BlockType):
    """Renders `related` blocks."""

    name = "related"

    def render(self, ctx: BlockContext) -> Markup:
        """A heading and a list of links, or nothing."""
        cfg: RelatedBlock = ctx.block.config
        record = ctx.record
        if record is None or record.entity != cfg.entity:
            return Markup("")
        found = related_records(ctx.store, ctx.actor, record, cfg.same, cfg.limit)
        if not found:
            return Markup("")
        target = cfg.link or ctx.page.name
        return Markup(
            render_template(
                "blocks/related.html",
                block=ctx.block,
                title=label(cfg.title) if cfg.title is not None else gettext("Related"),
                links=[(page_url(target, r.id), r.title) for r in found],
            )
        )
