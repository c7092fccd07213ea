"""The `search` block's definition section: a search box over the full-text indexes of
several entities, with ranked, highlighted hits linking to each record's page.

```yaml
- search:
    entities: [article, faq]          # each with `search: {fields: ...}`
    links: {article: article}          # the page that shows a hit (default: the page whose
                                       # detail block shows the entity)
    limit: 10
    label: {en: Search the help centre}
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..problems import JsonPath
from .sections import DefinitionSection, SectionContext
from .values import Label, frozen_map

#: `- search: …`
SEARCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "entities": {
            "type": "array",
            "items": {"$ref": "#/$defs/name"},
            "minItems": 1,
            "uniqueItems": True,
            "description": "Entities searched (each with a full-text `search:`); a reader "
            "sees hits of those they may read only.",
        },
        "links": {
            "type": "object",
            "propertyNames": {"pattern": "^[a-z][a-z0-9_]{0,39}$"},
            "additionalProperties": {"$ref": "#/$defs/name"},
            "description": "Per entity, the page (with `<id>`) a hit links to; default: the "
            "page whose detail block shows the entity.",
        },
        "limit": {
            "type": "integer",
            "minimum": 1,
            "maximum": 50,
            "description": "Hits shown at most (default 10).",
        },
        "label": {"$ref": "#/$defs/label", "description": "The search box's label."},
    },
    "additionalProperties": False,
    "required": ["entities"],
    "description": "A search box over several entities' full-text indexes.",
}


@dataclass(frozen=True, slots=True)
class SearchBlock:
    """`search`: entities searched, the page per entity a hit links to, the hit limit."""

    entities: tuple[str, ...]
    links: Mapping[str, str]
    limit: int = 10
    label: Label | None = None


def check_search_block(options: dict[str, Any], path: JsonPath, ctx: SectionContext) -> None:
    """Entities exist; linked pages exist, have `<id>` and belong to searched entities.
    (That each entity has a full-text `search:` is checked with the entities.)"""
    for i, entity in enumerate(options["entities"]):
        ctx.check_entity(entity, (*path, "entities", i))
    for entity, page in (options.get("links") or {}).items():
        if entity not in options["entities"]:
            ctx.problem(
                "block-option",
                f"links names {entity!r}, which this block does not search",
                (*path, "links", entity),
                ctx.suggest(entity, options["entities"]),
                key=True,
            )
        ctx.check_page(page, (*path, "links", entity), need_id=True)


def compile_search_block(options: dict[str, Any]) -> SearchBlock:
    """The runtime's `SearchBlock`."""
    return SearchBlock(
        entities=tuple(options["entities"]),
        links=frozen_map(dict(options.get("links") or {})),
        limit=int(options.get("limit", 10)),
        label=Label.of(options["label"]) if "label" in options else None,
    )


SEARCH_SECTION = DefinitionSection(
    "block",
    "search",
    SEARCH_SCHEMA,
    "Search",
    "A search box over the full-text indexes of several entities: ranked hits the reader may "
    "read, each with a highlighted snippet, linking to the record's page. Works for "
    "anonymous visitors where the entities' permissions let them read. (Its example is the "
    "entity's: the block needs an entity with a full-text index.)",
    "",
    check_search_block,
    compile_search_block,
)
