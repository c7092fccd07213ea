"""The `search` block: a search box over several entities' full-text indexes.

The hits come from the engine (`fulltext.site.search_entities`): per entity, the actor's row
filter and the match in one statement, fields the actor may not read neither matched nor
shown; then interleaved by score. Each hit links to the record's page when the reader may
open that page, and shows a snippet whose every segment Jinja escapes before the matched
words are wrapped in `<mark>`.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template
from markupsafe import Markup

from portalis.engine.data.fulltext.site import SearchHit, search_entities
from portalis.engine.data.permissions import Actor
from portalis.engine.definition.block_configs import DetailBlock
from portalis.engine.definition.model import Block, Page, PortalModel
from portalis.engine.definition.search_section import SearchBlock

from ..page_records import page_allowed
from ..templating import label
from ..urls import record_urls
from .base import BlockContext, BlockType

#: Characters of a search the block reads.
MAX_QUERY_CHARS = 200


@dataclass(frozen=True, slots=True)
class ShownHit:
    """A hit as the template shows it: the link (None when the reader may not open the
    record's page), the entity's label and the engine's hit."""

    url: str | None
    kind: str
    hit: SearchHit


def search_param(page: Page, block: Block) -> str:
    """`search` for the only search block of a page, else `b<index>_search`."""
    boxes = [b for b in page.blocks if isinstance(b.config, SearchBlock)]
    return "search" if len(boxes) <= 1 else f"b{block.index}_search"


def hit_page(model: PortalModel, cfg: SearchBlock, entity: str) -> str | None:
    """The page a hit of `entity` links to: `links:`, else the page with `<id>` whose detail
    block shows the entity."""
    if entity in cfg.links:
        return cfg.links[entity]
    for page in model.pages.values():
        if page.has_id and any(
            isinstance(b.config, DetailBlock) and b.config.entity == entity for b in page.blocks
        ):
            return page.name
    return None


class SearchBlockType(BlockType):
    """Renders `search` blocks."""

    name = "search"

    def render(self, ctx: BlockContext) -> Markup:
        """The search box and, for a search, its hits (or a no-match note)."""
        cfg: SearchBlock = ctx.block.config
        param = search_param(ctx.page, ctx.block)
        raw = ctx.args.get(param)
        query = raw.strip()[:MAX_QUERY_CHARS] if isinstance(raw, str) else ""
        readable = [e for e in cfg.entities if ctx.store.policy.grants_for(ctx.actor, e, "read")]
        hits: list[ShownHit] = []
        if query and readable:
            found = search_entities(ctx.store, ctx.actor, readable, query, cfg.limit)
            hits = self.shown(ctx, cfg, ctx.actor, found)
        return Markup(
            render_template(
                "blocks/search.html",
                block=ctx.block,
                param=param,
                query=query,
                hits=hits,
                heading=label(cfg.label) if cfg.label else None,
            )
        )

    def shown(
        self, ctx: BlockContext, cfg: SearchBlock, actor: Actor, found: list[SearchHit]
    ) -> list[ShownHit]:
        """Links and labels of the hits."""
        model = ctx.portal.compiled.model
        urls = {}
        for entity in {h.entity for h in found}:
            page = model.pages.get(hit_page(model, cfg, entity) or "")
            urls[entity] = record_urls(page.name) if page and page_allowed(page, actor) else None
        out = []
        for hit in found:
            url_of = urls[hit.entity]
            kind = label(model.entities[hit.entity].label)
            out.append(ShownHit(url_of(hit.id) if url_of else None, kind, hit))
        return out
