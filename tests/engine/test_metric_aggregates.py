"""Metric aggregates on SQLite and PostgreSQL: `where` filters, count/sum/avg/min/max, time
buckets, money per currency (never mixed) and money converted with dated exchange rates —
exact to the cent, scoped to what the actor may read, in a constant number of statements."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from portalis.engine.data.errors import BadQuery
from portalis.engine.data.exchange import MissingRate
from portalis.engine.definition.fieldtypes.money import Money
from portalis.engine.portal import CompiledPortal
from portalis.testing.portals import actor_for, deploy_dir
from portalis.testing.web import count_selects

LEDGER = Path(__file__).resolve().parents[1] / "runtime" / "data" / "ledger"


def eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


@pytest.fixture
def ledger(
    db_engine: sa.Engine, portalis_checker: Any
) -> tuple[CompiledPortal, Any, dict[str, Any]]:
    portal = deploy_dir(db_engine, portalis_checker, LEDGER)
    people = {
        name: actor_for(db_engine, portal, email)
        for name, email in (("alex", "alex@ledger.test"), ("carla", "carla@euro.test"))
    }
    return portal, portal.store(db_engine), people


def test_money_sums_are_per_currency_and_where_filters(ledger) -> None:
    _, store, p = ledger
    assert store.aggregate(
        p["alex"], "invoice", function="sum", field="amount", where={"status": "issued"}
    ) == [(None, eur("1204.50")), (None, usd("310.00"))]
    # several keys are AND-ed; the customer's account scope still applies
    assert store.aggregate(
        p["carla"], "invoice", function="sum", field="amount", where={"status": "issued"}
    ) == [(None, eur("1204.50"))]
    euro, dollar = (key for key, _ in store.aggregate(p["alex"], "invoice", group_by="account"))
    assert store.aggregate(p["alex"], "invoice", where={"status": "issued", "account": dollar}) == [
        (None, 2)
    ]
    assert store.aggregate(p["alex"], "invoice", where={"status": "draft", "account": dollar}) == [
        (None, 0)
    ]
    # nothing matches: a sum is zero in the field's currency
    assert store.aggregate(
        p["carla"], "invoice", function="sum", field="amount", where={"account": dollar}
    ) == [(None, eur("0"))]
    with pytest.raises(BadQuery):
        store.aggregate(p["alex"], "invoice", where={"status": "lost"})


def test_avg_min_max(ledger) -> None:
    _, store, p = ledger
    alex = p["alex"]
    # (1000 + 204.50 + 300 + 99.99) / 4 = 401.1225 → 401.12 (half-even to the cent)
    assert store.aggregate(alex, "invoice", function="avg", field="amount") == [
        (None, eur("401.12")),
        (None, usd("270.00")),
    ]
    assert store.aggregate(alex, "invoice", function="max", field="amount") == [
        (None, eur("1000.00")),
        (None, usd("500.00")),
    ]
    assert store.aggregate(alex, "invoice", function="min", field="amount") == [
        (None, eur("99.99")),
        (None, usd("60.00")),
    ]
    assert store.aggregate(alex, "invoice", function="min", field="issue_date") == [
        (None, date(2026, 1, 5))
    ]
    assert store.aggregate(
        p["carla"], "invoice", function="max", field="issue_date", where={"status": "issued"}
    ) == [(None, date(2026, 3, 10))]
    paid = store.aggregate(alex, "invoice", function="max", field="paid_at")[0][1]
    assert isinstance(paid, datetime) and paid.replace(tzinfo=None) == datetime(2026, 5, 31, 23, 59)
    with pytest.raises(BadQuery):
        store.aggregate(alex, "invoice", function="avg", field="issue_date")
    with pytest.raises(BadQuery):
        store.aggregate(alex, "invoice", function="median", field="amount")


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("day", {date(2026, 1, 5): 1, date(2026, 1, 15): 1, date(2026, 5, 14): 1}),
        ("week", {date(2026, 1, 5): 1, date(2026, 1, 12): 1, date(2026, 1, 19): 1}),
        ("month", {date(2026, 1, 1): 3, date(2026, 3, 1): 3, date(2026, 5, 1): 1}),
        ("quarter", {date(2026, 1, 1): 6, date(2026, 4, 1): 1}),
        ("year", {date(2026, 1, 1): 7}),
    ],
)
def test_time_buckets_in_date_order(ledger, by: str, expected: dict[date, int]) -> None:
    _, store, p = ledger
    rows = store.aggregate(p["alex"], "invoice", group_by="issue_date", bucket=by)
    days = [day for day, _ in rows]
    assert days == sorted(days) and all(isinstance(d, date) for d in days)
    assert expected.items() <= dict(rows).items()
    assert sum(n for _, n in rows) == 7


def test_datetime_buckets_are_utc_days(ledger) -> None:
    _, store, p = ledger
    rows = store.aggregate(p["alex"], "invoice", group_by="paid_at", bucket="month")
    # 2026-02-01T23:30Z and 2026-05-31T23:59Z stay in their UTC months; unpaid ones have none
    assert rows == [(None, 5), (date(2026, 2, 1), 1), (date(2026, 5, 1), 1)] or rows == [
        (date(2026, 2, 1), 1),
        (date(2026, 5, 1), 1),
        (None, 5),
    ]


def test_bucketed_money_is_a_series_per_currency(ledger) -> None:
    _, store, p = ledger
    rows = store.aggregate(
        p["alex"], "invoice", function="sum", field="amount", group_by="issue_date", bucket="month"
    )
    assert rows == [
        (date(2026, 1, 1), eur("1300.00")),
        (date(2026, 1, 1), usd("250.00")),
        (date(2026, 3, 1), eur("304.49")),
        (date(2026, 3, 1), usd("60.00")),
        (date(2026, 5, 1), usd("500.00")),
    ]
    assert store.aggregate(
        p["alex"], "invoice", function="sum", field="amount", group_by="status"
    ) == [
        ("draft", eur("99.99")),
        ("issued", eur("1204.50")),
        ("issued", usd("310.00")),
        ("paid", eur("300.00")),
        ("paid", usd("500.00")),
    ]


def test_converted_with_the_rate_valid_on_the_bucket_day(ledger) -> None:
    _, store, p = ledger
    result = store.aggregate_in(
        p["alex"], "invoice", "EUR", field="amount", group_by="issue_date", bucket="month"
    )
    # Jan: 1300 + 250 × 0.90; Mar: 304.49 + 60 × 0.92; May: 500 × 0.95
    assert result.rows == [
        (date(2026, 1, 1), eur("1525.00")),
        (date(2026, 3, 1), eur("359.69")),
        (date(2026, 5, 1), eur("475.00")),
    ]
    assert result.missing == ()
    open_balance = store.aggregate_in(
        p["alex"], "invoice", "EUR", field="amount", where={"status": "issued"},
        today=date(2026, 4, 30),
    )  # fmt: skip
    assert open_balance.rows == [(None, eur("1489.70"))]  # 1204.50 + 310 × 0.92
    # into USD through the base currency: 1204.50 / 0.95 + 310 = 1267.894… + 310
    in_usd = store.aggregate_in(
        p["alex"], "invoice", "USD", field="amount", where={"status": "issued"},
        today=date(2026, 6, 1),
    )  # fmt: skip
    assert in_usd.rows == [(None, usd("1577.89"))]
    average = store.aggregate_in(p["alex"], "invoice", "EUR", function="avg", field="amount",
                                 today=date(2026, 6, 1))  # fmt: skip
    # (1604.49 + 810 × 0.95) / 7 = 2373.99 / 7 = 339.141428…
    assert average.rows == [(None, eur("339.14"))]


def test_missing_rate_is_reported_not_left_out(ledger) -> None:
    _, store, p = ledger
    result = store.aggregate_in(
        p["alex"], "invoice", "EUR", field="amount", today=date(2025, 12, 31)
    )
    assert result.rows == [(None, None)]
    assert result.missing == (MissingRate("USD", date(2025, 12, 31)),)
    # only EUR amounts: nothing to convert, no rate read
    carla = store.aggregate_in(p["carla"], "invoice", "EUR", field="amount", today=date(2025, 1, 1))
    assert carla.rows == [(None, eur("1604.49"))] and carla.missing == ()


def test_conversion_rounds_half_even_once(ledger) -> None:
    _, store, p = ledger
    alex = p["alex"]
    euro, dollar = (key for key, _ in store.aggregate(alex, "invoice", group_by="account"))
    for account, amount in ((euro, "0.01 EUR"), (dollar, "0.10 USD")):
        store.insert(
            alex,
            "invoice",
            {
                "number": "T",
                "account": account,
                "issue_date": "2026-07-01",
                "amount": amount,
                "disputed": True,
            },
        )
    store.insert(alex, "fx_rate", {"code": "USD", "rate": "0.25", "valid_from": "2026-07-01"})
    result = store.aggregate_in(
        alex, "invoice", "EUR", field="amount", where={"disputed": True}, today=date(2026, 7, 1)
    )
    # 0.01 + 0.10 × 0.25 = 0.035 → 0.04 (rounded once; per part it would be 0.01 + 0.02)
    assert result.rows == [(None, eur("0.04"))]
    only_usd = store.aggregate_in(
        alex, "invoice", "EUR", field="amount", where={"disputed": True, "account": dollar},
        today=date(2026, 7, 1),
    )  # fmt: skip
    assert only_usd.rows == [(None, eur("0.02"))]  # 0.025 → 0.02 (half-even), never 0.03


def test_statements_per_metric_stay_constant(ledger, db_engine: sa.Engine) -> None:
    _, store, p = ledger
    alex = p["alex"]

    def run() -> list[int]:
        counts = []
        for call in (
            lambda: store.aggregate(alex, "invoice", function="sum", field="amount"),
            lambda: store.aggregate(
                alex,
                "invoice",
                function="avg",
                field="amount",
                group_by="issue_date",
                bucket="day",
                where={"status": "issued"},
            ),  # fmt: skip
            lambda: store.aggregate_in(
                alex, "invoice", "EUR", field="amount", group_by="issue_date", bucket="day"
            ),
        ):
            with count_selects(db_engine) as seen:
                call()
            counts.append(len(seen))
        return counts

    before = run()
    assert before == [1, 1, 2]
    dollar = store.aggregate(alex, "invoice", group_by="account")[1][0]
    for day in range(1, 29):
        for currency in ("EUR", "USD"):
            store.insert(
                alex,
                "invoice",
                {
                    "number": f"N-{day}-{currency}",
                    "account": dollar,
                    "issue_date": f"2026-08-{day:02d}",
                    "amount": f"{day}.25 {currency}",
                    "status": "issued",
                },
            )
        store.insert(
            alex, "fx_rate", {"code": "USD", "rate": "0.9", "valid_from": f"2026-08-{day:02d}"}
        )
    assert run() == before
