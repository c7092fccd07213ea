"""The `list` block: a table of records with sort links, filters, search, paging and export.

URL parameters are the block's own (`sort`, `page`, `size`, `q` and one per filter field);
when a page has several lists they carry a `b<index>_` prefix. The CSV export reads the same
parameters through `parse_query`, so it holds exactly the rows the table would show.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import abort, render_template
from markupsafe import Markup

from portalis.engine.data.errors import BadQuery
from portalis.engine.data.permissions import Actor
from portalis.engine.data.rows import Page as RecordPage
from portalis.engine.data.store import RecordStore
from portalis.engine.definition.block_configs import ListBlock
from portalis.engine.definition.model import SYSTEM_COLUMNS, Block, Entity, Page

from ..cells import ColumnCells, column_cells, rows_html
from ..display import Formatter, page_for
from ..fragments import fragments_of, hole
from ..i18n import format_number
from ..page_records import page_allowed
from ..templating import gettext, label
from ..urls import page_url, record_urls
from ..widgets import ref_options
from .base import BlockContext, BlockType
from .list_bulk import bulk_bar, bulk_hidden, import_url, select_cell
from .list_frame import CACHE as FRAME_CACHE
from .list_frame import HOLES, frame_key
from .list_urls import (
    ListQuery,
    export_url,
    filter_param,
    kept_params,
    list_url,
)

#: Columns a list may show besides fields.
LIST_SYSTEM_COLUMNS = ("id", "created_at", "updated_at", "created_by")
MAX_SIZE = 200


def param_prefix(page: Page, block: Block) -> str:
    """`""` for the only list of a page, else `b<index>_`."""
    lists = [b for b in page.blocks if isinstance(b.config, ListBlock)]
    return "" if len(lists) <= 1 else f"b{block.index}_"


def readable_filters(store: RecordStore, actor: Actor, cfg: ListBlock) -> list[str]:
    """Filter fields of the block the actor may read and the field type can filter."""
    entity = store.entity(cfg.entity)
    mask = store.policy.field_mask(actor, entity.name, "read")
    return [
        n
        for n in cfg.filters
        if n in mask
        and n in entity.fields
        and entity.fields[n].kind.filterable
        and entity.fields[n].in_database
    ]


def parse_query(
    cfg: ListBlock, args: Mapping[str, Any], prefix: str, filters: Sequence[str]
) -> ListQuery:
    """The list parameters in `args`; bad sort/filter values surface later as BadQuery."""
    chosen = {}
    for name in filters:
        value = args.get(filter_param(prefix, name))
        if isinstance(value, str) and value.strip():
            chosen[name] = value.strip()[:200]
    search = args.get(prefix + "q") if cfg.search else None
    search = search.strip()[:200] if isinstance(search, str) and search.strip() else None
    sort = args.get(prefix + "sort") or cfg.sort
    return ListQuery(
        prefix=prefix,
        filters=chosen,
        search=search,
        sort=str(sort),
        page=_positive(args.get(prefix + "page"), 1, 100_000),
        size=_positive(args.get(prefix + "size"), cfg.page_size, MAX_SIZE),
    )


def _positive(raw: Any, default: int, high: int) -> int:
    try:
        value = int(str(raw))
    except ValueError:
        return default
    return value if 1 <= value <= high else default


def visible_columns(store: RecordStore, actor: Actor, cfg: ListBlock) -> list[str]:
    """The block's columns the actor may read (system columns always)."""
    mask = store.policy.field_mask(actor, cfg.entity, "read")
    return [c for c in cfg.columns if c in LIST_SYSTEM_COLUMNS or c in mask]


def fetch(
    store: RecordStore,
    actor: Actor,
    cfg: ListBlock,
    query: ListQuery,
    parent_id: int | None,
    *,
    page: int | None = None,
    size: int | None = None,
    count: bool = True,
) -> RecordPage:
    """One page of the list for `actor` (BadQuery for a bad sort or filter)."""
    return store.list(
        actor,
        cfg.entity,
        filters=dict(query.filters),
        search=query.search,
        search_fields=cfg.search or None,
        # a full-text search ranks by relevance unless the reader chose another sort
        sort=None if query.search and cfg.sort == query.sort and ranked(store, cfg) else query.sort,
        page=page or query.page,
        page_size=size or query.size,
        parent=(cfg.parent, parent_id) if cfg.parent and parent_id is not None else None,
        count=count,
        fields=list_fields(store, cfg),
        titles=title_columns(store, actor, cfg),
    )


def ranked(store: RecordStore, cfg: ListBlock) -> bool:
    """True when the block's entity has a full-text index (its searches rank)."""
    return store.model.entities[cfg.entity].full_text is not None


def title_columns(store: RecordStore, actor: Actor, cfg: ListBlock) -> list[str]:
    """Visible columns showing another record's title: references and `created_by`."""
    fields = store.model.entities[cfg.entity].fields
    return [
        c
        for c in visible_columns(store, actor, cfg)
        if c == "created_by" or (c in fields and fields[c].type == "ref")
    ]


def list_fields(store: RecordStore, cfg: ListBlock) -> list[str]:
    """Fields a list page loads: its columns and the entity's title field (row links)."""
    entity = store.model.entities[cfg.entity]
    wanted = [c for c in cfg.columns if c in entity.fields]
    if entity.title_field and entity.title_field not in wanted:
        wanted.append(entity.title_field)
    return wanted


@dataclass(slots=True)
class FilterInput:
    """One filter control of the toolbar."""

    name: str
    id: str
    label: str
    kind: str  # select | input
    input_type: str = "text"
    value: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)


class ListBlockType(BlockType):
    """Renders `list` blocks."""

    name = "list"

    def render(self, ctx: BlockContext) -> Markup:
        """The table, its toolbar, pager and export link."""
        cfg: ListBlock = ctx.block.config
        store = ctx.store
        if not store.policy.grants_for(ctx.actor, cfg.entity, "read"):
            return Markup("")
        if cfg.parent and ctx.record is None:
            return Markup("")
        entity = store.entity(cfg.entity)
        filters = readable_filters(store, ctx.actor, cfg)
        query = parse_query(cfg, ctx.args, param_prefix(ctx.page, ctx.block), filters)
        parent_id = ctx.record.id if cfg.parent and ctx.record is not None else None
        try:
            result = fetch(store, ctx.actor, cfg, query, parent_id, count=cfg.total)
        except BadQuery:
            abort(400)
        columns = visible_columns(store, ctx.actor, cfg)
        formatter = Formatter(ctx.portal, ctx.actor, ctx.locale)
        formatter.prepare(entity, columns, result.records, result.titles)
        cells = [column_cells(ctx.portal, formatter, entity, c) for c in columns]
        link_page = ctx.portal.compiled.model.pages.get(cfg.link or "")
        linkable = link_page is not None and link_page.has_id and page_allowed(link_page, ctx.actor)
        url_of = record_urls(link_page.name) if linkable and link_page else None
        bar = bulk_bar(ctx, cfg, parent_id)
        select = select_cell(ctx.block.index, entity) if bar is not None else None
        body = rows_html(cells, formatter, result.records, url_of, select)
        start = (result.page - 1) * result.page_size + 1
        holes = {
            "body": body,
            "range": self.range_text(cfg, result, start, ctx.locale),
            "prev": list_url(ctx, query, page=result.page - 1) if result.page > 1 else None,
            "next": list_url(ctx, query, page=result.page + 1) if result.has_next else None,
            "bulk": bulk_hidden() if bar is not None else None,
        }
        key = frame_key(ctx, entity, filters, query.param("page"), parent_id, result)
        if key is not None:
            frame = fragments_of(ctx.portal.cache, FRAME_CACHE).get_or_render(
                key,
                lambda: self.frame(
                    ctx,
                    entity,
                    query,
                    filters,
                    parent_id,
                    result,
                    cells,
                    {name: hole(name) if holes[name] is not None else None for name in HOLES},
                ),
                HOLES,
            )
            if frame is not None:
                return frame.fill(holes)
        return self.frame(ctx, entity, query, filters, parent_id, result, cells, holes)

    def frame(
        self,
        ctx: BlockContext,
        entity: Entity,
        query: ListQuery,
        filters: Sequence[str],
        parent_id: int | None,
        result: RecordPage,
        cells: Sequence[ColumnCells],
        holes: Mapping[str, Any],
    ) -> Markup:
        """`blocks/list.html` around the rows, range text and pager links in `holes`."""
        cfg: ListBlock = ctx.block.config
        store = ctx.store
        create = page_for(ctx.portal, ctx.actor, "create", entity.name) if not cfg.parent else None
        return Markup(
            render_template(
                "blocks/list.html",
                block=ctx.block,
                cfg=cfg,
                heading=self.heading(cfg, entity),
                query=query,
                headers=[self.header(entity, c, query, ctx) for c in cells],
                body=holes["body"],
                rows=result.records,
                filters=[self.filter_input(entity, n, query, ctx) for n in filters],
                hidden=kept_params(ctx.args, query, filters),
                result=result,
                range_text=holes["range"],
                prev_url=holes["prev"],
                next_url=holes["next"],
                clear_url=list_url(ctx, query, clear=True),
                export_url=export_url(ctx, query, parent_id) if cfg.export else None,
                create_url=page_url(create.name)
                if create is not None and store.policy.grants_for(ctx.actor, entity.name, "create")
                else None,
                create_label=label(create.title) if create is not None else "",
                bulk=bulk_bar(ctx, cfg, parent_id),
                bulk_hidden=holes["bulk"],
                import_url=import_url(ctx, cfg),
            )
        )

    # -- pieces -----------------------------------------------------------------------------
    def range_text(self, cfg: ListBlock, result: RecordPage, start: int, locale: str) -> str:
        """`1–25 of 132` (`10,000+` past the count's bound), or `1–25` without `total`."""
        first = format_number(start, locale)
        last = format_number(start + len(result.records) - 1, locale)
        if not cfg.total:
            return f"{first}–{last}"
        total = format_number(result.total, locale) + ("" if result.total_exact else "+")
        return gettext("%(start)s–%(end)s of %(total)s", start=first, end=last, total=total)

    def heading(self, cfg: ListBlock, entity: Entity) -> str:
        """The block title: `title`, else the plural label on record pages (conversations)."""
        if cfg.title is not None:
            return label(cfg.title)
        return label(entity.plural_label, entity.name) if cfg.parent else ""

    def header(
        self, entity: Entity, column: ColumnCells, query: ListQuery, ctx: BlockContext
    ) -> dict[str, Any]:
        """A column heading with its sort link (only for sortable, readable columns)."""
        name = column.name
        field_ = entity.fields.get(name)
        sortable = (name in SYSTEM_COLUMNS and name != "created_by") or (
            field_ is not None and field_.kind.sortable and field_.in_database
        )
        current = query.sort.lstrip("-") == name
        descending = query.sort.startswith("-")
        if current:
            target = name if descending else f"-{name}"
        else:
            newest_first = name in ("created_at", "updated_at") or (
                field_ is not None and field_.type in ("date", "datetime")
            )
            target = f"-{name}" if newest_first else name
        return {
            "name": name,
            "label": column.label,
            "url": list_url(ctx, query, sort=target, page=1) if sortable else None,
            "sort": ("descending" if descending else "ascending") if current else None,
        }

    def filter_input(
        self, entity: Entity, name: str, query: ListQuery, ctx: BlockContext
    ) -> FilterInput:
        """The toolbar control of one filter field."""
        field_ = entity.fields[name]
        fmt_label = label(field_.label, name)
        param = filter_param(query.prefix, name)
        item = FilterInput(
            param,
            f"b{ctx.block.index}-filter-{name}",
            fmt_label,
            "select",
            value=query.filters.get(name, ""),
        )
        all_option = ("", gettext("All"))
        if field_.type == "choice":
            item.options = [
                all_option,
                *[(c.value, label(c.label, c.value)) for c in field_.config.choices],
            ]
        elif field_.type == "bool":
            item.options = [all_option, ("true", gettext("Yes")), ("false", gettext("No"))]
        elif field_.type == "tags" and getattr(field_.config, "restricted", False):
            item.options = [
                all_option,
                *[(c.value, label(c.label, c.value)) for c in field_.config.choices],
            ]
        elif field_.type == "ref":
            options, complete = ref_options(ctx.store, ctx.actor, field_.config.to)
            if complete:
                item.options = [all_option, *options]
            else:
                item.kind, item.input_type = "input", "number"
        else:
            item.kind = "input"
            item.input_type = "date" if field_.type == "date" else "text"
        return item
