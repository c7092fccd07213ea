"""The `calendar` block and `before:` timers in definitions: the reference example validates and
compiles; each mistake is a located problem (file and line) with its stable code and a hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from portalis.engine.definition.calendar_section import CalendarBlock
from portalis.engine.deploy.validator import Checker
from portalis.engine.docs.examples.bookings import CALENDAR
from portalis.engine.problems import Severity

HEADER = """\
format: portalis/v1
portal: calls
title: Calls
locales: [en, de]
roles:
  customer: {label: Customer}
  agent: {label: Agent, staff: true}
"""
PORTAL = HEADER + CALENDAR.yaml


def check(checker: Checker, folder: Path, text: str) -> list[tuple[str, int, str, str]]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "portal.yaml").write_text(text, encoding="utf-8")
    checked = checker.check_dir(folder)
    return [
        (p.code, p.line, p.message, p.hint)
        for p in checked.report.problems
        if p.severity == Severity.ERROR
    ]


def line_of(text: str, marker: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if marker in line)


def test_reference_example_validates_and_compiles(
    portalis_checker: Checker, tmp_path: Path
) -> None:
    folder = tmp_path / "calls"
    assert check(portalis_checker, folder, PORTAL) == []
    model = portalis_checker.check_dir(folder).model
    assert model is not None
    (block,) = model.pages["calls"].blocks
    assert block.config == CalendarBlock(
        entity="call_slot", booking="call_booking", via="", start="starts_at", end="ends_at",
        capacity="capacity", booked="booked", resource="agent", location="call_link",
        cancel="cancel", timezone="Europe/Berlin",
    )  # fmt: skip
    (timer,) = model.workflows["call_booking_flow"].timers
    assert (timer.of, timer.before, timer.before_seconds) == ("starts_at", "24h", 86400)


CASES = [
    ("start: starts_at", "start: topic", "calendar-field", "topic is a string field"),
    ("capacity: capacity\n", "capacity: topic\n", "calendar-field", "needs int"),
    ("booked: booked", "booked: capacity", "calendar-booked", "must count the call_booking"),
    ("cancel: cancel", "cancel: cancle", "calendar-cancel", "no workflow of call_booking"),
    ("timezone: Europe/Berlin", "timezone: Europe/Berlinn", "calendar-timezone", "unknown time"),
    ("entity: call_slot", "entity: call_slots", "ref-unknown-entity", "call_slots"),
    ("      starts_at: {type: datetime, compute",
     "      note: {type: string, required: true}\n      starts_at: {type: datetime, compute",
     "calendar-booking-field", "call_booking.note is required"),
    ("        of: starts_at", "        of: status", "timer-moment", "not a date or datetime"),
    ("        before: 24h", "        before: 24h\n        after: 1h", "timer-moment",
     "a timer fires after"),
]  # fmt: skip
#: Where a problem is reported when not on the line of the new text: (marker, lines after it).
AT = {
    "calendar-booking-field": ("booking: call_booking", 0),
    "timer-moment-after": ("- name: remind", 0),
}


@pytest.mark.parametrize(("old", "new", "code", "message"), CASES)
def test_mistakes_are_problems_at_their_line(
    portalis_checker: Checker, tmp_path: Path, old: str, new: str, code: str, message: str
) -> None:
    assert PORTAL.count(old) >= 1
    text = PORTAL.replace(old, new, 1) if "\n" in old else _last(PORTAL, old, new)
    found = [p for p in check(portalis_checker, tmp_path / "bad", text) if p[0] == code]
    assert len(found) == 1, found
    _, line, problem, hint = found[0]
    assert message in problem and hint
    key = f"{code}-after" if "after" in new else code
    marker, offset = AT.get(key, ([s for s in new.split("\n") if s.strip()][-1].strip(), 0))
    assert line == line_of(text, marker) + offset


def _last(text: str, old: str, new: str) -> str:
    """Replace the last `old` (the calendar block's options come after the entities)."""
    head, _, tail = text.rpartition(old)
    return head + new + tail


def test_a_slot_without_capacity_rule_is_refused(portalis_checker: Checker, tmp_path: Path) -> None:
    rule = "      - check: \"record['booked'] <= record['capacity']\""
    text = PORTAL.replace(rule, "      - check: \"record['capacity'] >= 0\"")
    found = [p for p in check(portalis_checker, tmp_path / "bad", text) if p[0] != "x"]
    ((code, line, message, hint),) = found
    assert code == "calendar-capacity-rule" and "could be booked twice" in message
    assert "record['booked'] <= record['capacity']" in hint
    assert line == line_of(text, "booked: booked")


def test_a_booking_without_a_ref_to_the_slot_is_refused(
    portalis_checker: Checker, tmp_path: Path
) -> None:
    text = PORTAL.replace("booking: call_booking", "booking: call_slot", 1)
    text = text.replace("          booking: call_booking", "          booking: call_slot")
    codes = [p[0] for p in check(portalis_checker, tmp_path / "bad", text)]
    assert sorted(codes) == ["calendar-booking", "calendar-cancel"]  # it has no workflow either
