"""POST /_bulk/<page>/<block>: a list block's bulk action on the rows the reader selected.

The list's checkboxes post `ids` (or, with the "all on this page" button, `scope=page` and
the page's `page_ids`), the chosen `action` (its index in the block's `bulk:`) and, for a list
on a record page, the record's `id`. Transitions, `set:` and delete answer a result page that
names the rows done and the rows refused with the reason; `export` answers the selected rows
as CSV with the columns the reader may read. A page, block or action the reader may not use
is a 404, like every other data view.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, g, request

from portalis.engine.data.permissions import Actor
from portalis.engine.definition.block_configs import ListBlock
from portalis.engine.definition.model import Entity

from .auth.common import render
from .blocks.listing import visible_columns
from .bulk_run import action_label, offered, parse_ids, readable_rows, run
from .dataviews import csv_line
from .display import Formatter
from .page_records import page_allowed, page_record
from .registry import RuntimePortal
from .security import safe_next
from .uploads import content_disposition
from .urls import page_url


def bulk_view(portal: RuntimePortal, actor: Actor, page: str, block: int) -> Any:
    """Run the chosen bulk action on the selected rows."""
    model = portal.compiled.model
    store = portal.store
    target = model.pages.get(page)
    if target is None or not page_allowed(target, actor) or not 0 <= block < len(target.blocks):
        abort(404)
    cfg = target.blocks[block].config
    if not isinstance(cfg, ListBlock) or not cfg.bulk:
        abort(404)
    if not store.policy.grants_for(actor, cfg.entity, "read"):
        abort(404)
    shown = page_record(portal, actor, target, request.form.get("id"))
    if shown is None and cfg.parent:
        abort(404)
    choices = dict(offered(store, actor, cfg))
    try:
        action = choices[int(request.form.get("action", ""))]
    except (KeyError, ValueError):
        abort(404)
    entity = store.entity(cfg.entity)
    scope = request.form.get("scope")
    ids = parse_ids(request.form.getlist("page_ids" if scope == "page" else "ids"))
    parent = (str(cfg.parent), shown.id) if cfg.parent and shown is not None else None
    back = (
        safe_next(request.form.get("back"), str(g.get("portal_prefix", "")))
        if request.form.get("back")
        else page_url(target.name, shown.id if shown else None)
    )
    locale = str(g.get("locale") or model.default_locale)
    name = action_label(store, entity, action)
    if action.kind == "export":
        return _export(portal, actor, cfg, entity, ids, parent, locale, page)
    if not ids:
        return render("bulk/result.html", 422, action=name, result=None, back=back)
    result = run(store, actor, entity, action, ids, locale, parent=parent, name=name)
    return render("bulk/result.html", action=name, result=result, back=back)


def _export(
    portal: RuntimePortal,
    actor: Actor,
    cfg: ListBlock,
    entity: Entity,
    ids: list[int],
    parent: tuple[str, int] | None,
    locale: str,
    page: str,
) -> Response:
    """The selected rows the actor may read, with the list's columns they may read."""
    store = portal.store
    records = readable_rows(store, actor, entity, ids, parent)
    columns = visible_columns(store, actor, cfg)
    fmt = Formatter(portal, actor, locale)
    fmt.prepare(entity, columns, records)
    lines = [csv_line([fmt.column_label(entity, c) for c in columns])]
    lines.extend(csv_line([fmt.text(entity, c, r) for c in columns]) for r in records)
    response = Response("".join(lines), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = content_disposition(f"{page}-selected.csv")
    response.headers["Cache-Control"] = "private, no-store"
    return response


VIEWS = {"sys:bulk": bulk_view}
