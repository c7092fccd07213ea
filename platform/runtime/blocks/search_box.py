"""The `search_box` block: a GET form that opens a list page with the typed words as `?q=`
(`?b<index>_q=` when that page has several lists).

It submits to the target page, whose first list reads `q` like its own search box; the block
is left out for readers who may not open that page, so no one is sent to a refusal.
"""

from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from portalis.engine.definition.block_configs import ListBlock, SearchBoxBlock
from portalis.engine.definition.model import Page

from ..page_records import page_allowed
from ..templating import gettext, label
from ..urls import page_url
from .base import BlockContext, BlockType
from .listing import param_prefix


def search_param(page: Page) -> str:
    """The parameter the page's first searchable list reads its words from (`q`, or
    `b<index>_q` on a page with several lists)."""
    for block in page.blocks:
        if isinstance(block.config, ListBlock) and block.config.search:
            return param_prefix(page, block) + "q"
    return "q"


class SearchBoxBlockType(BlockType):
    """Renders `search_box` blocks."""

    name = "search_box"

    def render(self, ctx: BlockContext) -> Markup:
        """The search form, or nothing when the reader may not open the target page."""
        cfg: SearchBoxBlock = ctx.block.config
        target = ctx.portal.compiled.model.pages[cfg.page]
        if not page_allowed(target, ctx.actor):
            return Markup("")
        button = label(cfg.button) if cfg.button is not None else gettext("Search")
        return Markup(
            render_template(
                "blocks/search_box.html",
                block=ctx.block,
                action=page_url(cfg.page),
                title=label(cfg.title) if cfg.title is not None else "",
                placeholder=label(cfg.placeholder) if cfg.placeholder is not None else "",
                button=button,
                param=search_param(target),
                field_label=gettext("Search for"),
            )
        )
