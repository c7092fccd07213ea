"""The data of a calendar block: a week of slots in the block's time zone and the reader's
bookings, read through the record store with the reader (so only what they may see)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from portalis.engine.data.errors import BadQuery, NotFound
from portalis.engine.data.permissions import Actor
from portalis.engine.data.query import Between
from portalis.engine.data.rows import Record
from portalis.engine.data.store import RecordStore
from portalis.engine.definition.calendar_section import CalendarBlock

#: Most slots one week shows, and most bookings the reader's list holds.
MAX_SLOTS = 200
MAX_BOOKINGS = 100


def via_of(store: RecordStore, cfg: CalendarBlock) -> str:
    """The booking's ref field to the slot entity (`via:`, else its only such ref)."""
    if cfg.via:
        return cfg.via
    booking = store.model.entities[cfg.booking]
    for name, spec in booking.fields.items():
        if spec.type == "ref" and getattr(spec.config, "to", None) == cfg.entity:
            return name
    raise LookupError(f"{cfg.booking} has no ref to {cfg.entity}")


def week_of(text: str | None, zone: ZoneInfo) -> date:
    """The Monday of the week asked for (`2026-12-07`, any day of it), else this week's."""
    day = None
    if text and len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            day = None
    if day is None:
        day = datetime.now(zone).date()
    return day - timedelta(days=day.weekday())


def aware(value: Any) -> datetime | None:
    """A stored datetime as an aware UTC datetime."""
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(slots=True)
class Slot:
    """One slot of the week with what the reader needs to book it."""

    record: Record
    start: datetime
    end: datetime
    left: int
    mine: Record | None = None


@dataclass(slots=True)
class Week:
    """A week of slots by day (Monday first) and the reader's bookings."""

    monday: date
    zone: ZoneInfo
    days: list[tuple[date, list[Slot]]] = field(default_factory=list)
    bookings: list[tuple[Record, Record | None]] = field(default_factory=list)


def read_week(store: RecordStore, actor: Actor, cfg: CalendarBlock, monday: date) -> Week:
    """The slots starting in the week of `monday` (in the block's zone) that the reader may
    see, and the reader's own bookings with their slots."""
    zone = ZoneInfo(cfg.timezone)
    week = Week(monday, zone)
    start = datetime.combine(monday, time(0), zone).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), time(0), zone).astimezone(UTC)
    try:
        slots = store.list(
            actor, cfg.entity, filters={cfg.start: Between(start, end)}, sort=cfg.start,
            page_size=MAX_SLOTS, count=False,
        ).records  # fmt: skip
    except BadQuery:
        slots = ()
    mine = own_bookings(store, actor, cfg)
    active = active_state(store, cfg)
    via = via_of(store, cfg)
    booked_slots = {
        b.get(via): b for b, _ in mine if active is None or b.get(active[0]) == active[1]
    }
    by_day: dict[date, list[Slot]] = {monday + timedelta(days=i): [] for i in range(7)}
    for record in slots:
        begin, finish = aware(record.get(cfg.start)), aware(record.get(cfg.end))
        if begin is None or finish is None:
            continue
        capacity = int(record.get(cfg.capacity) or 0)
        left = max(0, capacity - int(record.get(cfg.booked) or 0))
        day = begin.astimezone(zone).date()
        if day in by_day:
            by_day[day].append(Slot(record, begin, finish, left, booked_slots.get(record.id)))
    week.days = list(by_day.items())
    week.bookings = mine
    return week


def active_state(store: RecordStore, cfg: CalendarBlock) -> tuple[str, Any] | None:
    """(state field, initial state) of the booking's workflow: a booking in it is live."""
    workflows = store.model.workflow_for(cfg.booking)
    return (workflows[0].field, workflows[0].initial) if workflows else None


def own_bookings(
    store: RecordStore, actor: Actor, cfg: CalendarBlock
) -> list[tuple[Record, Record | None]]:
    """The reader's own bookings (newest slot first) with their slots, as far as readable."""
    if not actor.is_authenticated or not store.policy.grants_for(actor, cfg.booking, "read"):
        return []
    via = via_of(store, cfg)
    try:
        page = store.list(actor, cfg.booking, sort="-created_at", page_size=MAX_BOOKINGS,
                          count=False)  # fmt: skip
    except BadQuery:
        return []
    records = [r for r in page.records if r.get("created_by") == actor.id]
    ids = sorted({r.get(via) for r in records if r.get(via) is not None})
    slots: dict[Any, Record] = {}
    for slot_id in ids:
        try:
            slots[slot_id] = store.get(actor, cfg.entity, slot_id)
        except NotFound:  # a slot the reader may no longer see stays unnamed
            continue
    pairs = [(r, slots.get(r.get(via))) for r in records]
    far = datetime.max.replace(tzinfo=UTC)
    pairs.sort(key=lambda p: aware(p[1].get(cfg.start)) or far if p[1] else far, reverse=True)
    return pairs
