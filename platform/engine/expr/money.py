"""`Money`: an amount in a currency, and the arithmetic expressions do with it.

Money adds up the way an accountant expects:

- ``+`` and ``-`` of two amounts in the same currency give an amount; another currency is a
  `CurrencyMismatch` (EUR is never added to USD), and so is a plain number, except zero
  (``sum()`` starts from 0, and ``record['total'] + 0`` is harmless);
- ``*`` and ``/`` by a number (int, Decimal, float) give an amount; a float is taken by its
  shortest decimal text (``1.19`` is exactly 1.19), never by its binary value;
- an amount divided by an amount of the same currency is a plain number (a ratio);
- ``<``, ``<=``, ``>``, ``>=`` compare amounts of one currency, or an amount with zero;
  ``== 0`` is true for a zero amount in any currency;
- ``round(amount)`` rounds half-even (banker's rounding) to the currency's minor units from
  Babel's currency data (EUR 2, JPY 0, KWD 3); ``round(amount, n)`` to n places.

Every result is exact: amounts are `Decimal`, computed in a private context with 40 digits,
whatever the thread's context says. A stored money field rounds half-even to the currency's
minor units when it is written, so a computed ``quantity * price`` keeps every digit until then.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, DecimalException
from functools import lru_cache
from typing import Any, ClassVar, Final

from babel.numbers import get_currency_precision

#: The arithmetic context of money: 40 significant digits, far beyond any stored amount
#: (18 digits), so products and quotients keep every digit until they are stored.
MONEY_CONTEXT: Final = Context(prec=40, rounding=ROUND_HALF_EVEN)


class CurrencyMismatch(TypeError):
    """An operation mixed two currencies, or an amount and a plain number."""


@lru_cache(maxsize=512)
def minor_units(code: str) -> int:
    """Decimal places of the currency `code` in Babel's data (EUR 2, JPY 0, KWD 3)."""
    return int(get_currency_precision(code))


def _factor(value: Any, what: str) -> Decimal:
    """A number as an exact Decimal; anything else (money included) is refused."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise CurrencyMismatch(f"money can only be {what} a number, not {type(value).__name__}")
    if isinstance(value, float):
        return Decimal(repr(value))  # 1.19 means 1.19, not 1.18999999999999994671…
    return Decimal(value)


def _is_zero(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float | Decimal) and value == 0


@dataclass(frozen=True, slots=True, eq=False)
class Money:
    """An amount of money in a currency (ISO 4217 code, such as EUR)."""

    amount: Decimal
    currency: str

    #: What expressions may read: ``record['price'].amount``, ``record['price'].currency``.
    __portalis_expose__: ClassVar[frozenset[str]] = frozenset({"amount", "currency"})
    #: The sandbox lets these operators through: each runs in constant time on Decimals.
    __portalis_arithmetic__: ClassVar[bool] = True

    def __str__(self) -> str:
        return f"{format(self.amount, 'f')} {self.currency}"

    # -- equality -----------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if isinstance(other, Money):
            return self.currency == other.currency and self.amount == other.amount
        if _is_zero(other):
            return self.amount == 0
        return NotImplemented

    def __hash__(self) -> int:
        # A zero amount equals 0, so it must hash like 0 (hash(Decimal(0)) == hash(0)).
        return hash(self.amount) if self.amount == 0 else hash((self.amount, self.currency))

    # -- helpers ------------------------------------------------------------------------------
    def _same(self, other: Money, symbol: str) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(
                f"cannot {symbol} amounts in {self.currency} and {other.currency}"
            )

    def _amount_of(self, other: Any, symbol: str) -> Decimal | None:
        """The amount of `other` for + and - (same currency, or zero); None if unsupported."""
        if isinstance(other, Money):
            self._same(other, symbol)
            return other.amount
        if _is_zero(other):
            return Decimal(0)
        if isinstance(other, int | float | Decimal) and not isinstance(other, bool):
            raise CurrencyMismatch(
                f"cannot {symbol} a plain number and an amount in {self.currency}; "
                "give the number a currency or multiply an amount by it"
            )
        return None

    def _with(self, amount: Decimal) -> Money:
        return Money(amount, self.currency)

    # -- + and - ------------------------------------------------------------------------------
    def __add__(self, other: Any) -> Money:
        amount = self._amount_of(other, "add")
        if amount is None:
            return NotImplemented
        return self._with(MONEY_CONTEXT.add(self.amount, amount))

    __radd__ = __add__

    def __sub__(self, other: Any) -> Money:
        amount = self._amount_of(other, "subtract")
        if amount is None:
            return NotImplemented
        return self._with(MONEY_CONTEXT.subtract(self.amount, amount))

    def __rsub__(self, other: Any) -> Money:
        amount = self._amount_of(other, "subtract")
        if amount is None:
            return NotImplemented
        return self._with(MONEY_CONTEXT.subtract(amount, self.amount))

    def __neg__(self) -> Money:
        return self._with(MONEY_CONTEXT.minus(self.amount))

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return self._with(MONEY_CONTEXT.abs(self.amount))

    # -- * and / ------------------------------------------------------------------------------
    def __mul__(self, other: Any) -> Money:
        if isinstance(other, Money):
            raise CurrencyMismatch("cannot multiply an amount by an amount")
        return self._with(MONEY_CONTEXT.multiply(self.amount, _factor(other, "multiplied by")))

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Money | Decimal:
        if isinstance(other, Money):
            self._same(other, "divide")
            return _divide(self.amount, other.amount)
        return self._with(_divide(self.amount, _factor(other, "divided by")))

    def __rtruediv__(self, other: Any) -> Money:
        raise CurrencyMismatch("cannot divide a number by an amount")

    # -- order --------------------------------------------------------------------------------
    def _compared(self, other: Any) -> Decimal:
        if isinstance(other, Money):
            self._same(other, "compare")
            return other.amount
        if _is_zero(other):
            return Decimal(0)
        raise CurrencyMismatch(
            f"cannot compare an amount in {self.currency} with {type(other).__name__}; "
            "compare amounts of one currency, or with 0"
        )

    def __lt__(self, other: Any) -> bool:
        return self.amount < self._compared(other)

    def __le__(self, other: Any) -> bool:
        return self.amount <= self._compared(other)

    def __gt__(self, other: Any) -> bool:
        return self.amount > self._compared(other)

    def __ge__(self, other: Any) -> bool:
        return self.amount >= self._compared(other)

    # -- rounding -----------------------------------------------------------------------------
    def __round__(self, ndigits: int | None = None) -> Money:
        places = minor_units(self.currency) if ndigits is None else ndigits
        return self._with(round_half_even(self.amount, places))

    def rounded(self, places: int | None = None) -> Money:
        """The amount rounded half-even to `places` (default: the currency's minor units)."""
        return round(self, places)


def round_half_even(value: Decimal, places: int) -> Decimal:
    """`value` rounded half-even to `places` decimals (negative: tens, hundreds …)."""
    return value.quantize(Decimal(1).scaleb(-places), context=MONEY_CONTEXT)


def _divide(left: Decimal, right: Decimal) -> Decimal:
    try:
        return MONEY_CONTEXT.divide(left, right)
    except DecimalException:
        raise ZeroDivisionError("division of an amount by zero") from None
