"""The `related` block: under the page's record, links to others of its entity that share
the values of named fields (e.g. the category) and words of its title — the records the
reader may read only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..problems import JsonPath
from .record_blocks import check_record_block
from .sections import DefinitionSection, SectionContext
from .values import Label

#: `- related: …`
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "entity": {"$ref": "#/$defs/name", "description": "The entity of the page's record."},
        "same": {
            "type": "array",
            "items": {"$ref": "#/$defs/name"},
            "uniqueItems": True,
            "description": "Fields whose equal values make records related, each shared "
            "value ranking higher (e.g. [category]); the title's words rank next "
            "(full-text, when the entity has `search: {fields: ...}`).",
        },
        "limit": {
            "type": "integer",
            "minimum": 1,
            "maximum": 20,
            "description": "How many related records to show at most (default 5).",
        },
        "title": {"$ref": "#/$defs/label", "description": "Heading (default: Related)."},
        "link": {
            "$ref": "#/$defs/name",
            "description": "The page (with <id>) each link opens (default: this page).",
        },
    },
    "additionalProperties": False,
    "required": ["entity"],
    "description": "Links to records related to the page's record.",
}


@dataclass(frozen=True, slots=True)
class RelatedBlock:
    """`related`: records related to the page's record."""

    entity: str
    same: tuple[str, ...] = ()
    limit: int = 5
    title: Label | None = None
    link: str | None = None


def check_related_block(options: dict[str, Any], path: JsonPath, ctx: SectionContext) -> None:
    """On the entity's record page; `same` names its fields; `link` a page with <id>."""
    if not check_record_block("related", options, path, ctx):
        return
    for i, name in enumerate(options.get("same") or ()):
        ctx.check_field(options["entity"], name, (*path, "same", i), need="filterable")
    if "link" in options:
        ctx.check_page(options["link"], (*path, "link"), need_id=True)


def compile_related_block(options: dict[str, Any]) -> RelatedBlock:
    """The runtime's `RelatedBlock`."""
    return RelatedBlock(
        entity=options["entity"],
        same=tuple(options.get("same") or ()),
        limit=int(options.get("limit", 5)),
        title=Label.of(options["title"]) if "title" in options else None,
        link=options.get("link"),
    )


RELATED_SECTION = DefinitionSection(
    "block",
    "related",
    SCHEMA,
    "Related records",
    "Links to records related to the page's record: others of its entity sharing the values "
    "of the `same` fields (most shared first), then those whose text best matches the "
    "record's title (full-text, when the entity has an index). Only records the reader may "
    "read are ever shown, and a field the reader may not read never relates two records.",
    "entity: article\nsame: [category]\nlimit: 5\ntitle: {en: Related articles}",
    check_related_block,
    compile_related_block,
)
