"""Date and time field types: date, datetime (always stored as UTC)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa

from ...problems import Problem
from ..fields import CheckContext, FieldValueError
from ._base import BuiltinType, config_of, is_blank, option_problem

if TYPE_CHECKING:
    from ..model import Field

_DATE_TEXT: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: ISO 8601 date-times are at most ~35 characters; longer text is refused unparsed.
_MAX_DATETIME_TEXT: Final = 40


@dataclass(frozen=True, slots=True)
class DateConfig:
    """Options of a date field: the earliest and latest allowed day."""

    min: date | None = None
    max: date | None = None


_DEFAULT_DATE: Final = DateConfig()


def _option_date(value: Any) -> date | None:
    if not isinstance(value, str) or _DATE_TEXT.fullmatch(value) is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


class DateType(BuiltinType):
    """A calendar day without a time."""

    name = "date"
    description = "A calendar day (YYYY-MM-DD) with an optional earliest and latest day."
    options_schema = {
        "min": {
            "type": "string",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            "description": "Earliest allowed day (YYYY-MM-DD).",
        },
        "max": {
            "type": "string",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            "description": "Latest allowed day (YYYY-MM-DD).",
        },
    }

    def make_config(self, options: Mapping[str, Any], *, currency: str) -> DateConfig:
        """The config from validated options."""
        return DateConfig(_option_date(options.get("min")), _option_date(options.get("max")))

    def check(self, options: Mapping[str, Any], ctx: CheckContext) -> Iterator[Problem]:
        """Refuse days that do not exist (2026-02-30) and a range that admits nothing."""
        for key in ("min", "max"):
            value = options.get(key)
            if isinstance(value, str) and _option_date(value) is None:
                yield option_problem(
                    ctx, "field-option", f"{key} {value!r} is not a valid date", key, "YYYY-MM-DD"
                )
        low, high = _option_date(options.get("min")), _option_date(options.get("max"))
        if low is not None and high is not None and low > high:
            yield option_problem(ctx, "field-option", f"min {low} is after max {high}", "min")

    def column_type(self, field: Field) -> sa.types.TypeEngine[Any]:
        """DATE."""
        return sa.Date()

    def clean(self, field: Field, raw: Any) -> date | None:
        """A date from a date object or YYYY-MM-DD text; a datetime is refused, not truncated."""
        if is_blank(raw):
            return None
        if isinstance(raw, datetime):
            raise FieldValueError("type", "must be a date without a time")
        if isinstance(raw, date):
            value = raw
        elif isinstance(raw, str):
            parsed = _option_date(raw.strip())
            if parsed is None:
                raise FieldValueError("format", "must be a date like 2026-01-31")
            value = parsed
        else:
            raise FieldValueError("type", "must be a date")
        config = config_of(field, _DEFAULT_DATE)
        if config.min is not None and value < config.min:
            raise FieldValueError("min", "must be on or after {min}", min=config.min.isoformat())
        if config.max is not None and value > config.max:
            raise FieldValueError("max", "must be on or before {max}", max=config.max.isoformat())
        return value

    def to_json(self, field: Field, value: Any) -> Any:
        """YYYY-MM-DD."""
        return value.isoformat() if isinstance(value, date) else None

    def json_schema(self, field: Field) -> dict[str, Any]:
        """A string in date format."""
        return {"type": "string", "format": "date"}


class DateTimeType(BuiltinType):
    """A point in time, stored and returned as timezone-aware UTC."""

    name = "datetime"
    description = "A point in time; input with an offset is converted to UTC, naive input is UTC."

    def column_type(self, field: Field) -> sa.types.TypeEngine[Any]:
        """TIMESTAMP WITH TIME ZONE (plain text in UTC on SQLite)."""
        return sa.DateTime(timezone=True)

    def to_storage(self, field: Field, value: Any) -> dict[str, Any]:
        """The UTC value (SQLite keeps the wall time, which is therefore UTC)."""
        if isinstance(value, datetime):
            value = _to_utc(value)
        return {field.name: value}

    def from_storage(self, field: Field, row: Mapping[str, Any]) -> datetime | None:
        """Aware UTC: SQLite returns naive UTC, PostgreSQL the session's zone."""
        value = row.get(field.name)
        return _to_utc(value) if isinstance(value, datetime) else None

    def clean(self, field: Field, raw: Any) -> datetime | None:
        """Aware UTC from a datetime or ISO 8601 text (offset or Z; none means UTC)."""
        if is_blank(raw):
            return None
        if isinstance(raw, datetime):
            value = raw
        elif isinstance(raw, str):
            text = raw.strip()
            try:
                if len(text) > _MAX_DATETIME_TEXT or not text.isascii():
                    raise ValueError(text)
                value = datetime.fromisoformat(text)
            except ValueError as exc:
                raise FieldValueError(
                    "format", "must be a date and time like 2026-01-31T14:30:00Z"
                ) from exc
        else:
            raise FieldValueError("type", "must be a date and time")
        try:
            return _to_utc(value)
        except OverflowError as exc:  # 0001-01-01T00:00+01:00 has no UTC value
            raise FieldValueError("min" if value.year < 2 else "max", "is out of range") from exc

    def to_json(self, field: Field, value: Any) -> Any:
        """ISO 8601 in UTC with a Z."""
        if not isinstance(value, datetime):
            return None
        return _to_utc(value).isoformat().replace("+00:00", "Z")

    def json_schema(self, field: Field) -> dict[str, Any]:
        """A string in date-time format."""
        return {"type": "string", "format": "date-time"}


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
