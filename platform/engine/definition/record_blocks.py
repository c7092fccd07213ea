"""Checks shared by blocks about the record a page shows (attachments, feedback): the page
has a route with <id>, and the block names the entity whose record the page shows."""

from __future__ import annotations

from typing import Any

from ..problems import JsonPath
from .block_sections import shown_entity
from .sections import SectionContext


def check_record_block(
    kind: str, options: dict[str, Any], path: JsonPath, ctx: SectionContext
) -> bool:
    """Report a `kind` block that is not on its entity's record page; True when it is."""
    entity = options["entity"]
    if not ctx.check_entity(entity, (*path, "entity")):
        return False
    if "<id>" not in str((ctx.page or {}).get("route", "")):
        ctx.problem(
            "block-route",
            f"a{'n' if kind[0] in 'aeiou' else ''} {kind} block needs a route with <id>; "
            f"page {path[1]!r} has none",
            path,
        )
        return False
    shown = shown_entity(ctx.page)
    if shown is not None and shown != entity:
        ctx.problem(
            "block-option",
            f"this page shows a {shown}, but the {kind} block names {entity}",
            (*path, "entity"),
            f"use entity: {shown}",
        )
        return False
    return True
