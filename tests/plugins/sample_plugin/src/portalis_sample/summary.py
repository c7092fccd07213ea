"""The `rating_summary` block's definition section: its options' schema, the checks that tie
it to the definition (the entity exists, the field is one of its rating fields) and the
compile step to the `RatingSummary` the block type renders.

Engine-level (imports `portalis.api` only), so `portalis validate` checks it without a web
server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portalis.api import DefinitionSection, JsonPath, Label, SectionContext

from .rating import RatingType

#: `- rating_summary: {…}` on a page.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "entity": {"$ref": "#/$defs/name", "description": "The entity whose records are rated."},
        "field": {"$ref": "#/$defs/name", "description": "Its rating field."},
        "title": {"$ref": "#/$defs/label", "description": "Heading (default: the field's label)."},
    },
    "required": ["entity", "field"],
    "additionalProperties": False,
    "description": "Average and distribution of a rating field over the records the reader "
    "may see.",
}


@dataclass(frozen=True, slots=True)
class RatingSummary:
    """The compiled options of a `rating_summary` block."""

    entity: str
    field: str
    title: Label | None = None


def check_summary(options: Mapping[str, Any], path: JsonPath, ctx: SectionContext) -> None:
    """The entity exists and `field` is a rating field of it that lists may group by."""
    entity, field = options["entity"], options["field"]
    if not ctx.check_entity(entity, (*path, "entity")):
        return
    if not ctx.check_field(entity, field, (*path, "field"), need="filterable"):
        return
    kind = ctx.fields_of(entity)[field].get("type")
    if kind != RatingType.name:
        ratings = [n for n, f in ctx.fields_of(entity).items() if f.get("type") == RatingType.name]
        ctx.problem(
            "block-option",
            f"{field!r} is a {kind} field; a rating summary needs a rating field",
            (*path, "field"),
            ctx.suggest(field, ratings) or f"add a field of type rating to {entity}",
        )


def compile_summary(options: Mapping[str, Any]) -> RatingSummary:
    """The block's frozen config."""
    title = options.get("title")
    return RatingSummary(
        options["entity"], options["field"], Label.of(title) if title is not None else None
    )


SUMMARY_SECTION = DefinitionSection(
    "block",
    "rating_summary",
    SCHEMA,
    "Rating summary",
    "The average of a rating field and how many records have each rating, counted over the "
    "records the reader may see (row filters and field masks apply).",
    "entity: ticket\nfield: satisfaction\ntitle: {en: Customer satisfaction}",
    check_summary,
    compile_summary,
)
