"""Data views outside pages: file downloads, CSV export, autocomplete, record actions.

Each goes through the record store with the actor, like pages do: a record, file or entity the
actor may not read answers 404. Record actions are POSTs to `/_act/<entity>/<id>/<action>`
where `action` is `delete` or `transition` (with the transition's `name`, its `comment` and
required fields in the form) — both need the record's `version`, so a stale page gets 409 with
a reload prompt (for a transition, showing the comment the user typed) — or `copy`, which
copies the record with its children and opens the copy.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from flask import Response, abort, flash, g, jsonify, redirect, request, stream_with_context

from portalis.engine.data import errors
from portalis.engine.data.permissions import Actor
from portalis.engine.data.rows import Page as RecordPage
from portalis.engine.definition.block_configs import ListBlock
from portalis.engine.definition.model import Entity
from portalis.engine.flow import copying, workflow

from .blocks.form import conflict_response, translate_errors
from .blocks.listing import fetch, param_prefix, parse_query, readable_filters, visible_columns
from .display import Formatter, page_for
from .files import download
from .forms.account import RecordActionForm
from .page_records import page_allowed, page_entity, page_record
from .registry import RuntimePortal
from .templating import gettext, label
from .transition_form import (
    done_message,
    error_lines,
    read_submission,
    reason_text,
    transition_conflict,
    transition_name,
)
from .uploads import content_disposition
from .urls import page_url, portal_url

#: Most rows one CSV export holds; rows are fetched and written this many at a time.
EXPORT_MAX_ROWS = 50_000
EXPORT_CHUNK = 200
AUTOCOMPLETE_MAX = 20
#: Cells starting with these are formulas to spreadsheets; they get a leading quote.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# -- files ----------------------------------------------------------------------------------
def file_view(portal: RuntimePortal, actor: Actor, file_id: str) -> Response:
    """GET /_files/<id>: a file held by a record field the actor may read, else 404."""
    return download(portal, actor, file_id)


# -- autocomplete ---------------------------------------------------------------------------
def autocomplete_view(portal: RuntimePortal, actor: Actor, entity: str) -> Response:
    """GET /_ac/<entity>?q=: `[{id, title}]` of readable records matching `q`."""
    store = portal.store
    if entity not in portal.compiled.model.entities:
        abort(404)
    if not store.policy.grants_for(actor, entity, "read"):
        abort(404)
    text = (request.args.get("q") or "")[:100]
    try:
        limit = max(1, min(int(request.args.get("limit", 10)), AUTOCOMPLETE_MAX))
    except ValueError:
        limit = 10
    try:
        pairs = store.autocomplete(actor, entity, text, limit=limit)
    except errors.BadQuery:
        pairs = []
    response = jsonify([{"id": rid, "title": title} for rid, title in pairs])
    response.headers["Cache-Control"] = "private, no-store"
    return response


# -- export ---------------------------------------------------------------------------------
def csv_cell(value: str) -> str:
    """A cell that spreadsheets will not run as a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


def csv_line(cells: Sequence[str]) -> str:
    """One CSV line (RFC 4180 quoting, CRLF)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([csv_cell(c) for c in cells])
    return buffer.getvalue()


def export_view(portal: RuntimePortal, actor: Actor, page: str, block: int) -> Response:
    """GET /_export/<page>/<block>.csv: the list block's rows for the actor, streamed."""
    model = portal.compiled.model
    store = portal.store
    target = model.pages.get(page)
    if target is None or not page_allowed(target, actor) or not 0 <= block < len(target.blocks):
        abort(404)
    blk = target.blocks[block]
    cfg = blk.config
    if not isinstance(cfg, ListBlock) or not cfg.export:
        abort(404)
    if not store.policy.grants_for(actor, cfg.entity, "read"):
        abort(404)
    shown = page_record(portal, actor, target, request.args.get("id"))
    if shown is None and cfg.parent:
        abort(404)
    parent_id = shown.id if shown is not None else None
    query = parse_query(
        cfg, request.args, param_prefix(target, blk), readable_filters(store, actor, cfg)
    )
    try:
        first = fetch(store, actor, cfg, query, parent_id, page=1, size=EXPORT_CHUNK, count=False)
    except errors.BadQuery:
        abort(400)
    entity = store.entity(cfg.entity)
    columns = visible_columns(store, actor, cfg)
    locale = str(g.get("locale") or model.default_locale)

    def next_chunk(number: int) -> RecordPage:
        return fetch(
            store, actor, cfg, query, parent_id, page=number, size=EXPORT_CHUNK, count=False
        )

    rows = _rows(portal, actor, locale, entity, columns, first, next_chunk)
    response = Response(stream_with_context(rows), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = content_disposition(f"{page}.csv")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _rows(
    portal: RuntimePortal,
    actor: Actor,
    locale: str,
    entity: Entity,
    columns: list[str],
    first: RecordPage,
    next_chunk: Callable[[int], RecordPage],
) -> Iterator[str]:
    """The CSV text: a header, then rows chunk by chunk (look-ups batched per chunk)."""
    fmt = Formatter(portal, actor, locale)
    yield csv_line([fmt.column_label(entity, c) for c in columns])
    chunk, number, written = first, 1, 0
    while chunk.records:
        fmt = Formatter(portal, actor, locale)
        fmt.prepare(entity, columns, chunk.records, chunk.titles)
        for record in chunk.records:
            if written >= EXPORT_MAX_ROWS:
                return
            yield csv_line([fmt.text(entity, c, record) for c in columns])
            written += 1
        if not chunk.has_next or len(chunk.records) < EXPORT_CHUNK:
            return
        number += 1
        chunk = next_chunk(number)


# -- record actions -------------------------------------------------------------------------
def action_view(portal: RuntimePortal, actor: Actor, entity: str, id: int, action: str) -> Any:
    """POST /_act/<entity>/<id>/delete | transition | copy: act, then go back (or, for a
    copy, on to the copy) with a flash."""
    model = portal.compiled.model
    store = portal.store
    if entity not in model.entities or action not in ("delete", "transition", "copy"):
        abort(404)
    target = store.entity(entity)
    form = RecordActionForm(request.form)
    back = _record_url(portal, actor, entity, id, form.page.data)
    if action == "transition":
        return _transition(portal, actor, target, id, back)
    if action == "copy":
        return _copy(portal, actor, target, id, form.page.data, back)
    version = form.version.data
    if version is None:
        abort(400)
    try:
        store.delete(actor, entity, id, expected_version=version)
    except errors.NotFound:
        abort(404)
    except errors.Forbidden:
        abort(403)
    except errors.StaleRecord:
        return conflict_response(back)
    except errors.ValidationFailed as exc:
        _flash_errors(target, translate_errors(exc.errors, str(g.get("locale") or "en")))
        return redirect(back, 303)
    flash(gettext("%(item)s deleted.", item=label(target.label, entity)), "success")
    listing = page_for(portal, actor, "list", entity)
    return redirect(page_url(listing.name) if listing else portal_url("/"), 303)


def _transition(portal: RuntimePortal, actor: Actor, target: Entity, id: int, back: str) -> Any:
    """Take the form's transition (with its comment and required fields) and go back with a
    flash; a transition the actor could take in principle but not now (already approved,
    condition false, not the assignee) goes back with the reason instead of a 403 page."""
    store = portal.store
    try:
        _, tr = workflow.find(store, target, transition_name(request.form))
    except errors.NotFound:
        abort(404)
    sub = read_submission(portal, actor, target, tr, request.form, str(g.get("locale") or "en"))
    if sub.errors:
        _flash_errors(target, sub.errors)
        return redirect(back, 303)
    try:
        outcome = workflow.take(
            store, actor, target.name, id, tr.name, expected_version=sub.version,
            values=sub.values, comment=sub.comment,
        )  # fmt: skip
    except errors.NotFound:
        abort(404)
    except workflow.TransitionUnavailable as exc:
        if not exc.availability.eligible:
            abort(403)
        flash(f"{label(tr.label, tr.name)}: {reason_text(exc.availability, target)}", "error")
        return redirect(back, 303)
    except errors.Forbidden:
        abort(403)
    except errors.StaleRecord:
        return transition_conflict(back, target, tr, sub)
    except errors.ValidationFailed as exc:
        _flash_errors(target, translate_errors(exc.errors, str(g.get("locale") or "en")))
        return redirect(back, 303)
    flash(done_message(outcome), "success")
    if outcome.record is None:  # the new state put the record out of the actor's reach
        listing = page_for(portal, actor, "list", target.name)
        return redirect(page_url(listing.name) if listing else portal_url("/"), 303)
    return redirect(back, 303)


def _copy(
    portal: RuntimePortal, actor: Actor, target: Entity, id: int, page: str | None, back: str
) -> Any:
    """Copy the record with its children (one transaction, the actor's own rights) and open
    the copy; a copy the store refuses goes back with the reasons."""
    try:
        copy = copying.copy_record(portal.store, actor, target.name, id)
    except errors.NotFound:
        abort(404)
    except errors.Forbidden:
        abort(403)
    except errors.ValidationFailed as exc:
        _flash_errors(target, translate_errors(exc.errors, str(g.get("locale") or "en")))
        return redirect(back, 303)
    flash(gettext("%(item)s copied: this is the copy.", item=label(target.label, target.name)),
          "success")  # fmt: skip
    return redirect(_record_url(portal, actor, target.name, copy.id, page), 303)


def _flash_errors(target: Entity, messages: Mapping[str, list[str]]) -> None:
    for line in error_lines(target, messages):
        flash(line, "error")


def _record_url(
    portal: RuntimePortal, actor: Actor, entity: str, record_id: int, page: str | None
) -> str:
    """The page the action came from when it shows this record, else the entity's page."""
    model = portal.compiled.model
    chosen = model.pages.get(page or "")
    if (
        chosen is None
        or not chosen.has_id
        or page_entity(model, chosen) != entity
        or not page_allowed(chosen, actor)
    ):
        chosen = page_for(portal, actor, "detail", entity)
    return page_url(chosen.name, record_id) if chosen is not None else portal_url("/")


VIEWS: dict[str, Callable[..., Any]] = {
    "sys:file": file_view,
    "sys:autocomplete": autocomplete_view,
    "sys:export": export_view,
    "sys:action": action_view,
}
