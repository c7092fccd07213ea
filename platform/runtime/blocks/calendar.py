"""The `calendar` block: a week of bookable slots, the reader's bookings, book and cancel.

The week is drawn on the server in the block's time zone (days as columns; a list of days on
narrow screens, by CSS) and works without JavaScript: each free slot is a button of a small
POST form whose accessible name says what it books ("Book Tuesday 9 December 10:00–10:30,
2 places left"). Booking inserts a booking through the record store, so the booking entity's
permissions, rules and workflow apply and the slot's capacity rule refuses the place that is
gone (R7); cancelling takes the `cancel:` transition, whose `when:` is the deadline.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask import Response, abort, flash, redirect, render_template
from markupsafe import Markup

from portalis.engine.data import errors
from portalis.engine.data.rows import Record
from portalis.engine.definition.calendar_section import CalendarBlock
from portalis.engine.flow import workflow

from ..display import Formatter
from ..templating import gettext, label, ngettext
from ..urls import page_url, portal_url
from .base import BlockContext, BlockType
from .calendar_week import Slot, Week, active_state, aware, read_week, via_of, week_of
from .form import translate_errors


def when_text(start: datetime, end: datetime, week: Week, locale: str) -> str:
    """`Tuesday 9 December 10:00–10:30` in the week's zone and the reader's language."""
    begin, finish = start.astimezone(week.zone), end.astimezone(week.zone)
    day = format_date(begin.date(), "EEEE d MMMM", locale=locale)
    return f"{day} {format_time(begin, 'HH:mm', locale=locale)}–{format_time(finish, 'HH:mm', locale=locale)}"


class CalendarBlockType(BlockType):
    """Renders `calendar` blocks and takes their book and cancel forms."""

    name = "calendar"

    def render(self, ctx: BlockContext) -> Markup:
        """The week (from `?week=`), its navigation and the reader's bookings."""
        cfg: CalendarBlock = ctx.block.config
        store = ctx.store
        if not store.policy.grants_for(ctx.actor, cfg.entity, "read"):
            return Markup("")
        week = read_week(store, ctx.actor, cfg, week_of(ctx.args.get("week"), _zone(cfg)))
        fmt = Formatter(ctx.portal, ctx.actor, ctx.locale)
        slot_entity = store.entity(cfg.entity)
        can_book = bool(store.policy.grants_for(ctx.actor, cfg.booking, "create"))
        if cfg.resource:  # the resources' titles, read once for the whole week
            records = [s.record for _, slots in week.days for s in slots]
            fmt.prepare(slot_entity, [cfg.resource], records, {})
        days = []
        for day, slots in week.days:
            days.append({
                "date": day.isoformat(),
                "name": format_date(day, "EEEE", locale=ctx.locale),
                "short": format_date(day, "d MMM", locale=ctx.locale),
                "slots": [self._slot(ctx, cfg, week, s, fmt, can_book) for s in slots],
            })  # fmt: skip
        bookings = [self._booking(ctx, cfg, week, b, s) for b, s in week.bookings]
        monday = week.monday
        here = page_url(ctx.page.name)
        return Markup(
            render_template(
                "blocks/calendar.html",
                block=ctx.block,
                title=label(cfg.title) if cfg.title else label(slot_entity.label, cfg.entity),
                days=days,
                bookings=bookings,
                week_label=gettext(
                    "Week of %(day)s", day=format_date(monday, "d MMMM y", locale=ctx.locale)
                ),
                previous_url=f"{here}?week={(monday - timedelta(days=7)).isoformat()}",
                next_url=f"{here}?week={(monday + timedelta(days=7)).isoformat()}",
                today_url=here,
                zone=cfg.timezone,
                action=here + f"?week={monday.isoformat()}",
                week=monday.isoformat(),
                feed_url=portal_url(f"/_ics/{ctx.page.name}/{ctx.block.index}.ics"),
            )
        )

    def _slot(
        self, ctx: BlockContext, cfg: CalendarBlock, week: Week, slot: Slot, fmt: Formatter,
        can_book: bool,
    ) -> dict[str, Any]:  # fmt: skip
        entity = ctx.store.entity(cfg.entity)
        when = when_text(slot.start, slot.end, week, ctx.locale)
        start = slot.start.astimezone(week.zone)
        end = slot.end.astimezone(week.zone)
        resource = fmt.text(entity, cfg.resource, slot.record) if cfg.resource else ""
        if resource.startswith("#"):
            resource = ""  # a record the reader may not read has no name to show
        # plural rules differ by language (French says "0 place restante", singular)
        left = ngettext("%(num)d place left", "%(num)d places left", slot.left, num=slot.left)
        return {
            "id": slot.record.id,
            "time": f"{start:%H:%M}–{end:%H:%M}",
            "title": entity.title_of(slot.record.values),
            "resource": resource,
            "left": left,
            "full": slot.left <= 0,
            "mine": slot.mine is not None,
            "bookable": can_book and slot.left > 0 and slot.mine is None,
            "book_name": gettext("Book %(when)s, %(left)s", when=when, left=left),
        }

    def _booking(
        self, ctx: BlockContext, cfg: CalendarBlock, week: Week, booking: Record,
        slot: Record | None,
    ) -> dict[str, Any]:  # fmt: skip
        store = ctx.store
        entity = store.entity(cfg.booking)
        start = aware(slot.get(cfg.start)) if slot else None
        end = aware(slot.get(cfg.end)) if slot else None
        state = active_state(store, cfg)
        status = ""
        if state is not None:
            fmt = Formatter(ctx.portal, ctx.actor, ctx.locale)
            status = fmt.text(entity, state[0], booking)
        cancel = None
        if cfg.cancel and (state is None or booking.get(state[0]) == state[1]):
            cancel = self._cancel(ctx, cfg, booking)
        return {
            "id": booking.id,
            "version": booking.version,
            "title": store.entity(cfg.entity).title_of(slot.values) if slot else "",
            "when": when_text(start, end, week, ctx.locale) if start and end else "",
            "status": status,
            "active": state is None or booking.get(state[0]) == state[1],
            "cancel": cancel,
            "ics_url": portal_url(f"/_ics/{ctx.page.name}/{ctx.block.index}/{booking.id}.ics"),
        }

    def _cancel(self, ctx: BlockContext, cfg: CalendarBlock, booking: Record) -> dict[str, Any]:
        """Whether the reader may cancel now, and why not."""
        for item in workflow.available(ctx.store, ctx.actor, cfg.booking, booking.id):
            if item.transition.name == cfg.cancel:
                return {
                    "allowed": item.allowed,
                    "label": label(item.transition.label, item.transition.name),
                    "name": item.transition.name,
                    "eligible": item.eligible,
                }
        return {"allowed": False, "label": "", "name": cfg.cancel, "eligible": False}

    def handle_post(self, ctx: BlockContext) -> Response | None:
        """`op=book` with `slot`, or `op=cancel` with `booking` and `version`; then back to
        the week with a message."""
        cfg: CalendarBlock = ctx.block.config
        form = ctx.form or {}
        store = ctx.store
        week = week_of(str(form.get("week") or ""), _zone(cfg))
        back = page_url(ctx.page.name) + f"?week={week.isoformat()}"
        op = form.get("op")
        if op == "book":
            slot_id = _int(form.get("slot"))
            try:
                slot = store.get(ctx.actor, cfg.entity, slot_id)
                store.insert(ctx.actor, cfg.booking, {via_of(store, cfg): slot.id})
            except errors.NotFound:
                abort(404)
            except errors.Forbidden:
                abort(403)
            except errors.ValidationFailed as exc:
                for messages in translate_errors(exc.errors, ctx.locale).values():
                    for message in messages:
                        flash(message, "error")
                return _back(back)
            start, end = aware(slot.get(cfg.start)), aware(slot.get(cfg.end))
            zone_week = Week(week, _zone(cfg))
            when = when_text(start, end, zone_week, ctx.locale) if start and end else ""
            flash(gettext("Booked: %(when)s.", when=when), "success")
            return _back(back)
        if op == "cancel" and cfg.cancel:
            booking_id, version = _int(form.get("booking")), _int(form.get("version"))
            try:
                workflow.take(store, ctx.actor, cfg.booking, booking_id, cfg.cancel,
                              expected_version=version)  # fmt: skip
            except errors.NotFound:
                abort(404)
            except workflow.TransitionUnavailable as exc:
                if not exc.availability.eligible:
                    abort(404)
                flash(gettext("This booking can no longer be cancelled."), "error")
                return _back(back)
            except errors.Forbidden:
                abort(404)
            except errors.StaleRecord:
                flash(gettext("This booking changed meanwhile; please try again."), "error")
                return _back(back)
            flash(gettext("Booking cancelled."), "success")
            return _back(back)
        abort(400)


def _back(url: str) -> Response:
    return cast(Response, redirect(url, 303))


def _zone(cfg: CalendarBlock) -> ZoneInfo:
    return ZoneInfo(cfg.timezone)


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        abort(404)
