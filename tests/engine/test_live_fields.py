"""Live fields (`compute` + `stored: sql`) on SQLite and PostgreSQL: computed by the database in
every read, so `today()` never goes stale; filtered, sorted and aggregated like columns;
decimal arithmetic exact on SQLite's unit-scaled columns; masked like any field.

The portal is `portals/live_fields` (overdue invoices)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.engine.data.errors import BadQuery
from portalis.engine.data.permissions import Actor
from portalis.engine.data.store import RecordStore
from portalis.engine.deploy.validator import Checker
from portalis.engine.expr.expressions import EvaluationError
from portalis.engine.portal import CompiledPortal
from portalis.testing import portals
from portalis.testing.portals import actor_for

FOLDER = Path(__file__).parent / "portals" / "live_fields"
TODAY = dt.datetime.now(dt.UTC).date()
DAY = dt.timedelta(days=1)


@pytest.fixture
def portal(db_engine: sa.Engine, portalis_checker: Checker) -> CompiledPortal:
    return portals.deploy_dir(db_engine, portalis_checker, FOLDER)


@pytest.fixture
def store(portal: CompiledPortal, db_engine: sa.Engine) -> RecordStore:
    return portal.store(db_engine)


@pytest.fixture
def clara(portal: CompiledPortal, db_engine: sa.Engine) -> Actor:
    return actor_for(db_engine, portal, "clara@billing.test")


@pytest.fixture
def aldo(portal: CompiledPortal, db_engine: sa.Engine) -> Actor:
    return actor_for(db_engine, portal, "aldo@billing.test")


def _invoices(store: RecordStore, clara: Actor) -> dict[str, int]:
    rows = {
        "late": {"status": "issued", "due": TODAY - 3 * DAY},
        "soon": {"status": "issued", "due": TODAY + 2 * DAY},
        "draft": {"status": "draft", "due": TODAY - 9 * DAY},
        "paid": {"status": "paid", "due": TODAY - DAY},
        "later": {"status": "issued", "due": TODAY - 10 * DAY},
    }
    return {n: store.insert(clara, "invoice", {"number": n, **v}).id for n, v in rows.items()}


def test_live_fields_have_no_column(portal: CompiledPortal, db_engine: sa.Engine) -> None:
    live = {c["name"] for c in sa.inspect(db_engine).get_columns(portal.tables["invoice"].name)}
    assert {"overdue", "days_late", "gross", "billed", "state"}.isdisjoint(live)
    assert {"status", "due", "net"} <= live


def test_overdue_turns_true_without_a_write(
    portal: CompiledPortal, store: RecordStore, clara: Actor, db_engine: sa.Engine
) -> None:
    created = store.insert(clara, "invoice", {"number": "A-1", "status": "issued", "due": TODAY})
    fresh = store.get(clara, "invoice", created.id)
    assert fresh["overdue"] is False and fresh["days_late"] == 0 and fresh["state"] == "fine"
    # the due date passes: the row is not written through the store (no version, no
    # updated_at change), yet the next read sees the invoice overdue
    table = portal.tables["invoice"]
    with db_engine.begin() as conn:
        moved = {"due": TODAY - 2 * DAY, "updated_at": table.c.updated_at}  # no onupdate
        conn.execute(sa.update(table).where(table.c.id == created.id).values(**moved))
    later = store.get(clara, "invoice", created.id)
    assert later["overdue"] is True and later["days_late"] == 2 and later["state"] == "late"
    assert later["version"] == fresh["version"] and later["updated_at"] == fresh["updated_at"]


def test_datetimes_against_the_database_clock(
    portal: CompiledPortal, store: RecordStore, clara: Actor, db_engine: sa.Engine
) -> None:
    created = store.insert(clara, "invoice", {"number": "T-1"})
    record = store.get(clara, "invoice", created.id)
    assert record["age"] == 0 and record["fresh"] is True
    table = portal.tables["invoice"]
    for hours, days in ((71, 2), (72, 3), (-25, -2)):  # whole elapsed days, rounded down
        moment = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours, seconds=-5 if hours < 0 else 5)
        with db_engine.begin() as conn:
            conn.execute(sa.update(table).where(table.c.id == created.id).values(created_at=moment))
        record = store.get(clara, "invoice", created.id)
        assert record["age"] == days, hours
        assert record["fresh"] is False, hours  # days old, or created in the future


def test_filter_and_sort_a_list_by_live_fields(store: RecordStore, clara: Actor) -> None:
    _invoices(store, clara)

    def numbers(**query: object) -> list[str]:
        return [r["number"] for r in store.list(clara, "invoice", **query).records]  # type: ignore[arg-type]

    assert numbers(filters={"overdue": True}, sort="number") == ["late", "later"]
    assert numbers(filters={"overdue": "false"}, sort="number") == ["draft", "paid", "soon"]
    assert numbers(sort="-days_late") == ["later", "late", "draft", "paid", "soon"]
    assert numbers(sort="days_late")[:1] == ["soon"]
    assert numbers(filters={"state": "late"}, sort="-due") == ["late", "later"]
    assert store.count(clara, "invoice", filters={"overdue": True}) == (2, True)
    # only the fields asked for: a live field among them is still selected as its SQL
    only = store.list(clara, "invoice", fields=["number", "days_late"], sort="days_late")
    assert only.records[0]["number"] == "soon" and only.records[0]["days_late"] == -2


def test_metrics_count_and_group_overdue_invoices(store: RecordStore, clara: Actor) -> None:
    _invoices(store, clara)
    assert store.aggregate(clara, "invoice", where={"overdue": True}) == [(None, 2)]
    assert store.aggregate(clara, "invoice", group_by="overdue") == [(False, 3), (True, 2)]
    assert store.aggregate(clara, "invoice", function="max", field="days_late") == [(None, 10)]
    grouped = store.aggregate(clara, "invoice", function="sum", field="days_late", group_by="state")
    assert grouped == [("fine", -2), ("late", 13)]  # drafts and paid ones count 0 days


def test_decimal_arithmetic_is_exact(store: RecordStore, clara: Actor) -> None:
    cases = [
        # net, rate, fee, hours → gross = net + net * rate - fee ; billed = hours * 1.25 + 0.5
        ("0.10", "0.200", "0.3", 1, Decimal("-0.18000"), Decimal("1.75")),
        ("12345678.91", "0.075", "0.1", 7, Decimal("13271604.72825"), Decimal("9.25")),
        ("-0.01", "0.001", "0", 0, Decimal("-0.01001"), Decimal("0.50")),
        (
            "9999999.99",
            "1.000",
            "9.9",
            123456789,
            Decimal("19999990.08000"),
            Decimal("154320986.75"),
        ),
    ]
    for i, (net, rate, fee, hours, gross, billed) in enumerate(cases):
        values = {"number": f"D-{i}", "net": net, "rate": rate, "fee": fee, "hours": hours}
        record = store.get(clara, "invoice", store.insert(clara, "invoice", values).id)
        assert record["gross"] == gross and str(record["gross"]) == str(gross)
        assert record["billed"] == billed and str(record["billed"]) == str(billed)
        # the same expression evaluated in Python gives the same value
        python = Decimal(net) + Decimal(net) * Decimal(rate) - Decimal(fee)
        assert record["gross"] == python
    assert (
        store.get(clara, "invoice", store.insert(clara, "invoice", {"number": "E"}).id)["gross"]
        is None
    )  # an empty operand: an empty result
    # sums and sorts run on the exact values (units on SQLite)
    total = sum(c[4] for c in cases)
    assert store.aggregate(clara, "invoice", function="sum", field="gross") == [(None, total)]
    order = [r["number"] for r in store.list(clara, "invoice", sort="gross").records]
    expected = ["D-0", "D-2", "D-1", "D-3"]
    assert [n for n in order if n != "E"] == expected


def test_the_database_computes_what_python_computes(
    portal: CompiledPortal, store: RecordStore, clara: Actor
) -> None:
    _invoices(store, clara)
    for hours in (0, None, 7):
        values = {"number": f"H-{hours}", "hours": hours, "net": "2.50", "rate": "0.5", "fee": "1"}
        store.insert(clara, "invoice", values)
    entity = portal.model.entities["invoice"]
    live = [n for n, f in entity.fields.items() if f.sql]
    assert live == [
        "overdue", "days_late", "gross", "billed", "charged", "vip", "region_name", "headroom",
        "age", "fresh", "state",
    ]  # fmt: skip
    records = store.list(clara, "invoice", page_size=50).records
    compared = 0
    for record in records:
        for name in live:
            compute = entity.fields[name].compute
            assert compute is not None
            try:
                expected = entity.fields[name].kind.clean(
                    entity.fields[name], compute.evaluate(record=record.values, actor=clara)
                )
            except EvaluationError:
                continue  # Python fails on an empty operand; SQL gives an empty value
            assert record[name] == expected, (record["number"], name)
            compared += 1
    assert compared >= 30
    charged = {r["number"]: r["charged"] for r in records if r["number"].startswith("H-")}
    assert charged == {"H-0": 1, "H-None": 1, "H-7": 7}  # `or` as Python has it: 0 is false


def test_live_fields_read_referenced_records(
    portal: CompiledPortal, store: RecordStore, clara: Actor, db_engine: sa.Engine
) -> None:
    north = store.insert(clara, "region", {"name": "North"}).id
    gold = store.insert(
        clara, "customer", {"name": "Gold", "tier": "gold", "region": north, "limit": "500.00"}
    ).id
    basic = store.insert(clara, "customer", {"name": "Basic", "limit": "10.00"}).id
    for number, customer in (("G-1", gold), ("B-1", basic), ("N-1", None)):
        values = {"number": number, "customer": customer, "net": "100.00", "rate": "0.190"}
        store.insert(clara, "invoice", values)
    records = {r["number"]: r for r in store.list(clara, "invoice").records}
    assert [records[n]["vip"] for n in ("G-1", "B-1", "N-1")] == [True, False, None]
    assert records["G-1"]["region_name"] == "North" and records["B-1"]["region_name"] is None
    assert records["G-1"]["headroom"] == Decimal("381.00000")
    assert records["B-1"]["headroom"] == Decimal("-109.00000")
    # a write through the store (the row is locked and read with its live fields) answers
    # with the value the database computes
    updated = store.update(clara, "invoice", records["G-1"].id, {"net": "50.00"})
    assert updated["headroom"] == Decimal("440.50000") and updated["vip"] is True
    vips = store.list(clara, "invoice", filters={"vip": True}).records
    assert [r["number"] for r in vips] == ["G-1"]
    by_vip = store.aggregate(clara, "invoice", group_by="vip")
    assert dict(by_vip) == {None: 1, False: 1, True: 1}  # NULL groups first or last by database
    # the customer is upgraded: the invoices show it on the next read, without a write
    table = portal.tables["customer"]
    with db_engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.id == basic).values(tier="gold"))
    upgraded = store.list(clara, "invoice", filters={"vip": "true"}, sort="headroom").records
    assert [r["number"] for r in upgraded] == ["B-1", "G-1"]


def test_masks_hide_live_fields_and_what_they_read(
    store: RecordStore, clara: Actor, aldo: Actor
) -> None:
    _invoices(store, clara)
    store.insert(clara, "invoice", {"number": "N", "net": "10.00", "rate": "0.100", "fee": "0"})
    seen = {r["number"]: r for r in store.list(aldo, "invoice").records}["N"]
    assert seen["overdue"] is False and seen["state"] == "fine"
    assert "gross" not in seen and "net" not in seen
    for query in ({"sort": "gross"}, {"sort": "-gross"}, {"sort": "-net"}):
        with pytest.raises(BadQuery):
            store.list(aldo, "invoice", **query)  # type: ignore[arg-type]
    with pytest.raises(BadQuery):
        store.aggregate(aldo, "invoice", function="sum", field="gross")
    with pytest.raises(BadQuery):
        store.aggregate(aldo, "invoice", group_by="gross")
    # what the grant lets through works for the auditor as for the clerk
    assert store.aggregate(aldo, "invoice", where={"overdue": True}) == [(None, 2)]
    late = [r["number"] for r in store.list(aldo, "invoice", filters={"overdue": "true"}).records]
    assert sorted(late) == ["late", "later"]
