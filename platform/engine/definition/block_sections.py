"""The built-in blocks' definition sections: list, detail, form, markdown, search_box and metrics.

They go through the same seam as a plugin's block type: a `DefinitionSection` with the options'
schema (`block_schemas`), the checks a schema cannot state (references to entities, fields and
pages; routes that carry the record id) and the compile step that makes the `block_configs`
dataclass the runtime reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..problems import JsonPath
from . import block_schemas
from .block_bulk import compile_bulk
from .block_configs import DetailBlock, FormBlock, ListBlock, MarkdownBlock, SearchBoxBlock
from .block_import import check_import, compile_import
from .block_lines import check_lines, compile_lines
from .metric_section import check_metrics, compile_metrics
from .model import SYSTEM_COLUMNS
from .sections import DefinitionSection, SectionContext
from .values import Label


def _has_id(ctx: SectionContext) -> bool:
    return "<id>" in str((ctx.page or {}).get("route", ""))


def shown_entity(page: Mapping[str, Any] | None) -> str | None:
    """The entity whose record a page with <id> shows (its detail block, or edit form)."""
    for block in (page or {}).get("blocks") or []:
        kind, options = next(iter(block.items()))
        if isinstance(options, dict) and (
            kind == "detail" or (kind == "form" and options.get("mode") == "edit")
        ):
            return str(options.get("entity"))
    return None


def _check_parent(ctx: SectionContext, entity: str, parent: str, path: JsonPath) -> None:
    """`parent:` names a ref field pointing to the record the page shows."""
    fields = ctx.fields_of(entity)
    spec = fields.get(parent)
    shown = shown_entity(ctx.page)
    if spec is None or spec.get("type") != "ref":
        refs = [n for n, f in fields.items() if f.get("type") == "ref"]
        ctx.problem(
            "ref-unknown-field",
            f"parent {parent!r} is not a ref field of {entity}",
            path,
            ctx.suggest(parent, refs),
        )
    elif not _has_id(ctx):
        ctx.problem(
            "block-route", "a block with parent: belongs on a page whose route has <id>", path
        )
    elif shown is not None and spec.get("to") != shown:
        ctx.problem(
            "block-option",
            f"parent {parent!r} refers to {spec.get('to')}, but this page shows a {shown}",
            path,
            f"use the ref field of {entity} that points to {shown}",
        )


def check_list(options: dict[str, Any], path: JsonPath, ctx: SectionContext) -> None:
    """Columns, filters, search, sort, link and parent of a list block."""
    entity = options["entity"]
    if not ctx.check_entity(entity, (*path, "entity")):
        return
    for i, col in enumerate(options.get("columns") or []):
        ctx.check_field(entity, col, (*path, "columns", i), system=True)
    for i, col in enumerate(options.get("filters") or []):
        ctx.check_field(entity, col, (*path, "filters", i), need="filterable")
    for i, col in enumerate(options.get("search") or []):
        ctx.check_field(entity, col, (*path, "search", i), need="searchable")
    sort = str(options.get("sort", "-updated_at")).lstrip("-")
    ctx.check_field(entity, sort, (*path, "sort"), need="sortable", system=True)
    if options.get("link") is not None:
        ctx.check_page(options["link"], (*path, "link"), need_id=True)
    if options.get("parent") is not None:
        _check_parent(ctx, entity, options["parent"], (*path, "parent"))
    elif options.get("live"):
        ctx.problem(
            "live-needs-parent",
            "live: applies to a list of a record's children (a list block with parent:)",
            (*path, "live"),
            "add parent: (the ref to the page's record) or remove live:",
        )
    check_import(ctx, entity, options, path)


def check_detail(options: dict[str, Any], path: JsonPath, ctx: SectionContext) -> None:
    """A detail block sits on a page with <id> and names fields of its entity."""
    entity = options["entity"]
    if not ctx.check_entity(entity, (*path, "entity")):
        return
    if not _has_id(ctx):
        ctx.problem(
            "block-route",
            f"a detail block needs a route with <id>; page {path[1]!r} has none",
            path,
        )
    for i, col in enumerate(options.get("fields") or []):
        ctx.check_field(entity, col, (*path, "fields", i), system=True)
    ctx.check_roles((options.get("history") or {}).get("roles") or [], (*path, "history", "roles"))


def check_form(options: dict[str, Any], path: JsonPath, ctx: SectionContext) -> None:
    """Editable fields, the edit mode's route, redirect and parent of a form block."""
    entity = options["entity"]
    if not ctx.check_entity(entity, (*path, "entity")):
        return
    if options.get("mode") == "edit" and not _has_id(ctx):
        ctx.problem("block-route", "an edit form needs a route with <id>", (*path, "mode"))
    for i, col in enumerate(options.get("fields") or []):
        if col in SYSTEM_COLUMNS:
            ctx.problem(
                "ref-unknown-field",
                f"{col!r} is a system column and cannot be edited",
                (*path, "fields", i),
            )
        else:
            ctx.check_field(entity, col, (*path, "fields", i))
    if options.get("redirect") is not None:
        ctx.check_page(options["redirect"], (*path, "redirect"))
    if options.get("parent") is not None:
        _check_parent(ctx, entity, options["parent"], (*path, "parent"))
    if isinstance(options.get("lines"), dict):
        check_lines(ctx, entity, options["lines"], (*path, "lines"))


def compile_list(options: dict[str, Any]) -> ListBlock:
    """The runtime's `ListBlock`."""
    return ListBlock(
        entity=options["entity"],
        columns=tuple(options["columns"]),
        filters=tuple(options.get("filters") or ()),
        search=tuple(options.get("search") or ()),
        sort=options.get("sort", "-updated_at"),
        page_size=int(options.get("page_size", 25)),
        link=options.get("link"),
        parent=options.get("parent"),
        export=bool(options.get("export", True)),
        total=bool(options.get("total", True)),
        live=bool(options.get("live", False)),
        title=Label.of(options["title"]) if "title" in options else None,
        bulk=compile_bulk(options.get("bulk") or []),
        csv_import=compile_import(
            options, tuple(c for c in options["columns"] if c not in SYSTEM_COLUMNS)
        ),
    )


def compile_detail(options: dict[str, Any]) -> DetailBlock:
    """The runtime's `DetailBlock`."""
    return DetailBlock(
        entity=options["entity"],
        fields=tuple(options.get("fields") or ()),
        actions=tuple(options.get("actions") or ("transitions", "edit")),
        history_roles=frozenset((options.get("history") or {}).get("roles") or ()),
        live=bool(options.get("live", False)),
    )


def compile_form(options: dict[str, Any]) -> FormBlock:
    """The runtime's `FormBlock`."""
    return FormBlock(
        entity=options["entity"],
        fields=tuple(options["fields"]),
        parent=options.get("parent"),
        redirect=options.get("redirect"),
        mode=options.get("mode", "create"),
        submit_label=Label.of(options["submit_label"]) if "submit_label" in options else None,
        lines=compile_lines(options["lines"]) if "lines" in options else None,
    )


def check_search_box(options: dict[str, Any], path: JsonPath, ctx: SectionContext) -> None:
    """The target page exists, has no <id>, and holds a list with `search:` to read `?q=`."""
    target = options["page"]
    if not ctx.check_page(target, (*path, "page")):
        return
    page = ctx.pages.get(target) or {}
    if "<id>" in str(page.get("route", "")):
        ctx.problem(
            "block-route",
            f"search page {target!r} shows one record (its route has <id>)",
            (*path, "page"),
            "name a page with a list of records",
        )
        return
    blocks = [b for b in page.get("blocks") or [] if isinstance(b, dict)]
    if not any(isinstance(b.get("list"), dict) and b["list"].get("search") for b in blocks):
        ctx.problem(
            "block-option",
            f"page {target!r} has no list with search: to read the words",
            (*path, "page"),
            "add search: [fields] to the first list block of that page",
        )


def compile_search_box(options: dict[str, Any]) -> SearchBoxBlock:
    """The runtime's `SearchBoxBlock`."""
    return SearchBoxBlock(
        page=options["page"],
        title=Label.of(options["title"]) if "title" in options else None,
        placeholder=Label.of(options["placeholder"]) if "placeholder" in options else None,
        button=Label.of(options["button"]) if "button" in options else None,
    )


BLOCK_SECTIONS = (
    DefinitionSection(
        "block",
        "list",
        block_schemas.LIST,
        "List",
        "Rows of an entity the reader may see, with columns, filters, search, sort, paging "
        "and CSV export; with bulk: actions on the rows the reader selects, with import: CSV "
        "import of new records.",
        "entity: ticket\ncolumns: [subject, status, updated_at]\nfilters: [status]\n"
        "search: [subject]\nlink: ticket\nbulk: [{transition: close}, export]",
        check_list,
        compile_list,
    ),
    DefinitionSection(
        "block",
        "detail",
        block_schemas.DETAIL,
        "Detail",
        "One record (the page's <id>) with the fields the reader may see and the actions "
        "they may take: workflow transitions, edit, delete.",
        "entity: ticket\nactions: [transitions, edit]\nhistory: {roles: [agent]}",
        check_detail,
        compile_detail,
    ),
    DefinitionSection(
        "block",
        "form",
        block_schemas.FORM,
        "Form",
        "Creates a record, or edits the page's record (mode: edit); only fields the reader "
        "may write are offered. With lines: its child records (line items) are edited in a "
        "table of rows and saved with it in one transaction.",
        "entity: ticket\nfields: [subject, body]\nredirect: ticket\n"
        "lines: {entity: message, via: ticket, fields: [body], max: 20}",
        check_form,
        compile_form,
    ),
    DefinitionSection(
        "block",
        "markdown",
        block_schemas.MARKDOWN,
        "Markdown",
        "Localized text in Markdown, sanitized when rendered.",
        "en: '## Welcome'\nde: '## Willkommen'",
        None,
        lambda text: MarkdownBlock(Label.of(text)),
    ),
    DefinitionSection(
        "block",
        "search_box",
        block_schemas.SEARCH_BOX,
        "Search",
        "A search box (for example on the home page) that opens a list page with the typed "
        "words as `?q=`; shown only to readers who may open that page.",
        "page: help\nplaceholder: {en: e.g. reset password}",
        check_search_box,
        compile_search_box,
    ),
    DefinitionSection(
        "block",
        "metrics",
        block_schemas.METRICS,
        "Metrics",
        "KPI cards (a count, sum, average, minimum or maximum over the records the reader "
        "may see, narrowed by where:) and server-drawn charts and tables of grouped metrics; "
        "money shows one figure per currency, or converted with exchange_rates:.",
        "- label: Open tickets\n  entity: ticket\n  group_by: status\n  chart: bar",
        check_metrics,
        compile_metrics,
    ),
)
