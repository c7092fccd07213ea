"""Number field types: int and decimal, and the decimal parsing money shares."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, DecimalException
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa

from ...problems import Problem
from ..fields import CheckContext, FieldValueError
from ._base import BuiltinType, config_of, is_blank, option_problem
from .exact import exact_decimal

if TYPE_CHECKING:
    from ..model import Field

#: The range of a BIGINT column on every database Portalis supports.
INT_MIN: Final = -(2**63)
INT_MAX: Final = 2**63 - 1
#: Longest numeric text accepted; longer input is refused before it is parsed.
MAX_NUMBER_TEXT: Final = 30
MAX_DECIMAL_TEXT: Final = 50

_INT_TEXT: Final = re.compile(r"[+-]?[0-9]+")
_DECIMAL_TEXT: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def number_option(description: str) -> dict[str, Any]:
    """JSON Schema of a numeric option (`min`, `max`)."""
    return {"type": "number", "description": description}


def parse_decimal(raw: Any) -> Decimal:
    """A finite Decimal from a Decimal, int, float or plain numeric text ("12.50", "-3")."""
    if isinstance(raw, bool):
        raise FieldValueError("type", "must be a number")
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, float):
        if not math.isfinite(raw):
            raise FieldValueError("format", "must be a finite number")
        # repr() is the shortest text that round-trips, so 0.1 becomes Decimal("0.1").
        value = Decimal(repr(raw))
    elif isinstance(raw, str):
        text = raw.strip()
        if len(text) > MAX_DECIMAL_TEXT or _DECIMAL_TEXT.fullmatch(text) is None:
            raise FieldValueError("format", "must be a number like 12.50")
        value = Decimal(text)
    else:
        raise FieldValueError("type", "must be a number")
    if not value.is_finite():
        raise FieldValueError("format", "must be a finite number")
    return value


def decimal_text(value: Decimal) -> str:
    """Fixed-point text of a Decimal: "0.0000000000", never "0E-10"."""
    return format(value, "f")


def fit_decimal(
    value: Decimal,
    *,
    places: int,
    integer_digits: int,
    low: Decimal | None = None,
    high: Decimal | None = None,
    rounding: str = ROUND_HALF_UP,
) -> Decimal:
    """`value` rounded (half-up unless told) to `places` decimals, within the column and
    option ranges."""
    limit = Decimal(10) ** integer_digits
    try:
        if value.copy_abs() < limit:
            # A private context: precision enough for 38 digits, whatever the thread's is.
            exponent = Decimal(1).scaleb(-places)
            value = value.quantize(exponent, rounding=rounding, context=Context(prec=80))
    except DecimalException as exc:
        raise FieldValueError("format", "must be a number") from exc
    if value.copy_abs() >= limit:
        bound = "max" if value > 0 else "min"
        raise FieldValueError(bound, "must be less than {limit} in size", limit=limit)
    if value == 0:
        value = value.copy_abs()  # no "-0.00"
    if low is not None and value < low:
        raise FieldValueError("min", "must be at least {min}", min=low)
    if high is not None and value > high:
        raise FieldValueError("max", "must be at most {max}", max=high)
    return value


def option_decimal(value: Any) -> Decimal | None:
    """A Decimal from a numeric option (YAML gives int or float), None when absent."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def check_range(options: Mapping[str, Any], ctx: CheckContext) -> Iterator[Problem]:
    """A problem when the `min` option is greater than `max`."""
    low, high = option_decimal(options.get("min")), option_decimal(options.get("max"))
    if low is not None and high is not None and low > high:
        yield option_problem(ctx, "field-option", f"min {low} is greater than max {high}", "min")


@dataclass(frozen=True, slots=True)
class IntConfig:
    """Options of an int field."""

    min: int | None = None
    max: int | None = None


_DEFAULT_INT: Final = IntConfig()


class IntType(BuiltinType):
    """A whole number (64-bit)."""

    name = "int"
    description = "A whole number (64-bit) with an optional range."
    options_schema = {
        "min": {"type": "integer", "description": "Smallest allowed value."},
        "max": {"type": "integer", "description": "Largest allowed value."},
    }

    def make_config(self, options: Mapping[str, Any], *, currency: str) -> IntConfig:
        """The config from validated options."""
        low, high = options.get("min"), options.get("max")
        return IntConfig(
            min=low if isinstance(low, int) else None, max=high if isinstance(high, int) else None
        )

    def check(self, options: Mapping[str, Any], ctx: CheckContext) -> Iterator[Problem]:
        """Refuse a range that admits nothing."""
        return check_range(options, ctx)

    def column_type(self, field: Field) -> sa.types.TypeEngine[Any]:
        """BIGINT."""
        return sa.BigInteger()

    def clean(self, field: Field, raw: Any) -> int | None:
        """An int from an int, an integral float/Decimal or integral text; bools are refused."""
        if is_blank(raw):
            return None
        value = _to_int(raw)
        config = config_of(field, _DEFAULT_INT)
        low = INT_MIN if config.min is None else max(config.min, INT_MIN)
        high = INT_MAX if config.max is None else min(config.max, INT_MAX)
        if value < low:
            raise FieldValueError("min", "must be at least {min}", min=low)
        if value > high:
            raise FieldValueError("max", "must be at most {max}", max=high)
        return value

    def json_schema(self, field: Field) -> dict[str, Any]:
        """An integer with the field's range."""
        config = config_of(field, _DEFAULT_INT)
        schema: dict[str, Any] = {"type": "integer"}
        schema["minimum"] = INT_MIN if config.min is None else config.min
        schema["maximum"] = INT_MAX if config.max is None else config.max
        return schema


def _to_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise FieldValueError("type", "must be a whole number")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        # Capped before int() so no one makes the parser work through a million digits.
        if len(text) > MAX_NUMBER_TEXT or _INT_TEXT.fullmatch(text) is None:
            raise FieldValueError("format", "must be a whole number like 12")
        return int(text)
    if isinstance(raw, float) and raw.is_integer():  # False for inf and nan
        return int(raw)
    if isinstance(raw, Decimal) and raw.is_finite() and raw == raw.to_integral_value():
        if raw.adjusted() > MAX_NUMBER_TEXT:  # int() of 1E+999999 would build a huge number
            raise FieldValueError("max" if raw > 0 else "min", "is far out of range")
        return int(raw)
    if isinstance(raw, float | Decimal):
        raise FieldValueError("format", "must be a whole number")
    raise FieldValueError("type", "must be a whole number")


@dataclass(frozen=True, slots=True)
class DecimalConfig:
    """Options of a decimal field: `precision` digits in all, `places` after the point."""

    places: int = 2
    precision: int = 18
    min: Decimal | None = None
    max: Decimal | None = None


_DEFAULT_DECIMAL: Final = DecimalConfig()


class DecimalType(BuiltinType):
    """An exact decimal number, such as a quantity or a rate."""

    name = "decimal"
    description = "An exact decimal number, rounded half-up to a fixed number of places."
    options_schema = {
        "places": {
            "type": "integer",
            "minimum": 0,
            "maximum": 10,
            "default": 2,
            "description": "Digits after the decimal point, stored and shown (`38,70`).",
        },
        "precision": {
            "type": "integer",
            "minimum": 1,
            "maximum": 38,
            "default": 18,
            "description": "Digits in all (before and after the point). Up to 18 are exact on "
            "every database; SQLite keeps 15 significant digits of a field with more.",
        },
        "min": number_option("Smallest allowed value."),
        "max": number_option("Largest allowed value."),
    }

    def make_config(self, options: Mapping[str, Any], *, currency: str) -> DecimalConfig:
        """The config from validated options."""
        return DecimalConfig(
            places=int(options.get("places", 2)),
            precision=int(options.get("precision", 18)),
            min=option_decimal(options.get("min")),
            max=option_decimal(options.get("max")),
        )

    def check(self, options: Mapping[str, Any], ctx: CheckContext) -> Iterator[Problem]:
        """Refuse more places than digits and a range that admits nothing."""
        places, precision = options.get("places", 2), options.get("precision", 18)
        if isinstance(places, int) and isinstance(precision, int) and places > precision:
            yield option_problem(
                ctx,
                "field-option",
                f"places {places} is greater than precision {precision}",
                "places",
                "precision counts all digits, including those after the point",
            )
        yield from check_range(options, ctx)

    def column_type(self, field: Field) -> sa.types.TypeEngine[Any]:
        """NUMERIC(precision, places), exact on SQLite too (see `exact`)."""
        config = config_of(field, _DEFAULT_DECIMAL)
        return exact_decimal(config.precision, config.places)

    def clean(self, field: Field, raw: Any) -> Decimal | None:
        """A Decimal with exactly `places` decimals, within the range."""
        if is_blank(raw):
            return None
        config = config_of(field, _DEFAULT_DECIMAL)
        return fit_decimal(
            parse_decimal(raw),
            places=config.places,
            integer_digits=max(config.precision - config.places, 0),
            low=config.min,
            high=config.max,
        )

    def from_storage(self, field: Field, row: Mapping[str, Any]) -> Decimal | None:
        """The stored number with `places` decimals."""
        value = row.get(field.name)
        if value is None:
            return None
        places = config_of(field, _DEFAULT_DECIMAL).places
        return parse_decimal(value).quantize(Decimal(1).scaleb(-places), context=Context(prec=80))

    def to_json(self, field: Field, value: Any) -> Any:
        """The number as text ("12.50"), so no client rounds it through a float."""
        return None if value is None else decimal_text(value)

    def json_schema(self, field: Field) -> dict[str, Any]:
        """A decimal string."""
        return {"type": "string", "format": "decimal", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
