"""The money field type; its value is `Money` (an amount in an ISO 4217 currency), whose
arithmetic lives with the expression language (`portalis.engine.expr.money`)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa
from babel.numbers import list_currencies

from ...expr.money import Money as Money  # re-exported: the value of this type
from ...expr.money import minor_units
from ...problems import Problem
from ..fields import CheckContext, FieldValueError, TableContext
from ._base import BuiltinType, config_of, is_blank, option_problem
from .exact import exact_decimal
from .numbers import (
    check_range,
    decimal_text,
    fit_decimal,
    number_option,
    option_decimal,
    parse_decimal,
)

if TYPE_CHECKING:
    from ..model import Field

#: The amount column is NUMERIC(18, 4): 14 digits before the point, 4 after, which holds the
#: finest currency (precision 4) and amounts up to a hundred trillion.
AMOUNT_PRECISION: Final = 18
AMOUNT_SCALE: Final = 4
_AMOUNT_TEXT: Final = re.compile(
    r"(?:(?P<before>[A-Za-z]{3})\s*)?(?P<amount>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?:\s*(?P<after>[A-Za-z]{3}))?"
)
_MAX_TEXT: Final = 64


@dataclass(frozen=True, slots=True)
class MoneyConfig:
    """Options of a money field: the currency plain numbers are taken in, the currencies it
    accepts (empty: only `currency`), and a range."""

    currency: str = ""
    min: Decimal | None = None
    max: Decimal | None = None
    currencies: tuple[str, ...] = ()
    #: where each record's currency comes from (`currency: {from: account.currency}`): a
    #: field of the record or of a record it refers to, holding an ISO 4217 code
    currency_from: str = ""

    @property
    def allowed(self) -> tuple[str, ...]:
        """The currencies values may have; empty (any known currency) without a currency, or
        when each record's currency comes from its context (checked when it is written)."""
        if self.currency_from:
            return ()
        if self.currencies:
            return self.currencies
        return (self.currency,) if self.currency else ()


_DEFAULT_MONEY: Final = MoneyConfig()


def known_currency(code: str) -> bool:
    """True for an ISO 4217 code Babel knows (upper-case, three letters)."""
    return len(code) == 3 and code.isupper() and code in _currencies()


@cache
def _currencies() -> frozenset[str]:
    # Babel builds a new set on every call; the codes it knows never change in a process
    return frozenset(list_currencies())


def currency_places(code: str) -> int:
    """Decimal places of `code` (JPY 0, EUR 2, KWD 3), capped at what the column stores."""
    return min(minor_units(code), AMOUNT_SCALE)


class MoneyType(BuiltinType):
    """An amount with its currency, stored in two columns: `<name>` and `<name>_currency`."""

    name = "money"
    description = "An amount of money with its ISO 4217 currency (default: the portal currency)."
    options_schema = {
        "currency": {
            "oneOf": [
                {"type": "string", "pattern": "^[A-Z]{3}$"},
                {
                    "type": "object",
                    "properties": {
                        "from": {
                            "type": "string",
                            "pattern": "^[a-z][a-z0-9_]{0,39}(\\.[a-z][a-z0-9_]{0,39}){0,3}$",
                        }
                    },
                    "required": ["from"],
                    "additionalProperties": False,
                },
            ],
            "description": "ISO 4217 code of plain amounts (default: the portal currency); or "
            "`{from: account.currency}`: each record's amounts are in the currency a field of "
            "the record, or of a record it refers to, holds (an order of a USD customer is in "
            "USD). Amounts given without a currency take it; others must match it.",
        },
        "currencies": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "minItems": 1,
            "uniqueItems": True,
            "description": "ISO 4217 codes the field accepts (default: only its `currency`); "
            "amounts in other currencies are refused.",
        },
        "min": number_option("Smallest allowed amount."),
        "max": number_option("Largest allowed amount."),
    }

    def make_config(self, options: Mapping[str, Any], *, currency: str) -> MoneyConfig:
        """The config; `currency` is the portal currency, used unless the field names one
        (or lists `currencies` without it: then the first of those is the default)."""
        allowed = tuple(str(code) for code in options.get("currencies") or ())
        given = options.get("currency")
        source = str(given.get("from") or "") if isinstance(given, Mapping) else ""
        default = str(given or currency) if isinstance(given, str) or given is None else currency
        if allowed and default not in allowed and not isinstance(given, str):
            default = allowed[0]
        return MoneyConfig(
            currency=default,
            min=option_decimal(options.get("min")),
            max=option_decimal(options.get("max")),
            currencies=allowed,
            currency_from=source,
        )

    def check(self, options: Mapping[str, Any], ctx: CheckContext) -> Iterator[Problem]:
        """Refuse unknown currencies, a default outside `currencies` and an empty range."""
        code = options.get("currency")
        if isinstance(code, str) and not known_currency(code):
            yield _unknown(ctx, code, "currency")
        if isinstance(code, Mapping):
            yield from check_currency_source(str(code.get("from") or ""), ctx)
            if options.get("currencies"):
                yield option_problem(
                    ctx,
                    "field-option",
                    "a money field whose currency comes from its record takes no currencies",
                    "currencies",
                    "leave currencies out: each record's currency is the one it refers to",
                )
        allowed = options.get("currencies")
        if isinstance(allowed, list):
            for other in allowed:
                if isinstance(other, str) and not known_currency(other):
                    yield _unknown(ctx, other, "currencies")
            if isinstance(code, str) and code not in allowed:
                yield option_problem(
                    ctx,
                    "field-option",
                    f"currency {code} is not one of the field's currencies",
                    "currency",
                    "add it to currencies, or leave currency out (the first one is the default)",
                )
        yield from check_range(options, ctx)

    def column_names(self, field: Field) -> tuple[str, ...]:
        """`<name>` (the amount) and `<name>_currency`."""
        return (field.name, f"{field.name}_currency")

    def columns(self, field: Field, ctx: TableContext) -> list[sa.Column[Any]]:
        """NUMERIC(18, 4) for the amount (exact on SQLite too: `exact`), VARCHAR(3) for the
        currency code."""
        amount, currency = self.column_names(field)
        return [
            sa.Column(amount, exact_decimal(AMOUNT_PRECISION, AMOUNT_SCALE), nullable=True),
            sa.Column(currency, sa.String(3), nullable=True),
        ]

    def to_storage(self, field: Field, value: Any) -> dict[str, Any]:
        """Both columns, both NULL for no value."""
        amount, currency = self.column_names(field)
        if not isinstance(value, Money):
            return {amount: None, currency: None}
        return {amount: value.amount, currency: value.currency}

    def from_storage(self, field: Field, row: Mapping[str, Any]) -> Money | None:
        """Money again, with the currency's decimal places."""
        amount_col, currency_col = self.column_names(field)
        amount, currency = row.get(amount_col), row.get(currency_col)
        if amount is None or not isinstance(currency, str):
            return None
        exponent = Decimal(1).scaleb(-currency_places(currency))
        return Money(parse_decimal(amount).quantize(exponent, context=Context(prec=80)), currency)

    def clean(self, field: Field, raw: Any) -> Money | None:
        """Money from Money, {amount, currency}, "12.50 EUR", "EUR 12.50" or a plain number
        (in the field's currency); the amount is rounded half-even (banker's rounding) to the
        currency's minor units, so a computed `quantity * price` is rounded like a ledger."""
        if is_blank(raw):
            return None
        config = config_of(field, _DEFAULT_MONEY)
        amount, currency = _split(raw, config.currency)
        if not known_currency(currency):
            raise FieldValueError(
                "currency", "{currency} is not a known currency", currency=currency[:8]
            )
        allowed = config.allowed
        if allowed and currency not in allowed:
            raise FieldValueError(
                "currency",
                "{currency} is not accepted here; use {allowed}",
                currency=currency,
                allowed=", ".join(allowed),
            )
        value = fit_decimal(
            parse_decimal(amount),
            places=currency_places(currency),
            integer_digits=AMOUNT_PRECISION - AMOUNT_SCALE,
            low=config.min,
            high=config.max,
            rounding=ROUND_HALF_EVEN,
        )
        return Money(value, currency)

    def filter_clause(
        self, field: Field, table: sa.Table, value: Any
    ) -> sa.ColumnElement[bool] | None:
        """Money is not filterable (amounts are compared in ranges, not for equality)."""
        return None

    def to_json(self, field: Field, value: Any) -> Any:
        """{"amount": "12.50", "currency": "EUR"}: the amount as text keeps every digit."""
        if not isinstance(value, Money):
            return None
        return {"amount": decimal_text(value.amount), "currency": value.currency}

    def json_schema(self, field: Field) -> dict[str, Any]:
        """An object with a decimal-string amount and a currency code."""
        return {
            "type": "object",
            "properties": {
                "amount": {"type": "string", "format": "decimal"},
                "currency": _currency_schema(config_of(field, _DEFAULT_MONEY).allowed),
            },
            "required": ["amount", "currency"],
            "additionalProperties": False,
        }


def explicit_currency(raw: Any) -> str | None:
    """The currency an input names itself (Money, a mapping with one, "12.50 USD"), or None
    for a plain amount, which takes the field's (or its record's) currency."""
    if isinstance(raw, Money):
        return raw.currency if isinstance(raw.currency, str) else None
    if isinstance(raw, Mapping):
        code = raw.get("currency")
        return code.strip().upper() if isinstance(code, str) and code.strip() else None
    if isinstance(raw, str):
        match = _AMOUNT_TEXT.fullmatch(raw.strip()) if len(raw) <= _MAX_TEXT else None
        code = match and (match["before"] or match["after"])
        return code.upper() if code else None
    return None


def in_currency(raw: Any, code: str) -> Any:
    """A plain amount input (a number, decimal text, a mapping without currency) in `code`."""
    if isinstance(raw, Mapping):
        return {**raw, "currency": code}
    if isinstance(raw, Money):
        return Money(raw.amount, code)
    return {"amount": raw, "currency": code}


def check_currency_source(source: str, ctx: CheckContext) -> Iterator[Problem]:
    """`currency: {from: path}`: each step but the last a ref, the last a text field."""
    steps, entity = source.split("."), ctx.entity
    for index, step in enumerate(steps):
        spec = (ctx.entities.get(entity) or {}).get(step)
        last = index == len(steps) - 1
        if not isinstance(spec, Mapping):
            yield option_problem(
                ctx, "currency-source", f"{entity} has no field {step!r}", "currency",
                "name a field holding an ISO 4217 code, e.g. {from: account.currency}",
            )  # fmt: skip
            return
        if last:
            if spec.get("type") not in ("string", "choice"):
                yield option_problem(
                    ctx, "currency-source",
                    f"{entity}.{step} is a {spec.get('type')} field, not a currency code",
                    "currency", "use a string or choice field holding codes such as EUR",
                )  # fmt: skip
            return
        if spec.get("type") != "ref" or not isinstance(spec.get("to"), str):
            yield option_problem(
                ctx, "currency-source", f"{entity}.{step} is not a reference", "currency",
                "every step before the last must be a ref field",
            )  # fmt: skip
            return
        entity = str(spec["to"])


def _currency_schema(allowed: tuple[str, ...]) -> dict[str, Any]:
    if allowed:
        return {"type": "string", "enum": list(allowed)}
    return {"type": "string", "pattern": "^[A-Z]{3}$"}


def _unknown(ctx: CheckContext, code: str, option: str) -> Problem:
    return option_problem(
        ctx,
        "currency-unknown",
        f"{code!r} is not an ISO 4217 currency code",
        option,
        "use a three-letter code such as EUR, USD, GBP or CHF",
    )


def _split(raw: Any, default_currency: str) -> tuple[Any, str]:
    """(amount input, currency code) from any accepted money input."""
    if isinstance(raw, Money):
        if not isinstance(raw.currency, str):
            raise FieldValueError("type", "currency must be a three-letter code")
        return raw.amount, raw.currency
    if isinstance(raw, Mapping):
        if "amount" not in raw or not set(raw) <= {"amount", "currency"}:
            raise FieldValueError("format", "must be an object with amount and currency")
        currency = raw.get("currency")
        if currency is None:
            return raw["amount"], default_currency
        if not isinstance(currency, str):
            raise FieldValueError("type", "currency must be a three-letter code")
        return raw["amount"], currency.strip().upper()
    if isinstance(raw, str):
        text = raw.strip()
        match = _AMOUNT_TEXT.fullmatch(text) if len(text) <= _MAX_TEXT else None
        if match is None or (match["before"] and match["after"]):
            raise FieldValueError("format", "must be an amount like 12.50 or 12.50 EUR")
        code = match["before"] or match["after"]
        return match["amount"], code.upper() if code else default_currency
    return raw, default_currency
