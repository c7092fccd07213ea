"""The `rating_summary` block type: renders the compiled `RatingSummary` of a block.

The counts come from the record store with the reader as actor (one grouped count query), so
row filters apply and a reader who may not see the rating field gets no block at all. The
HTML is a heading, the average as a sentence and a table with a row header per level, which
screen readers announce as "5 – Excellent, 2".
"""

from __future__ import annotations

from markupsafe import Markup

from portalis.api import BadQuery
from portalis.web import BlockContext, BlockType, gettext, label, ngettext

from .rating import RatingConfig, config_of
from .summary import RatingSummary

_ROW = Markup('<tr><th scope="row">{}</th><td>{}</td></tr>')
_BLOCK = Markup(
    '<section class="block block-rating-summary" aria-labelledby="{id}">'
    '<h2 id="{id}">{title}</h2><p class="rating-average">{average}</p>'
    '<table class="table"><thead><tr><th scope="col">{level}</th><th scope="col">{count}</th>'
    "</tr></thead><tbody>{rows}</tbody></table></section>"
)


def _level_text(config: RatingConfig, level: int) -> str:
    if level <= len(config.labels):
        return f"{level} – {label(config.labels[level - 1])}"
    return str(level)


def _average_text(counts: dict[int, int], top: int) -> str:
    rated = sum(counts.values())
    if not rated:
        return gettext("No ratings yet.")
    average = sum(level * n for level, n in counts.items()) / rated
    return ngettext(
        "Average %(average)s of %(max)s from %(num)s rating.",
        "Average %(average)s of %(max)s from %(num)s ratings.",
        rated,
        average=f"{average:.1f}",
        max=top,
        num=rated,
    )


class RatingSummaryBlock(BlockType):
    """Renders `rating_summary` blocks."""

    name = "rating_summary"

    def render(self, ctx: BlockContext) -> Markup:
        """The average and one row per level, highest first."""
        summary: RatingSummary = ctx.block.config
        field = ctx.portal.compiled.model.entities[summary.entity].fields[summary.field]
        try:
            grouped = ctx.store.aggregate(
                ctx.actor, summary.entity, function="count", group_by=summary.field
            )
        except BadQuery:  # the reader may not see the rating field: nothing to show
            return Markup("")
        counts = {int(level): int(n) for level, n in grouped if level is not None}
        config = config_of(field)
        rows = Markup("").join(
            _ROW.format(_level_text(config, level), counts.get(level, 0))
            for level in range(config.max, 0, -1)
        )
        return _BLOCK.format(
            id=f"block-{ctx.block.index}-rating-summary",
            title=label(summary.title) if summary.title is not None else label(field.label),
            average=_average_text(counts, config.max),
            level=gettext("Rating"),
            count=gettext("Records"),
            rows=rows,
        )
