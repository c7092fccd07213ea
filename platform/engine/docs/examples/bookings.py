"""Examples of appointments: slots with a capacity, bookings, a week view and reminders."""

from __future__ import annotations

from typing import Final

from .example import Example

CALENDAR: Final = Example(
    "Customers book a call with an agent: slots with a capacity, a booking workflow whose "
    "cancel is allowed up to 24 hours ahead, a reminder the day before, and the week view.",
    """\
entities:
  call_slot:
    title_field: topic
    fields:
      topic: {type: string, required: true}
      starts_at: {type: datetime, required: true}
      ends_at: {type: datetime, required: true}
      capacity: {type: int, required: true, min: 0}
      booked: {type: int, rollup: count, of: call_booking, via: slot, where: {status: booked}}
      agent: {type: ref, to: user}
      call_link: {type: string}
    rules:
      - check: "record['booked'] <= record['capacity']"     # the last place is taken once
        message: {en: This slot is fully booked, de: Dieser Termin ist ausgebucht}
    permissions:
      - {roles: [customer, agent], actions: [read], scope: all}
      - {roles: [agent], actions: [create, update], scope: all}
  call_booking:
    fields:
      slot: {type: ref, to: call_slot, required: true}
      starts_at: {type: datetime, compute: "record.slot.starts_at"}   # for guards and timers
      status: {type: choice, options: [booked, cancelled, attended], default: booked}
    permissions:
      - {roles: [customer], actions: [read, create, transition], scope: own}
      - {roles: [agent], actions: [read, transition], scope: all}
workflows:
  call_booking_flow:
    entity: call_booking
    field: status
    initial: booked
    transitions:
      - {name: cancel, from: booked, to: cancelled, roles: [customer, agent],
         when: "hours_until(record['starts_at']) >= 24"}
      - {name: attend, from: booked, to: attended, roles: [agent]}
    timers:
      - name: remind                      # "your call is tomorrow", a day before it starts
        state: booked
        before: 24h
        of: starts_at
        actions:
          - notify: {template: call_tomorrow, to: [creator]}
notifications:
  call_tomorrow:
    subject: "Your call is tomorrow"
    body: "Your call starts at {{ record.starts_at }} (UTC)."
pages:
  calls:
    route: /call-slots
    title: {en: Book a call, de: Rückruf buchen}
    roles: [customer]
    blocks:
      - calendar:
          entity: call_slot
          booking: call_booking
          start: starts_at
          end: ends_at
          capacity: capacity
          booked: booked
          resource: agent
          location: call_link
          cancel: cancel
          timezone: Europe/Berlin
""",
)

SECTIONS: Final[dict[str, tuple[Example, ...]]] = {
    "block_calendar": (CALENDAR,),
}
