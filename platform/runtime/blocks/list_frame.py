"""The shape of a list block's frame: what its template shows around the rows.

`blocks/list.html` depends on the request through the block's query parameters, the actor's
roles (columns, filters, the create button), the URL, the parent record and a few yes/no
facts of the result (rows or none, a previous and a next page). Those make the key under
which the rendered frame is kept (`fragments`); the rows, the range text and the pager links
are its holes. A list with a filter on a reference is not kept: its options are records.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from flask import g, request

from portalis.engine.data.rows import Page as RecordPage
from portalis.engine.definition.model import Entity

from .base import BlockContext

#: The holes of a list frame (`bulk`: the bulk form's CSRF token and return address, which
#: belong to the session and the page number).
HOLES = ("body", "range", "prev", "next", "bulk")
#: `RuntimePortal.cache` key of the kept frames.
CACHE = "list-frames"


def frame_key(
    ctx: BlockContext,
    entity: Entity,
    filters: Sequence[str],
    page_param: str,
    parent_id: int | None,
    result: RecordPage,
) -> Hashable | None:
    """The key of this list's frame, or None when it cannot be kept."""
    if any(entity.fields[name].type == "ref" for name in filters):
        return None
    items = getattr(ctx.args, "items", None)
    try:
        pairs = tuple(
            (k, v) for k, v in (items(multi=True) if callable(items) else ()) if k != page_param
        )
        hash(pairs)
    except TypeError:  # a mapping without multi=True or an unhashable value: not kept
        return None
    empty = not result.records
    return (
        ctx.page.name,
        ctx.block.index,
        ctx.locale,
        g.get("portal_prefix"),
        ctx.actor.roles,
        request.path,
        pairs,
        parent_id,
        empty,
        empty and result.page > 1,
        result.page > 1,
        result.has_next,
    )
