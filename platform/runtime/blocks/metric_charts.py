"""Server-drawn charts of the metrics block: pygal SVG without scripts, as data URIs.

Each chart is drawn twice: 640 × 360 for wide cards and 340 × 320 for phones, chosen by the
browser with `<picture><source media=…>`: up to 720 px, where the cards stack in one column;
wider, chart cards take a whole row and show the wide drawing at (nearly) its size. Scaling the wide drawing into a 320-px card would
shrink its 14-px labels to about 6 px; the narrow one keeps them at 12 px or more on a
375-px screen (a 287-px card), with fewer and shorter (rotated when crowded) x labels.
"""

from __future__ import annotations

import base64
import math
import re
from collections import OrderedDict
from collections.abc import Callable, Hashable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import pygal
from pygal.style import Style

from portalis.engine.definition.model import Theme

_SCRIPT = re.compile(r"<script\b.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_PALETTE = ("#00a676", "#f59e0b", "#ef4444", "#8b5cf6", "#06b6d4", "#64748b", "#ec4899")
#: The phone drawing and the media query that picks it.
NARROW = (340, 320)
WIDE = (640, 360)
NARROW_MEDIA = "(max-width: 720px)"
#: Text size of the phone drawing: 15 × 287 / 340 ≈ 12.7 CSS px in a 375-px screen's card.
NARROW_FONT = 15
#: At most this many x labels on the phone drawing (the rest stay in the table).
NARROW_X_LABELS = 6
#: Charts kept per portal version (their data may be actor-specific: the cache is bounded).
CHART_CACHE_SIZE = 128


@dataclass(frozen=True, slots=True)
class ChartImages:
    """A chart's wide and narrow drawings (data URIs) and the media query of the narrow."""

    wide: str
    narrow: str
    media: str = NARROW_MEDIA
    narrow_size: tuple[int, int] = NARROW
    wide_size: tuple[int, int] = WIDE


@dataclass(frozen=True, slots=True)
class Series:
    """One line/bar series (or, for a pie, the values of its slices): a name (a currency,
    or empty), its values per group (None: no value) and how a value is written."""

    name: str
    values: tuple[float | None, ...]
    formatter: Callable[[float], str] | None = None


def clean_svg(svg: str) -> str:
    """The SVG without any script element or event-handler attribute."""
    svg = _SCRIPT.sub("", svg)
    return re.sub(r"\s+on[a-z]+\s*=\s*(\"[^\"]*\"|'[^']*')", "", svg, flags=re.IGNORECASE)


def data_uri(svg: str) -> str:
    """An `image/svg+xml` data URI (allowed by the CSP's `img-src data:`)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def y_labels(top: float, count: int) -> list[float]:
    """Round y labels from 0 past `top`, about `count` of them (steps of 1, 2, 2.5 or 5 × 10ⁿ;
    whole numbers for counts), rather than pygal's one every 100."""
    rough = max(top, 1) / count
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= rough)
    if step < 1:
        step = 1
    return [step * i for i in range(math.ceil(top / step) + 1 if top else 2)]


def _style(theme: Theme, size: int) -> Style:
    return Style(
        background="transparent",
        plot_background="transparent",
        foreground="#14213d",
        foreground_strong="#14213d",
        foreground_subtle="#5b6478",
        colors=(theme.primary_color, *_PALETTE),
        font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
        label_font_size=size,
        major_label_font_size=size,
        legend_font_size=size,
        value_font_size=size,
        value_label_font_size=size,
        tooltip_font_size=size,
        title_font_size=size,
    )


def chart_svg(
    kind: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    theme: Theme,
    *,
    narrow: bool = False,
    number: Callable[[float], str] | None = None,
    most_x_labels: int | None = None,
) -> str:
    """A pygal chart as SVG text, without scripts (`narrow`: the phone drawing; `number`
    writes the y labels in the reader's locale; `most_x_labels`: at most this many x labels
    on the wide drawing too — a month of days — where all would overlap)."""
    width, height = NARROW if narrow else WIDE
    several = len(series) > 1
    options: dict[str, Any] = {
        "style": _style(theme, NARROW_FONT if narrow else 14),
        "js": [],
        "disable_xml_declaration": True,
        "width": width,
        "height": height,
        "margin": 8 if narrow else 12,
        "show_legend": kind == "pie" or several,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 1 if narrow and kind == "pie" else None,
        # values printed on bars only where there is room for them
        "print_values": kind == "bar" and not narrow and not several,
        # a phone has room for whole labels when there are few of them
        "truncate_label": 12 if narrow and len(labels) > 3 else 24,
        "truncate_legend": 16 if narrow else 24,
    }
    if kind == "pie":
        chart = pygal.Pie(**options)
        only = series[0] if series else Series("", ())
        for text, value in zip(labels, only.values):
            chart.add(text, value, formatter=only.formatter)
        return clean_svg(chart.render(is_unicode=True))
    values = [v for s in series for v in s.values if v is not None]
    if values and min(values) >= 0:
        options["y_labels"] = y_labels(max(values), 4 if narrow else 6)
    if number is not None:
        options["value_formatter"] = number
    if kind == "line":  # room for the last x label, centred on the plot's right edge
        options["margin_right"] = 28
    if narrow and len(labels) > 3:
        options["x_label_rotation"] = 40
    most = NARROW_X_LABELS if narrow else most_x_labels
    if most is not None and len(labels) > most:
        options["x_labels_major_every"] = math.ceil(len(labels) / most)
        options["show_minor_x_labels"] = False
    chart = (pygal.Line if kind == "line" else pygal.Bar)(**options)
    chart.x_labels = list(labels)
    for one in series:
        chart.add(one.name or title, list(one.values), formatter=one.formatter)
    return clean_svg(chart.render(is_unicode=True))


def cached_images(
    cache: MutableMapping[Any, Any], key: Hashable, draw: Callable[[bool], str]
) -> ChartImages:
    """The wide and narrow drawings of a chart (`draw(narrow)` gives its SVG), kept in the
    portal version's `cache` under `key` — which must name all the chart's data."""
    charts = cache.setdefault("charts", OrderedDict())
    images = charts.get(key)
    if images is None:
        images = ChartImages(data_uri(draw(False)), data_uri(draw(True)))
        charts[key] = images
        while len(charts) > CHART_CACHE_SIZE:
            try:
                charts.popitem(last=False)
            except KeyError:  # another thread trimmed it first
                break
    return images  # type: ignore[no-any-return]
