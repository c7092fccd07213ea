"""R7 on SQLite and PostgreSQL: a slot's `booked` is a count rollup over its bookings and a rule
says `booked <= capacity`; twenty threads claim the last place at once — exactly one gets it,
the others are refused with the rule's message and leave nothing behind."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from derived_defs import deploy_text

from portalis.engine.data.errors import NON_FIELD, ValidationFailed
from portalis.engine.deploy.validator import Checker
from portalis.testing.portals import actor_for

THREADS = 20

PORTAL = """\
format: portalis/v1
portal: slots
title: Slots
locales: [en, de]
roles:
  guest: {label: Guest}
entities:
  slot:
    title_field: title
    fields:
      title: {type: string, required: true}
      capacity: {type: int, required: true, min: 0}
      booked: {type: int, rollup: count, of: booking, via: slot}
    rules:
      - check: "record['booked'] <= record['capacity']"
        message: {en: This slot is fully booked, de: Dieser Termin ist ausgebucht}
    permissions:
      - {roles: [guest], actions: [read, create, update], scope: all}
  booking:
    fields:
      slot: {type: ref, to: slot, required: true}
      name: {type: string, required: true}
    permissions:
      - {roles: [guest], actions: [read, create, delete], scope: all}
seed: [seed.yaml]
"""
SEED = """\
users:
  - {email: gina@slots.test, name: Gina Guest, roles: [guest]}
"""


def test_r7_twenty_threads_claim_the_last_slot(
    db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    portal = deploy_text(db_engine, portalis_checker, tmp_path / "slots", PORTAL, SEED)
    store = portal.store(db_engine)
    gina = actor_for(db_engine, portal, "gina@slots.test")
    slot = store.insert(gina, "slot", {"title": "Yoga, Monday 9:00", "capacity": 3}).id
    for name in ("Ann", "Bob"):
        store.insert(gina, "booking", {"slot": slot, "name": name})
    start = threading.Barrier(THREADS)

    def claim(number: int) -> Any:
        start.wait(timeout=30)
        try:
            return store.insert(gina, "booking", {"slot": slot, "name": f"Guest {number}"})
        except ValidationFailed as exc:
            return exc

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(claim, range(THREADS)))

    winners = [r for r in results if not isinstance(r, ValidationFailed)]
    refused = [r for r in results if isinstance(r, ValidationFailed)]
    assert len(winners) == 1 and len(refused) == THREADS - 1
    for exc in refused:
        (message,) = exc.errors[NON_FIELD]
        assert message.code == "rule" and message.message == "This slot is fully booked"
        assert message.params == {"entity": "slot", "rule": 0}
    assert store.get(gina, "slot", slot)["booked"] == 3
    table = portal.tables["booking"]
    with db_engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.name).where(table.c.slot == slot)).scalars().all()
    assert sorted(rows) == sorted(["Ann", "Bob", winners[0]["name"]])


def test_r7_a_cancelled_booking_frees_the_place(
    db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    portal = deploy_text(db_engine, portalis_checker, tmp_path / "slots", PORTAL, SEED)
    store = portal.store(db_engine)
    gina = actor_for(db_engine, portal, "gina@slots.test")
    slot = store.insert(gina, "slot", {"title": "Pilates", "capacity": 1}).id
    first = store.insert(gina, "booking", {"slot": slot, "name": "Ann"}).id
    with pytest.raises(ValidationFailed):
        store.insert(gina, "booking", {"slot": slot, "name": "Bob"})
    store.delete(gina, "booking", first)
    store.insert(gina, "booking", {"slot": slot, "name": "Bob"})
    assert store.get(gina, "slot", slot)["booked"] == 1
    # the slot's own rules guard its capacity too: it cannot shrink below the bookings
    with pytest.raises(ValidationFailed) as refused:
        store.update(gina, "slot", slot, {"capacity": 0})
    assert refused.value.errors[NON_FIELD][0].message == "This slot is fully booked"
