"""The functions every expression may call: `today()`, `days_since(d)`, `len`, `sum`, `round` ….

Plain functions of this module rather than the builtins themselves: no builtin function object
(whose `__self__` is the builtins module) is ever reachable from an expression. Plugins add
functions through `portalis_expression_functions`; they are merged over these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sized
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final

from . import sandbox as guards

# Plain functions of this module rather than the builtins themselves: no builtin function
# object (whose `__self__` is the builtins module) is ever reachable from an expression.


def today() -> dt.date:
    """Today's date in UTC."""
    return dt.datetime.now(dt.UTC).date()


def now() -> dt.datetime:
    """The current time as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


def days_since(value: dt.date | dt.datetime | str | None) -> int | None:
    """Whole days from `value` until now; `None` for `None` (a comparison with it then fails).

    Dates count calendar days from today (UTC); datetimes count elapsed 24-hour periods
    (naive ones are taken as UTC); strings are ISO 8601 dates or datetimes. Future values
    give negative numbers.
    """
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) > guards.MAX_PARSE_CHARS:
            raise ValueError("days_since() needs an ISO 8601 date or datetime")
        text = value.strip()
        value = dt.datetime.fromisoformat(text) if len(text) > 10 else dt.date.fromisoformat(text)
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return (now() - moment).days
    if isinstance(value, dt.date):
        return (today() - value).days
    raise TypeError(
        f"days_since() needs a date, datetime or ISO string, not {type(value).__name__}"
    )


def hours_until(value: dt.date | dt.datetime | str | None) -> float | None:
    """Hours from now until `value` (negative when past); `None` for `None`.

    `hours_until(record['starts_at']) >= 24` says "at least a day ahead" (a cancellation
    deadline). Dates count from their midnight in UTC; naive datetimes are taken as UTC;
    strings are ISO 8601.
    """
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) > guards.MAX_PARSE_CHARS:
            raise ValueError("hours_until() needs an ISO 8601 date or datetime")
        text = value.strip()
        value = dt.datetime.fromisoformat(text) if len(text) > 10 else dt.date.fromisoformat(text)
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time(0), tzinfo=dt.UTC)
    else:
        raise TypeError(
            f"hours_until() needs a date, datetime or ISO string, not {type(value).__name__}"
        )
    return (moment - now()).total_seconds() / 3600


def length(value: Sized) -> int:
    """`len(value)`."""
    return len(value)


def total(values: Iterable[Any], start: Any = 0) -> Any:
    """`sum(values, start)` for numbers and money only, so it cannot glue lists or text
    together; amounts must share one currency (see `money.Money`)."""
    items = [start, *values]
    if not all(map(guards.is_quantity, items)):
        raise TypeError("sum() adds numbers and amounts of money only")
    return sum(items[1:], items[0])


def smallest(*values: Any, **options: Any) -> Any:
    """`min(...)`, with the same `key=` and `default=` options."""
    return min(*values, **options)


def largest(*values: Any, **options: Any) -> Any:
    """`max(...)`, with the same `key=` and `default=` options."""
    return max(*values, **options)


def rounded(number: Any, ndigits: int | None = None) -> Any:
    """`round(number, ndigits)` with |ndigits| <= 64 (round(1, -10**9) would run for hours).

    Money rounds half-even, by default to its currency's minor units (`Money.__round__`).
    """
    if ndigits is None:
        return round(number)
    if type(ndigits) is not int or abs(ndigits) > guards.MAX_EXPONENT:
        raise ValueError(
            f"round() takes ndigits between -{guards.MAX_EXPONENT} and {guards.MAX_EXPONENT}"
        )
    return round(number, ndigits)


def absolute(number: Any) -> Any:
    """`abs(number)`."""
    return abs(number)


def integer(value: Any) -> int:
    """`int(value)` for numbers and decimal text of at most 100 characters."""
    if isinstance(value, str | bytes) and len(value) > guards.MAX_PARSE_CHARS:
        raise ValueError(f"int() parses at most {guards.MAX_PARSE_CHARS} characters")
    # int(Decimal("1e999999")) would build a million-digit integer.
    if (
        isinstance(value, Decimal)
        and value.is_finite()
        and value.adjusted() > guards.MAX_INT_DIGITS
    ):
        raise ValueError(f"int() makes integers of at most {guards.MAX_INT_BITS} bits")
    return int(value)


def text(value: Any) -> str:
    """`str(value)`."""
    return str(value)


#: A function expressions may call (`portalis_expression_functions`): the expression's
#: arguments are passed positionally; its result becomes the expression's value.
ExpressionFunction = Callable[..., object]

#: Functions every expression may call. Plugin functions are merged over these.
BUILTIN_FUNCTIONS: Final[Mapping[str, Callable[..., Any]]] = MappingProxyType(
    {
        "today": today,
        "now": now,
        "days_since": days_since,
        "hours_until": hours_until,
        "len": length,
        "sum": total,
        "min": smallest,
        "max": largest,
        "round": rounded,
        "abs": absolute,
        "int": integer,
        "str": text,
    }
)
