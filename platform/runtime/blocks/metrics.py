"""The `metrics` block: KPI cards from actor-scoped aggregates, tables and server-drawn charts.

Every number comes from `store.aggregate` (or `store.aggregate_in`, converted into a reporting
currency) with the actor, so a card counts only what the actor may read. Money is shown per
currency ("1.204,50 € · 310,00 $") unless the metric converts it; a missing exchange rate is a
note on the card. Grouped metrics draw a pygal chart (bar, pie or line) rendered to SVG on the
server with its script removed, embedded as `<img>`/`<source>` data URIs — images run no
scripts and the CSP stays free of `unsafe-inline` — and list their figures as a table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask import render_template
from markupsafe import Markup

from portalis.engine.data.errors import BadQuery
from portalis.engine.data.rows import Record
from portalis.engine.definition.block_configs import Metric, MetricsBlock

from ..display import Formatter
from ..i18n import format_date
from ..templating import gettext, label
from .base import BlockContext, BlockType
from .metric_charts import (
    CHART_CACHE_SIZE,
    ChartImages,
    Series,
    cached_images,
    chart_svg,
    clean_svg,
)
from .metric_figures import (
    Figures,
    bucket_label,
    collect,
    figure_text,
    fill_buckets,
    joined,
    money_writer,
    plotted,
)

__all__ = ["CHART_CACHE_SIZE", "ChartImages", "MetricView", "MetricsBlockType", "clean_svg"]


@dataclass(slots=True)
class MetricView:
    """One KPI card: its figure, its groups by series, notes and an optional chart."""

    label: str
    value: str
    #: the table's headers: the grouping field, then one per series (currency) or "Value"
    columns: list[str] = field(default_factory=list)
    groups: list[tuple[str, list[str]]] = field(default_factory=list)
    chart: ChartImages | None = None
    table: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """The groups in one line, for the chart's text alternative."""
        return ", ".join(f"{name} {' · '.join(values)}" for name, values in self.groups)


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
        if not ctx.store.policy.grants_for(ctx.actor, metric.entity, "read"):
            return None
        try:
            rows, notes = self._rows(ctx, metric, grouped=True)
            figures = collect(rows, metric.currency or "")
            grouped = metric.group_by is not None
            if not grouped:
                total = [v for _, v in rows]
            elif metric.aggregate not in ("count", "sum") or not rows:
                # an average or extreme of all records is not one of its groups'; and without
                # any group, the ungrouped figure still says "€0.00" rather than "0"
                overall, more = self._rows(ctx, metric, grouped=False)
                total = [v for _, v in overall]
                notes = sorted({*notes, *more})
            else:
                total = figures.totals()
        except BadQuery:
            return None
        view = MetricView(
            label(metric.label),
            joined(total, ctx.locale),
            table=metric.display == "table",
            notes=[self._note(ctx, currency, day) for currency, day in notes],
        )
        if not grouped:
            return view
        if metric.bucket is not None and metric.chart != "pie":
            fill_buckets(figures, metric.bucket, zero=metric.aggregate in ("count", "sum"))
        names = self._group_names(ctx, metric, figures)
        several = len(figures.series) > 1
        group_field = ctx.store.entity(metric.entity).fields[str(metric.group_by)]
        view.columns = [
            label(group_field.label),
            *(figures.series if several else [gettext("Value")]),
        ]
        view.groups = [
            (name, [figure_text(figures.value(g, s), ctx.locale) for s in figures.series])
            for name, g in zip(names, figures.groups)
        ]
        # a pie of amounts in several currencies would add them up: the table shows them
        pie_of_currencies = metric.chart == "pie" and several
        if metric.chart != "none" and figures.groups and not pie_of_currencies:
            view.chart = self.chart(ctx, index, metric, view.label, names, figures)
        return view

    def _rows(
        self, ctx: BlockContext, metric: Metric, *, grouped: bool
    ) -> tuple[list[tuple[Any, Any]], list[tuple[str, date]]]:
        """(group, value) rows and the (currency, day) of missing exchange rates."""
        options: dict[str, Any] = {
            "function": metric.aggregate,
            "group_by": metric.group_by if grouped else None,
            "bucket": metric.bucket if grouped else None,
            "where": dict(metric.where) or None,
        }
        if metric.currency is None or metric.field is None:
            return ctx.store.aggregate(ctx.actor, metric.entity, field=metric.field, **options), []
        converted = ctx.store.aggregate_in(
            ctx.actor, metric.entity, metric.currency, field=metric.field, **options
        )
        rows: list[tuple[Any, Any]] = list(converted.rows)
        return rows, [(m.currency, m.day) for m in converted.missing]

    def _note(self, ctx: BlockContext, currency: str, day: date) -> str:
        return gettext(
            "no rate for %(currency)s on %(day)s",
            currency=currency,
            day=format_date(day, ctx.locale),
        )

    def _group_names(self, ctx: BlockContext, metric: Metric, figures: Figures) -> list[str]:
        """Each group as the reader reads it: a bucket, a choice label, a record title."""
        if metric.bucket is not None:
            bucket = metric.bucket
            return [
                gettext("(none)") if g is None else bucket_label(g, bucket, ctx.locale)
                for g in figures.groups
            ]
        store = ctx.store
        entity = store.entity(metric.entity)
        group_field = entity.fields[str(metric.group_by)]
        fmt = Formatter(ctx.portal, ctx.actor, ctx.locale)
        if group_field.type == "ref":
            target = getattr(group_field.config, "to", "")
            fmt.titles[group_field.name] = store.titles(
                ctx.actor, target, [k for k in figures.groups if k is not None]
            )
        return [
            gettext("(none)")
            if key is None
            else fmt.text(entity, group_field.name, Record(entity.name, {group_field.name: key}))
            for key in figures.groups
        ]

    def chart(
        self,
        ctx: BlockContext,
        index: int,
        metric: Metric,
        title: str,
        labels: list[str],
        figures: Figures,
    ) -> ChartImages:
        """The chart's drawings, from a small per-version cache keyed by its data."""
        series = [
            Series(
                name,
                tuple(plotted(figures.value(g, name)) for g in figures.groups),
                money_writer(name, ctx.locale) if name else None,
            )
            for name in figures.series
        ]
        key = (
            ctx.page.name,
            ctx.block.index,
            index,
            metric.chart,
            ctx.locale,
            tuple(labels),
            tuple((s.name, s.values) for s in series),
        )
        theme = ctx.portal.compiled.model.theme
        locale = ctx.locale

        def number(value: float) -> str:
            return figure_text(Decimal(repr(value)), locale)

        # one currency: the y axis speaks money ("€1,000.00"); several: the legend does
        axis = (series[0].formatter if len(series) == 1 else None) or number
        return cached_images(
            ctx.portal.cache,
            key,
            lambda narrow: chart_svg(
                metric.chart, title, labels, series, theme, narrow=narrow, number=axis
            ),
        )
