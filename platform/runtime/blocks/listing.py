"""The `list` block: a table of records with sort links, filters, search, paging and export.

URL parameters are the block's own (`sort`, `page`, `size`, `q` and one per filter field);
when a page has several lists they carry a `b<index>_` prefix. The CSV export reads the same
parameters through `parse_query`, so it holds exactly the rows the table would show.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from flask import abort, render_template, request
from markupsafe import Markup

from portalis.engine.data.errors import BadQuery
from portalis.engine.data.permissions import Actor
from portalis.engine.data.rows import Page as RecordPage
from portalis.engine.data.store import RecordStore
from portalis.engine.definition.block_configs import ListBlock
from portalis.engine.definition.model import SYSTEM_COLUMNS, Block, Entity, Page

from ..cells import ColumnCells, column_cells, rows_html
from ..display import Formatter, page_for
from ..i18n import format_number
from ..pages import page_allowed
from ..templating import gettext, label
from ..urls import page_url, portal_url, record_urls
from ..widgets import ref_options
from .base import BlockContext, BlockType

#: Parameter names a filter field may not take (it becomes `f_<name>` instead).
RESERVED_PARAMS = frozenset({"sort", "page", "size", "q", "lang", "id", "next"})
#: Columns a list may show besides fields.
LIST_SYSTEM_COLUMNS = ("id", "created_at", "updated_at", "created_by")
MAX_SIZE = 200


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The block's parameters from the URL: filters, search, sort and paging."""

    prefix: str
    filters: Mapping[str, str]
    search: str | None
    sort: str
    page: int
    size: int

    def param(self, name: str) -> str:
        """The URL name of parameter `name` for this block."""
        return self.prefix + name

    @property
    def narrowed(self) -> bool:
        """True when a filter or search is active."""
        return bool(self.filters or self.search)


def param_prefix(page: Page, block: Block) -> str:
    """`""` for the only list of a page, else `b<index>_`."""
    lists = [b for b in page.blocks if isinstance(b.config, ListBlock)]
    return "" if len(lists) <= 1 else f"b{block.index}_"


def filter_param(prefix: str, name: str) -> str:
    """The URL name of the filter on field `name`."""
    return prefix + (f"f_{name}" if name in RESERVED_PARAMS else name)


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
        and entity.fields[n].stored
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
        sort=query.sort,
        page=page or query.page,
        page_size=size or query.size,
        parent=(cfg.parent, parent_id) if cfg.parent and parent_id is not None else None,
        count=count,
        fields=list_fields(store, cfg),
        titles=title_columns(store, actor, cfg),
    )


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
        body = rows_html(cells, formatter, result.records, url_of)
        rows = result.records
        start = (result.page - 1) * result.page_size + 1
        create = page_for(ctx.portal, ctx.actor, "create", entity.name) if not cfg.parent else None
        return Markup(
            render_template(
                "blocks/list.html",
                block=ctx.block,
                cfg=cfg,
                heading=self.heading(cfg, entity),
                query=query,
                headers=[self.header(entity, c, query, ctx) for c in cells],
                body=body,
                rows=rows,
                filters=[self.filter_input(entity, n, query, ctx) for n in filters],
                hidden=self.kept_params(ctx.args, query, filters),
                result=result,
                range_text=self.range_text(cfg, result, start, ctx.locale),
                prev_url=self.url(ctx, query, page=result.page - 1) if result.page > 1 else None,
                next_url=self.url(ctx, query, page=result.page + 1) if result.has_next else None,
                clear_url=self.url(ctx, query, clear=True),
                export_url=self.export_url(ctx, query, parent_id) if cfg.export else None,
                create_url=page_url(create.name)
                if create is not None and store.policy.grants_for(ctx.actor, entity.name, "create")
                else None,
                create_label=label(create.title) if create is not None else "",
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
            field_ is not None and field_.kind.sortable and field_.stored
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
            "url": self.url(ctx, query, sort=target, page=1) if sortable else None,
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

    def kept_params(
        self, args: Mapping[str, Any], query: ListQuery, filters: Sequence[str]
    ) -> list[tuple[str, str]]:
        """Parameters of other blocks (and the sort), kept when this toolbar is submitted."""
        own = {query.param(p) for p in ("page", "q")} | {
            filter_param(query.prefix, n) for n in filters
        }
        getlist = getattr(args, "getlist", None)
        pairs = []
        for key in args:
            if key in own:
                continue
            for value in getlist(key) if getlist else [args[key]]:
                pairs.append((key, str(value)))
        return pairs

    def url(
        self,
        ctx: BlockContext,
        query: ListQuery,
        *,
        page: int | None = None,
        sort: str | None = None,
        clear: bool = False,
    ) -> str:
        """The current page's URL with this block's parameters changed."""
        getlist = getattr(ctx.args, "getlist", None)
        args = tuple((k, tuple(getlist(k)) if getlist else (ctx.args[k],)) for k in ctx.args)
        dropped = (query.param("q"), query.param("page")) + tuple(
            filter_param(query.prefix, name) for name in query.filters
        )
        change = (request.path, args, dropped if clear else (), query.param("sort"), sort)
        try:
            return changed_url(*change, query.param("page"), page)
        except TypeError:  # an unhashable argument value: the same URL, not memoized
            return changed_url.__wrapped__(*change, query.param("page"), page)

    def export_url(self, ctx: BlockContext, query: ListQuery, parent_id: int | None) -> str:
        """The CSV export of this block with the same filters, search and sort."""
        params: dict[str, Any] = {
            filter_param(query.prefix, k): v for k, v in query.filters.items()
        }
        params[query.param("q")] = query.search
        params[query.param("sort")] = query.sort
        params["id"] = parent_id
        return portal_url(f"/_export/{ctx.page.name}/{ctx.block.index}.csv", **params)


@lru_cache(maxsize=4096)
def changed_url(
    path: str,
    args: tuple[tuple[str, tuple[Any, ...]], ...],
    dropped: tuple[str, ...],
    sort_param: str,
    sort: str | None,
    page_param: str,
    page: int | None,
) -> str:
    """`path` with the query `args` less the `dropped` parameters and with a new sort and
    page (page 1 drops the parameter). Pure, so memoized: a list page asks for the same
    sort, pager and clear links on every request."""
    pairs = {k: list(values) for k, values in args}
    for key in dropped:
        pairs.pop(key, None)
    if sort is not None:
        pairs[sort_param] = [sort]
    if page is not None:
        pairs[page_param] = [str(page)]
        if page == 1:
            pairs.pop(page_param)
    flat = [(k, v) for k, values in pairs.items() for v in values]
    return path + ("?" + urlencode(flat) if flat else "")
