"""SQL functions of live computed fields with one meaning on every database: today's date
and the current time in UTC, as the database sees them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


class utc_today(FunctionElement[dt.date]):  # noqa: N801 - SQL function spelling
    """Today's date in UTC, as the database sees it."""

    type = sa.Date()
    inherit_cache = True


class utc_now(FunctionElement[dt.datetime]):  # noqa: N801 - SQL function spelling
    """The current time (UTC)."""

    type = sa.DateTime(timezone=True)
    inherit_cache = True


@compiles(utc_today, "sqlite")
def _today_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return "date('now')"


@compiles(utc_today)
def _today_default(element: Any, compiler: Any, **kw: Any) -> str:
    return "CAST(timezone('UTC', now()) AS DATE)"


@compiles(utc_now, "sqlite")
def _now_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    # the text form SQLAlchemy stores datetimes in, so text comparisons order them
    return "strftime('%Y-%m-%d %H:%M:%f000', 'now')"


@compiles(utc_now)
def _now_default(element: Any, compiler: Any, **kw: Any) -> str:
    return "now()"
