"""The compiled options of the built-in blocks (`Block.config` of list, detail, form,
markdown, search and metrics blocks), made by their definition sections (`block_sections`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .values import Label

#: What a bulk action does with the selected rows.
BulkKind = Literal["transition", "set", "export", "delete"]


@dataclass(frozen=True, slots=True)
class BulkAction:
    """One entry of a list's `bulk:`: take a workflow `transition`, `set` fields to values
    (`$actor.id` / `$actor.account` are the acting user / their account), `export` the
    selected rows as CSV or `delete` them. Each row is checked and written on its own."""

    kind: BulkKind
    transition: str | None = None
    #: `set:` as (field, value) pairs, in the order written
    values: tuple[tuple[str, Any], ...] = ()
    label: Label | None = None


@dataclass(frozen=True, slots=True)
class ListImport:
    """`import:` of a list: CSV import of new records into the list's entity.

    `keys` pairs a ref field with the target's field a file names records by; `batch` is
    the rows of one transaction (a larger file runs in the background, batch by batch)."""

    fields: tuple[str, ...]
    keys: tuple[tuple[str, str], ...] = ()
    batch: int = 500
    max_rows: int = 50_000
    max_bytes: int = 20 * 1024 * 1024
    title: Label | None = None


@dataclass(frozen=True, slots=True)
class ListBlock:
    """`list`: rows of an entity with columns, filters, search, sort and paging."""

    entity: str
    columns: tuple[str, ...]
    filters: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    sort: str = "-updated_at"
    page_size: int = 25
    link: str | None = None
    parent: str | None = None
    export: bool = True
    title: Label | None = None
    #: the pager shows "1–25 of 132" (a bounded count in the list query); False: "1–25" and
    #: previous/next only, with no count
    total: bool = True
    #: actions on the rows a reader selects (checkboxes and an action bar)
    bulk: tuple[BulkAction, ...] = ()
    #: rows refresh without a reload (`live_updates`; only with `parent`)
    live: bool = False
    #: CSV import of new records (`import:`)
    csv_import: ListImport | None = None


@dataclass(frozen=True, slots=True)
class DetailBlock:
    """`detail`: one record's fields and the actor's allowed actions."""

    entity: str
    fields: tuple[str, ...] = ()
    actions: tuple[str, ...] = ("transitions", "edit")
    #: roles that see the history panel (changes, transitions, comments)
    history_roles: frozenset[str] = frozenset()
    #: the record refreshes without a reload (`live_updates`)
    live: bool = False


@dataclass(frozen=True, slots=True)
class QuickEntry:
    """`quick:` of a form's lines: rows typed as "<key> <quantity>" lines (bulk ordering by
    SKU): `field` is the rows' ref the key names a record of (by the target's `key` field,
    else its title), `quantity` the field the number goes to."""

    field: str
    key: str | None = None
    quantity: str | None = None


@dataclass(frozen=True, slots=True)
class FormLines:
    """`lines:` of a form: child records edited together with the form's record.

    `via` is the child's ref to the parent; `order_by` an int field the row order is
    written to (1, 2, 3 …), none: rows keep their creation order.
    """

    entity: str
    via: str
    fields: tuple[str, ...]
    order_by: str | None = None
    min: int = 0
    max: int = 100
    title: Label | None = None
    #: quick entry of many rows as text lines (`quick:`)
    quick: QuickEntry | None = None


@dataclass(frozen=True, slots=True)
class FormBlock:
    """`form`: create (or edit, on a page with <id>) a record, with its `lines` if given."""

    entity: str
    fields: tuple[str, ...]
    parent: str | None = None
    redirect: str | None = None
    mode: Literal["create", "edit"] = "create"
    submit_label: Label | None = None
    lines: FormLines | None = None


@dataclass(frozen=True, slots=True)
class MarkdownBlock:
    """`markdown`: localized text, sanitized at render time."""

    text: Label


@dataclass(frozen=True, slots=True)
class SearchBoxBlock:
    """`search`: a search box that sends the typed words to a list page as `?q=`."""

    page: str
    title: Label | None = None
    placeholder: Label | None = None
    button: Label | None = None


#: What a metric computes over the records it counts.
MetricAggregate = Literal["count", "sum", "avg", "min", "max"]
#: Time buckets of `group_by: {field: <date field>, by: …}` (weeks start on Monday, ISO 8601).
TimeBucket = Literal["day", "week", "month", "quarter", "year"]


@dataclass(frozen=True, slots=True)
class Metric:
    """One KPI of a metrics block: count, sum, average, minimum or maximum of a field over the
    records the reader may see (narrowed by `where`), optionally grouped by a field or by time
    buckets of a date field (`bucket`), drawn as a chart and/or listed as a table."""

    label: Label
    entity: str
    aggregate: MetricAggregate = "count"
    field: str | None = None
    group_by: str | None = None
    chart: Literal["none", "bar", "pie", "line"] = "none"
    #: `where: {status: issued}` as (field, value) pairs, AND-ed like list filters
    where: tuple[tuple[str, Any], ...] = ()
    #: the time bucket when `group_by` is a date or datetime field grouped by period
    bucket: TimeBucket | None = None
    #: `card` (the figure, groups behind "Show figures") or `table` (groups listed openly)
    display: Literal["card", "table"] = "card"
    #: money figures converted into this currency with the portal's `exchange_rates`
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class MetricsBlock:
    """`metrics`: KPI cards and server-rendered SVG charts."""

    metrics: tuple[Metric, ...]
