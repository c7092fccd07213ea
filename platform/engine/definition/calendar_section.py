"""The `calendar` block's definition section: bookable slots with a capacity, in a week view.

A calendar joins two entities: slots (a start, an end, a capacity, a count of their bookings
and optionally a resource such as the agent or practitioner) and bookings (a ref to their slot).
The last place is taken once because the slot entity says so itself, exactly as R7 needs: its
`booked` field is a count rollup over the bookings (narrowed by `where`, e.g. only `booked`
ones) and one of its rules checks `booked <= capacity`, so every booking — from the week view,
the API or an automation — is refused inside its own transaction when the slot is full.
Booking and cancelling go through the record store and the booking's workflow (`cancel:` names
the transition the week view offers, guarded by its `when:` such as "24 hours ahead").
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..problems import JsonPath
from .sections import DefinitionSection, SectionContext
from .values import Label


@dataclass(frozen=True, slots=True)
class CalendarBlock:
    """`calendar`: a week of `entity` slots the reader may book as `booking` records."""

    entity: str
    booking: str
    via: str
    start: str
    end: str
    capacity: str
    booked: str
    resource: str | None = None
    location: str | None = None
    cancel: str | None = None
    timezone: str = "UTC"
    title: Label | None = None


def _name(description: str) -> dict[str, Any]:
    return {"$ref": "#/$defs/name", "description": description}


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "entity": _name("The slot entity."),
        "booking": _name("The booking entity (its records are the bookings of a slot)."),
        "via": _name(
            "The booking's ref field to the slot entity (default: its only ref to that entity)."
        ),
        "start": _name("The slot's datetime field where it starts."),
        "end": _name("The slot's datetime field where it ends."),
        "capacity": _name("The slot's int field: how many bookings it takes."),
        "booked": _name(
            "The slot's count rollup over its bookings (`{type: int, rollup: count, of: "
            "booking, via: slot, where: {status: booked}}`); places left = capacity − booked."
        ),
        "resource": _name(
            "A slot field naming who or what is booked (the agent, practitioner or room), "
            "shown with each slot and in the calendar file."
        ),
        "location": _name("A slot field with the place or call link (LOCATION in .ics files)."),
        "cancel": _name(
            "The booking workflow's transition offered as Cancel (its when: is the deadline, "
            "e.g. `hours_until(record['starts_at']) >= 24`)."
        ),
        "timezone": {
            "type": "string",
            "maxLength": 64,
            "description": "IANA time zone the week is shown in (default UTC), e.g. Europe/Berlin.",
        },
        "title": {"$ref": "#/$defs/label"},
    },
    "required": ["entity", "booking", "start", "end", "capacity", "booked"],
    "additionalProperties": False,
    "description": "A week of bookable slots with the places left, the reader's bookings, "
    "booking, cancelling and calendar (.ics) files.",
}


def _typed(
    ctx: SectionContext, entity: str, name: str, types: tuple[str, ...], path: JsonPath
) -> Mapping[str, Any] | None:
    """The raw field `entity.name` when it has one of `types`, else a problem and None."""
    if not ctx.check_field(entity, name, path):
        return None
    spec: Mapping[str, Any] = ctx.fields_of(entity)[name]
    if spec.get("type") not in types:
        fitting = [n for n, f in ctx.fields_of(entity).items() if f.get("type") in types]
        ctx.problem(
            "calendar-field",
            f"{entity}.{name} is a {spec.get('type')} field; the calendar needs "
            + " or ".join(types),
            path,
            ctx.suggest(name, fitting) if fitting else f"add a {types[0]} field to {entity}",
        )
        return None
    return spec


def booking_ref(options: Mapping[str, Any], fields: Mapping[str, Any]) -> str | None:
    """The booking's ref field to the slot entity: `via`, else the only such ref."""
    if options.get("via") is not None:
        return str(options["via"])
    refs = [
        n for n, f in fields.items() if f.get("type") == "ref" and f.get("to") == options["entity"]
    ]
    return refs[0] if len(refs) == 1 else None


def check_calendar(options: dict[str, Any], path: JsonPath, ctx: SectionContext) -> None:
    """Fields and types of the slot entity, the booking's ref, the capacity guard, the cancel
    transition and the time zone."""
    slot, booking = options["entity"], options["booking"]
    known = ctx.check_entity(slot, (*path, "entity"))
    known = ctx.check_entity(booking, (*path, "booking")) and known
    _check_timezone(options.get("timezone"), path, ctx)
    if not known:
        return
    for key in ("start", "end"):
        _typed(ctx, slot, options[key], ("datetime",), (*path, key))
    _typed(ctx, slot, options["capacity"], ("int",), (*path, "capacity"))
    for key in ("resource", "location"):
        if options.get(key) is not None:
            ctx.check_field(slot, options[key], (*path, key))
    via = _check_via(options, path, ctx)
    if via is not None:
        _check_booked(options, via, path, ctx)
        _check_booking_fields(booking, via, path, ctx)
    if options.get("cancel") is not None:
        _check_cancel(booking, options["cancel"], (*path, "cancel"), ctx)


def _check_timezone(zone: Any, path: JsonPath, ctx: SectionContext) -> None:
    if zone is None:
        return
    try:
        zoneinfo.ZoneInfo(str(zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        ctx.problem(
            "calendar-timezone",
            f"unknown time zone {zone!r}",
            (*path, "timezone"),
            ctx.suggest(str(zone), sorted(zoneinfo.available_timezones())),
        )


def _check_via(options: Mapping[str, Any], path: JsonPath, ctx: SectionContext) -> str | None:
    slot, booking = options["entity"], options["booking"]
    fields = ctx.fields_of(booking)
    via = booking_ref(options, fields)
    spec = fields.get(via or "")
    if via is None or spec is None or spec.get("type") != "ref" or spec.get("to") != slot:
        refs = [n for n, f in fields.items() if f.get("type") == "ref" and f.get("to") == slot]
        ctx.problem(
            "calendar-booking",
            f"the booking entity {booking} needs one ref field to {slot}"
            + (f"; {via!r} is not one" if via is not None else ""),
            (*path, "via") if "via" in options else (*path, "booking"),
            f"use via: {refs[0]}"
            if refs
            else f"add {{type: ref, to: {slot}, required: true}} to {booking}",
        )
        return None
    return via


def _check_booked(
    options: Mapping[str, Any], via: str, path: JsonPath, ctx: SectionContext
) -> None:
    """`booked` counts the bookings of the slot, and a rule of the slot keeps it within the
    capacity (the R7 guard: without it two people could take the last place)."""
    slot, booking = options["entity"], options["booking"]
    booked, capacity = options["booked"], options["capacity"]
    spec = _typed(ctx, slot, booked, ("int",), (*path, "booked"))
    if spec is None:
        return
    if spec.get("rollup") != "count" or spec.get("of") != booking or spec.get("via") != via:
        ctx.problem(
            "calendar-booked",
            f"{slot}.{booked} must count the {booking} records of the slot",
            (*path, "booked"),
            f"declare {booked}: {{type: int, rollup: count, of: {booking}, via: {via}}}",
        )
        return
    for rule in ctx.rules_of(slot):
        names = set(re.findall(r"[a-z][a-z0-9_]*", str(rule.get("check", ""))))
        if {booked, capacity} <= names:
            return
    ctx.problem(
        "calendar-capacity-rule",
        f"no rule of {slot} keeps {booked} within {capacity}: the last place could be booked twice",
        (*path, "booked"),
        f"add to {slot}: rules: [{{check: \"record['{booked}'] <= record['{capacity}']\", "
        "message: This slot is fully booked}]",
    )


def _check_booking_fields(booking: str, via: str, path: JsonPath, ctx: SectionContext) -> None:
    """Booking from the week view sets only the slot: other required fields need defaults."""
    for name, spec in ctx.fields_of(booking).items():
        if name != via and spec.get("required") and "default" not in spec and "compute" not in spec:
            ctx.problem(
                "calendar-booking-field",
                f"{booking}.{name} is required but the week view books with the slot only",
                (*path, "booking"),
                f"give {booking}.{name} a default: or make it optional",
            )


def _check_cancel(booking: str, name: str, path: JsonPath, ctx: SectionContext) -> None:
    transitions = [
        str(t.get("name"))
        for wf in ctx.workflows_of(booking)
        for t in wf.get("transitions") or []
        if isinstance(t, dict)
    ]
    if name not in transitions:
        ctx.problem(
            "calendar-cancel",
            f"no workflow of {booking} has a transition {name!r}",
            path,
            ctx.suggest(name, transitions)
            if transitions
            else f"add a workflow over {booking} with a transition {name!r}",
        )


def compile_calendar(options: Mapping[str, Any]) -> CalendarBlock:
    """The runtime's `CalendarBlock` (the definition is checked, so `via` resolves)."""
    return CalendarBlock(
        entity=options["entity"],
        booking=options["booking"],
        via=options.get("via") or "",
        start=options["start"],
        end=options["end"],
        capacity=options["capacity"],
        booked=options["booked"],
        resource=options.get("resource"),
        location=options.get("location"),
        cancel=options.get("cancel"),
        timezone=options.get("timezone", "UTC"),
        title=Label.of(options["title"]) if "title" in options else None,
    )


CALENDAR_SECTION = DefinitionSection(
    "block",
    "calendar",
    SCHEMA,
    "Calendar",
    "A week of bookable slots (days as columns, a day list on phones) with the places left; "
    "the reader books a place, sees and cancels their bookings and downloads them as "
    "calendar files (.ics). The slot entity's count rollup and capacity rule make the last "
    "place bookable once, however many book at the same time.",
    "entity: support_slot\nbooking: support_booking\nstart: starts_at\nend: ends_at\ncapacity: capacity\n"
    "booked: booked\nresource: agent\ncancel: cancel\ntimezone: Europe/Berlin",
    check_calendar,
    compile_calendar,
)
