"""The calendar block over HTTP on SQLite and PostgreSQL (the reference example): the week with
places left and accessible names, booking, a full slot's message, the reader's bookings marked,
cancel and its deadline, and calendar files (.ics) parsed back with icalendar — another
customer's booking is a 404 on every route."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar

from portalis.engine.docs.examples.bookings import CALENDAR
from portalis.testing.concurrency import race
from portalis.testing.web import PortalClient, WebPortal

PORTAL = (
    """\
format: portalis/v1
portal: calls
title: Calls
locales: [en, de]
roles:
  customer: {label: Customer}
  agent: {label: Agent, staff: true}
navigation: [calls]
seed: [seed.yaml]
"""
    + CALENDAR.yaml
)
SEED = """\
users:
  - {email: sam@calls.test, name: Sam Agent, roles: [agent]}
  - {email: cleo@calls.test, name: Cleo Customer, roles: [customer]}
  - {email: carl@calls.test, name: Carl Customer, roles: [customer]}
  - {email: guest0@calls.test, name: Guest Zero, roles: [customer]}
  - {email: guest1@calls.test, name: Guest One, roles: [customer]}
  - {email: guest2@calls.test, name: Guest Two, roles: [customer]}
"""


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    folder = tmp_path / "calls"
    folder.mkdir()
    (folder / "portal.yaml").write_text(PORTAL, encoding="utf-8")
    (folder / "seed.yaml").write_text(SEED, encoding="utf-8")
    portal = WebPortal.deploy(database_url, tmp_path / "instance", folder)
    yield portal
    portal.close()


def slot(web: WebPortal, start: datetime, capacity: int = 1, topic: str = "Billing") -> int:
    values = {"topic": topic, "starts_at": start, "ends_at": start + timedelta(minutes=30),
              "capacity": capacity, "call_link": "https://meet.example/a;b,c"}  # fmt: skip
    return web.store.insert(web.actor("sam@calls.test"), "call_slot", values).id


def book(client: PortalClient, slot_id: int, week: str) -> str:
    answer = client.post(f"/call-slots?week={week}",
                         {"_block": "0", "op": "book", "slot": str(slot_id), "week": week})  # fmt: skip
    assert answer.status_code == 303
    return client.get(answer.headers["Location"].split("/calls", 1)[-1]).text


def test_book_see_it_marked_download_and_cancel(web: WebPortal) -> None:
    start = (datetime.now(UTC) + timedelta(days=9)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    sid = slot(web, start, capacity=2)
    week = (start.date() - timedelta(days=start.weekday())).isoformat()
    cleo = web.client("cleo@calls.test")
    page = cleo.get(f"/call-slots?week={week}").text
    assert "Times in Europe/Berlin" in page
    assert "10:00–10:30" in page  # 09:00 UTC in Berlin (winter time)
    day = start.strftime("%A")
    assert f'aria-label="Book {day} {start.day} {start:%B} 10:00–10:30, 2 places left"' in page
    after = book(cleo, sid, week)
    assert "Booked: " in after and "Booked by you" in after and "Your bookings" in after
    # others see the place that is left, in the singular by the language's plural rule
    others = web.client("carl@calls.test").get(f"/call-slots?week={week}").text
    assert ">1 place left<" in others
    (booking,) = web.store.list(web.actor("cleo@calls.test"), "call_booking").records
    # the calendar file of the booking, parsed back
    ics = cleo.get(f"/_ics/calls/0/{booking.id}.ics")
    assert ics.status_code == 200 and ics.headers["Content-Type"].startswith("text/calendar")
    (event,) = Calendar.from_ical(ics.data).walk("VEVENT")
    assert str(event["UID"]) == f"calls-call_booking-{booking.id}@portalis"
    assert event.decoded("DTSTART") == start and event["DTSTART"].to_ical().endswith(b"Z")
    assert event.decoded("DTEND") == start + timedelta(minutes=30)
    assert str(event["SUMMARY"]) == "Billing" and "DTSTAMP" in event
    assert str(event["LOCATION"]) == "https://meet.example/a;b,c"
    assert b"LOCATION:https://meet.example/a\\;b\\,c" in ics.data  # escaped as RFC 5545 says
    assert str(event["STATUS"]) == "CONFIRMED"
    feed = Calendar.from_ical(cleo.get("/_ics/calls/0.ics").data)
    assert [str(e["UID"]) for e in feed.walk("VEVENT")] == [str(event["UID"])]
    # another customer: 404 for the file, the cancel; their feed is empty
    carl = web.client("carl@calls.test")
    assert carl.get(f"/_ics/calls/0/{booking.id}.ics").status_code == 404
    assert carl.post("/call-slots", {"_block": "0", "op": "cancel", "booking": str(booking.id),
                                     "version": str(booking.version)}).status_code == 404  # fmt: skip
    assert not Calendar.from_ical(carl.get("/_ics/calls/0.ics").data).walk("VEVENT")
    # cancel frees the place
    done = cleo.post(f"/call-slots?week={week}", {"_block": "0", "op": "cancel", "week": week,
                     "booking": str(booking.id), "version": str(booking.version)})  # fmt: skip
    assert done.status_code == 303
    assert web.store.get(web.actor("sam@calls.test"), "call_slot", sid)["booked"] == 0
    (event,) = Calendar.from_ical(cleo.get(f"/_ics/calls/0/{booking.id}.ics").data).walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED"


def test_a_full_slot_refuses_with_a_message_and_late_cancel_is_refused(web: WebPortal) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=20)
    sid = slot(web, start)
    week = (start.astimezone().date() - timedelta(days=start.astimezone().weekday())).isoformat()
    cleo, carl = web.client("cleo@calls.test"), web.client("carl@calls.test")
    book(cleo, sid, week)
    refused = book(carl, sid, week)
    assert "This slot is fully booked" in refused
    page = cleo.get(f"/call-slots?week={week}").text
    assert "Can no longer be cancelled" in page
    (booking,) = web.store.list(web.actor("cleo@calls.test"), "call_booking").records
    late = cleo.post(f"/call-slots?week={week}", {"_block": "0", "op": "cancel", "week": week,
                     "booking": str(booking.id), "version": str(booking.version)})  # fmt: skip
    assert late.status_code == 303
    assert "can no longer be cancelled" in cleo.get(f"/call-slots?week={week}").text
    assert (
        web.store.get(web.actor("cleo@calls.test"), "call_booking", booking.id)["status"]
        == "booked"
    )


def test_r7_customers_booking_the_last_place_at_once_over_http(web: WebPortal) -> None:
    """Five customers press "Book" on the last place at the same moment: one booking, four
    "fully booked" messages, and the slot's count equals its capacity."""
    start = (datetime.now(UTC) + timedelta(days=9)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    sid = slot(web, start, capacity=1)
    week = (start.date() - timedelta(days=start.weekday())).isoformat()
    sam = web.actor("sam@calls.test")
    emails = ["cleo@calls.test", "carl@calls.test", *(f"guest{n}@calls.test" for n in range(3))]
    clients = [web.client(email) for email in emails]
    pages = race(*(lambda c=c: book(c, sid, week) for c in clients))
    assert not [p for p in pages if isinstance(p, BaseException)], pages
    booked = [p for p in pages if "Booked: " in p]
    refused = [p for p in pages if "This slot is fully booked" in p]
    assert (len(booked), len(refused)) == (1, 4)
    assert web.store.get(sam, "call_slot", sid)["booked"] == 1
    assert len(web.store.list(sam, "call_booking").records) == 1
