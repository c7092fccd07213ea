"""Time buckets of a date or datetime column: the first day of each record's day, ISO week
(from Monday), month, quarter or year, computed in SQL so a grouped aggregate stays one
statement, and the calendar arithmetic to list the buckets between two others.

SQLite keeps dates as ISO text, so `date()`/`strftime()` compute the bucket as text; PostgreSQL
truncates with `date_trunc`. Datetimes are stored in UTC and bucketed by their UTC day. Both
yield the bucket's first day; `bucket_day` turns either into a `date`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa

#: The periods a date field groups by.
BUCKETS: Final = ("day", "week", "month", "quarter", "year")


def _lit(text: str) -> sa.ColumnElement[Any]:
    # literals, not bind parameters: the same expression is rendered in SELECT and GROUP BY,
    # and PostgreSQL matches the two only when they are textually equal
    return sa.literal_column("'" + text + "'")


def bucket_sql(dialect: str, by: str, column: sa.ColumnElement[Any], temporal: str) -> Any:
    """The first day of `column`'s bucket (`temporal`: the field type, date or datetime)."""
    if by not in BUCKETS:
        raise ValueError(f"unknown time bucket {by!r}")
    if dialect == "postgresql":
        value = (
            sa.func.timezone(_lit("UTC"), column)  # a UTC wall-clock timestamp
            if temporal == "datetime"
            else sa.cast(column, sa.DateTime())
        )
        return sa.cast(sa.func.date_trunc(_lit(by), value), sa.Date())
    if by == "day":
        return sa.func.date(column, type_=sa.String())
    if by == "week":  # on to the next Sunday (or stay on one), then back to its Monday
        return sa.func.date(column, _lit("weekday 0"), _lit("-6 days"), type_=sa.String())
    if by == "month":
        return sa.func.strftime(_lit("%Y-%m-01"), column, type_=sa.String())
    if by == "year":
        return sa.func.strftime(_lit("%Y-01-01"), column, type_=sa.String())
    month = sa.cast(sa.func.strftime(_lit("%m"), column), sa.Integer)
    first = ((month - 1) // 3) * 3 + 1
    return sa.func.printf(
        _lit("%s-%02d-01"), sa.func.strftime(_lit("%Y"), column), first, type_=sa.String()
    )


def bucket_day(value: Any) -> date | None:
    """The bucket's first day from what either database returns (a date or ISO text)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def next_bucket(day: date, by: str) -> date:
    """The first day of the bucket after the one starting on `day`."""
    if by == "day":
        return day + timedelta(days=1)
    if by == "week":
        return day + timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[by]
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def bucket_range(first: date, last: date, by: str, limit: int = 1000) -> list[date]:
    """Every bucket from `first` to `last` (both bucket starts), at most `limit` of them."""
    days: list[date] = []
    day = first
    while day <= last and len(days) < limit:
        days.append(day)
        day = next_bucket(day, by)
    return days
