"""Calendar files (.ics) of a calendar block's bookings, made with the `icalendar` library.

`GET /_ics/<page>/<block>.ics` is the reader's feed (every booking of theirs the store lets
them read); `GET /_ics/<page>/<block>/<id>.ics` one booking. Both read through the record
store with the reader, so a booking they may not see — another customer's — is a 404, and a
page or block they may not open too. Times are written in UTC (`DTSTART:…Z`); each event's
UID is stable (`<portal>-<entity>-<id>@portalis`), so a calendar that imports the file again
updates the event instead of duplicating it; a cancelled booking is `STATUS:CANCELLED`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from flask import Response, abort, request
from icalendar import Calendar, Event

from portalis.engine.data.errors import NotFound
from portalis.engine.data.permissions import Actor
from portalis.engine.data.rows import Record
from portalis.engine.definition.calendar_section import CalendarBlock
from portalis.engine.definition.model import PortalModel

from .blocks.calendar_week import aware, own_bookings, via_of
from .display import Formatter
from .page_records import page_allowed
from .registry import RuntimePortal
from .templating import label
from .uploads import content_disposition


def _block(portal: RuntimePortal, actor: Actor, page: str, block: int) -> CalendarBlock:
    """The calendar block at `page`/`block` when the reader may open the page, else 404."""
    target = portal.compiled.model.pages.get(page)
    if target is None or not page_allowed(target, actor) or not 0 <= block < len(target.blocks):
        abort(404)
    cfg = target.blocks[block].config
    if not isinstance(cfg, CalendarBlock) or not actor.is_authenticated:
        abort(404)
    return cfg


def feed_view(portal: RuntimePortal, actor: Actor, page: str, block: int) -> Response:
    """GET /_ics/<page>/<block>.ics: the reader's bookings."""
    cfg = _block(portal, actor, page, block)
    pairs = own_bookings(portal.store, actor, cfg)
    return _response(portal, actor, cfg, pairs, f"{page}.ics")


def booking_view(portal: RuntimePortal, actor: Actor, page: str, block: int, id: int) -> Response:
    """GET /_ics/<page>/<block>/<id>.ics: one booking of the reader's."""
    cfg = _block(portal, actor, page, block)
    store = portal.store
    try:
        booking = store.get(actor, cfg.booking, id)
    except NotFound:
        abort(404)
    if booking.get("created_by") != actor.id:
        abort(404)  # bookings are the reader's own here (an agent's view is the page)
    try:
        slot = store.get(actor, cfg.entity, booking.get(via_of(store, cfg)))
    except NotFound:
        abort(404)
    return _response(portal, actor, cfg, [(booking, slot)], f"booking-{id}.ics")


def _response(
    portal: RuntimePortal,
    actor: Actor,
    cfg: CalendarBlock,
    pairs: Iterable[tuple[Record, Record | None]],
    filename: str,
) -> Response:
    model = portal.compiled.model
    calendar = Calendar()
    calendar.add("prodid", "-//Portalis//Bookings//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", label(model.title, model.slug))
    fmt = Formatter(portal, actor, str(model.default_locale))
    for booking, slot in pairs:
        if slot is not None:
            event = _event(portal, cfg, booking, slot, fmt)
            if event is not None:
                calendar.add_component(event)
    response = Response(calendar.to_ical(), mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _event(
    portal: RuntimePortal, cfg: CalendarBlock, booking: Record, slot: Record, fmt: Formatter
) -> Event | None:
    start, end = aware(slot.get(cfg.start)), aware(slot.get(cfg.end))
    if start is None or end is None:
        return None
    store = portal.store
    slot_entity = store.entity(cfg.entity)
    event = Event()
    event.add("uid", f"{portal.slug}-{cfg.booking}-{booking.id}@portalis")
    event.add("dtstamp", datetime.now(UTC).replace(microsecond=0))
    event.add("dtstart", start.astimezone(UTC))
    event.add("dtend", end.astimezone(UTC))
    event.add("summary", slot_entity.title_of(slot.values))
    if cfg.location and slot.get(cfg.location):
        event.add("location", fmt.text(slot_entity, cfg.location, slot))
    lines = [label(portal.compiled.model.title, portal.slug)]
    if cfg.resource and slot.get(cfg.resource) is not None:
        lines.append(f"{label(slot_entity.fields[cfg.resource].label, cfg.resource)}: "
                     f"{fmt.text(slot_entity, cfg.resource, slot)}")  # fmt: skip
    lines.append(request.host_url.rstrip("/"))
    event.add("description", "\n".join(lines))
    event.add("status", "CANCELLED" if _cancelled(store.model, cfg, booking) else "CONFIRMED")
    return event


def _cancelled(model: PortalModel, cfg: CalendarBlock, booking: Record) -> bool:
    """True when the booking is in the state its `cancel:` transition leads to."""
    for wf in model.workflow_for(cfg.booking):
        tr = wf.transitions.get(cfg.cancel or "")
        if tr is not None:
            return bool(booking.get(wf.field) == tr.target)
    return False


VIEWS: dict[str, Callable[..., Any]] = {
    "sys:ics_feed": feed_view,
    "sys:ics_booking": booking_view,
}
