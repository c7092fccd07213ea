"""The `metrics` block: KPI cards from actor-scoped aggregates, and server-rendered charts.

Every number comes from `store.aggregate` with the actor, so a card counts only what the
actor may read. Grouped metrics draw a pygal chart (bar, pie or line) rendered to SVG on the
server with its script removed, embedded as an `<img>` data URI — images run no scripts and
the CSP stays free of `unsafe-inline` — and listed as a table for screen readers.
"""

from __future__ import annotations

import base64
import math
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pygal
from flask import render_template
from markupsafe import Markup
from pygal.style import Style

from portalis.engine.data.errors import BadQuery
from portalis.engine.data.rows import Record
from portalis.engine.definition.block_configs import Metric, MetricsBlock
from portalis.engine.definition.model import Theme

from ..display import Formatter
from ..i18n import format_money, format_number
from ..templating import gettext, label
from .base import BlockContext, BlockType

#: Charts kept per portal version (their data is actor-specific, so the cache is bounded).
CHART_CACHE_SIZE = 128
#: Ungrouped counts are exact up to this many rows.
_SCRIPT = re.compile(r"<script\b.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_PALETTE = ("#00a676", "#f59e0b", "#ef4444", "#8b5cf6", "#06b6d4", "#64748b", "#ec4899")


@dataclass(slots=True)
class MetricView:
    """One KPI card: its value, its groups and an optional chart image."""

    label: str
    value: str
    groups: list[tuple[str, str]] = field(default_factory=list)
    chart: str | None = None


def clean_svg(svg: str) -> str:
    """The SVG without any script element or event-handler attribute."""
    svg = _SCRIPT.sub("", svg)
    return re.sub(r"\s+on[a-z]+\s*=\s*(\"[^\"]*\"|'[^']*')", "", svg, flags=re.IGNORECASE)


def chart_svg(
    kind: str, title: str, labels: Sequence[str], values: Sequence[float], theme: Theme
) -> str:
    """A pygal chart as SVG text, without scripts."""
    style = Style(
        background="transparent",
        plot_background="transparent",
        foreground="#14213d",
        foreground_strong="#14213d",
        foreground_subtle="#5b6478",
        colors=(theme.primary_color, *_PALETTE),
        font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
        label_font_size=14,
        major_label_font_size=14,
        legend_font_size=14,
        value_font_size=14,
        tooltip_font_size=14,
    )
    options: dict[str, Any] = {
        "style": style,
        "js": [],
        "disable_xml_declaration": True,
        "width": 640,
        "height": 360,
        "margin": 12,
        "show_legend": kind == "pie",
        "legend_at_bottom": True,
        "print_values": kind == "bar",
        "truncate_label": 24,
        "truncate_legend": 24,
    }
    if kind == "pie":
        chart = pygal.Pie(**options)
        for text, value in zip(labels, values):
            chart.add(text, value)
    else:
        if values and all(float(v).is_integer() for v in values):
            top = int(max(values))
            step = max(1, math.ceil(top / 6))
            options["y_labels"] = list(range(0, top + step + 1, step))
        chart = (pygal.Line if kind == "line" else pygal.Bar)(**options)
        chart.x_labels = list(labels)
        chart.add(title, list(values))
    return clean_svg(chart.render(is_unicode=True))


def data_uri(svg: str) -> str:
    """An `image/svg+xml` data URI (allowed by the CSP's `img-src data:`)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


class MetricsBlockType(BlockType):
    """Renders `metrics` blocks."""

    name = "metrics"

    def render(self, ctx: BlockContext) -> Markup:
        """KPI cards (and charts) for the metrics the actor can see."""
        cfg: MetricsBlock = ctx.block.config
        views = []
        for index, metric in enumerate(cfg.metrics):
            view = self.metric(ctx, index, metric)
            if view is not None:
                views.append(view)
        if not views:
            return Markup("")
        return Markup(render_template("blocks/metrics.html", block=ctx.block, metrics=views))

    def metric(self, ctx: BlockContext, index: int, metric: Metric) -> MetricView | None:
        """One card; None when the actor can read nothing of the entity or the field."""
        store = ctx.store
        if not store.policy.grants_for(ctx.actor, metric.entity, "read"):
            return None
        try:
            rows: list[tuple[Any, Any]] = store.aggregate(
                ctx.actor,
                metric.entity,
                function=metric.aggregate,
                field=metric.field,
                group_by=metric.group_by,
            )
        except BadQuery:
            return None
        entity = store.entity(metric.entity)
        money = (
            metric.aggregate == "sum"
            and metric.field is not None
            and entity.fields[metric.field].type == "money"
        )
        total = sum((_number(v) for _, v in rows), Decimal(0))
        view = MetricView(label(metric.label), self.number(ctx, total, money))
        if metric.group_by is None:
            return view
        fmt = Formatter(ctx.portal, ctx.actor, ctx.locale)
        group_field = entity.fields[metric.group_by]
        keys = [key for key, _ in rows]
        if group_field.type == "ref":
            target = getattr(group_field.config, "to", "")
            fmt.titles[group_field.name] = store.titles(
                ctx.actor, target, [k for k in keys if k is not None]
            )
        names = [
            gettext("(none)")
            if key is None
            else fmt.text(entity, group_field.name, Record(entity.name, {group_field.name: key}))
            for key in keys
        ]
        view.groups = [(n, self.number(ctx, _number(v), money)) for n, (_, v) in zip(names, rows)]
        if metric.chart != "none" and rows:
            view.chart = self.chart(
                ctx, index, metric, view.label, names, [float(_number(v)) for _, v in rows]
            )
        return view

    def number(self, ctx: BlockContext, value: Decimal, money: bool) -> str:
        """A count or sum in the locale's style (sums of money in the portal currency)."""
        if money:
            return format_money(value, ctx.portal.compiled.model.currency, ctx.locale)
        return format_number(value if value != value.to_integral() else int(value), ctx.locale)

    def chart(
        self,
        ctx: BlockContext,
        index: int,
        metric: Metric,
        title: str,
        labels: list[str],
        values: list[float],
    ) -> str:
        """The chart's data URI, from a small per-version cache keyed by its data."""
        cache = ctx.portal.cache.setdefault("charts", OrderedDict())
        key = (ctx.page.name, ctx.block.index, index, metric.chart, tuple(labels), tuple(values))
        uri = cache.get(key)
        if uri is None:
            theme = ctx.portal.compiled.model.theme
            uri = data_uri(chart_svg(metric.chart, title, labels, values, theme))
            cache[key] = uri
            while len(cache) > CHART_CACHE_SIZE:
                try:
                    cache.popitem(last=False)
                except KeyError:  # another thread trimmed it first
                    break
        return str(uri)


def _number(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if value is None:
        return Decimal(0)
    return Decimal(str(value))
