"""The compiled options of the built-in blocks (`Block.config` of list, detail, form,
markdown and metrics blocks), made by their definition sections (`block_sections`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .values import Label


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


@dataclass(frozen=True, slots=True)
class DetailBlock:
    """`detail`: one record's fields and the actor's allowed actions."""

    entity: str
    fields: tuple[str, ...] = ()
    actions: tuple[str, ...] = ("transitions", "edit")
    #: roles that see the history panel (changes, transitions, comments)
    history_roles: frozenset[str] = frozenset()


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
