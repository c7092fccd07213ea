"""Semantic checks of an entity's `search:`: the fields it names exist and can be searched —
by substring (a list: searchable fields) or in a full-text index (an object: `string` or
`text` fields stored in a column, at most four different weights)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ...problems import JsonPath
from ..full_text import INDEXABLE_TYPES, MAX_WEIGHTS, declared_weights
from .base import Ctx, check_field_ref


def searched_fields(entity: Mapping[str, Any], base: JsonPath) -> Iterator[tuple[str, JsonPath]]:
    """(field, path) of every field an entity's `search:` names, in either form."""
    declared = entity.get("search")
    if isinstance(declared, Mapping):
        fields = declared.get("fields")
        for i, fname in enumerate(declared_weights(declared)):
            key: str | int = fname if isinstance(fields, Mapping) else i
            yield fname, (*base, "search", "fields", key)
    elif isinstance(declared, list):
        for i, fname in enumerate(declared):
            yield str(fname), (*base, "search", i)


def check_search(ctx: Ctx, name: str, entity: Mapping[str, Any], base: JsonPath) -> None:
    """Problems of entity `name`'s `search:` (see the module's docstring)."""
    declared = entity.get("search")
    if not isinstance(declared, Mapping):
        for fname, path in searched_fields(entity, base):
            check_field_ref(ctx, name, fname, path, need="searchable")
        return
    fields = ctx.fields_of(name)
    for fname, path in searched_fields(entity, base):
        if not check_field_ref(ctx, name, fname, path):
            continue
        spec = fields[fname]
        ftype = str(spec.get("type"))
        if ftype not in INDEXABLE_TYPES:
            ctx.add(
                "search-field-type",
                f"field {fname!r} ({ftype}) cannot be in a full-text index",
                path,
                "index string and text fields; filter the others in the list",
                key=isinstance(declared.get("fields"), Mapping),
            )
        elif spec.get("stored") == "sql":
            # (`stored: false` fields are refused for every search by the virtual-field checks)
            ctx.add(
                "search-field-virtual",
                f"field {fname!r} is computed by the database and has no column to index",
                path,
                "store the computed value (drop `stored: sql`) to index it",
                key=isinstance(declared.get("fields"), Mapping),
            )
    weights = set(declared_weights(declared).values())
    if len(weights) > MAX_WEIGHTS:
        ctx.add(
            "search-weights",
            f"{len(weights)} different weights; a full-text index ranks with at most {MAX_WEIGHTS}",
            (*base, "search", "fields"),
            "give fields of similar importance the same weight",
        )


def check_search_blocks(ctx: Ctx) -> None:
    """Every entity a `search` block searches has a full-text `search:`."""
    for page, spec in (ctx.data.get("pages") or {}).items():
        for i, block in enumerate(spec.get("blocks") or []):
            kind, options = next(iter(block.items()))
            if kind != "search" or not isinstance(options, Mapping):
                continue
            for j, name in enumerate(options.get("entities") or []):
                entity = ctx.entities.get(name)
                if entity is not None and not isinstance(entity.get("search"), Mapping):
                    ctx.add(
                        "search-not-indexed",
                        f"{name} has no full-text index to search",
                        ("pages", page, "blocks", i, "search", "entities", j),
                        f"give {name} `search: {{fields: [...]}}`",
                    )
