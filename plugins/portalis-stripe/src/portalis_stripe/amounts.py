"""Amounts in Stripe's minor units, per currency.

Stripe's API takes and returns integers in a currency's smallest unit: cents for EUR
(10.50 EUR → 1050), yen for the zero-decimal JPY (¥500 → 500), fils for the three-decimal
KWD (5.120 KWD → 5120). Special cases from Stripe's currency reference:

- three-decimal currencies (BHD, JOD, KWD, OMR, TND): the last minor digit must be 0 (the
  amount is rounded to the nearest ten fils by Stripe's partners), so 5.124 KWD is refused;
- ISK stays two-decimal in the API but only whole krónur are charged (a multiple of 100).

An amount that does not fit — more decimals than the currency has, a fraction where only
whole units are charged, zero or less — is refused here, before anything is sent: a
rounded amount would charge the payer something else than the portal recorded.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

#: Currencies whose API amounts are whole units (no minor unit).
ZERO_DECIMAL = frozenset(
    {
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA",
        "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
    }
)  # fmt: skip
#: Currencies with three decimals (their last minor digit must be 0).
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
#: Two-decimal in the API, but only multiples of 100 minor units are charged.
WHOLE_UNITS_ONLY = frozenset({"ISK"})


class AmountDoesNotFit(ValueError):
    """An amount Stripe cannot charge exactly in its currency (the message says why)."""


def exponent(currency: str) -> int:
    """How many decimals `currency` has in Stripe's API (0, 2 or 3)."""
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def to_minor(amount: Decimal, currency: str) -> int:
    """`amount` of `currency` in Stripe's minor units; AmountDoesNotFit when inexact."""
    code = currency.upper()
    try:
        scaled = amount.scaleb(exponent(code))
        minor = int(scaled)
    except (InvalidOperation, OverflowError, ValueError):
        raise AmountDoesNotFit(f"{amount} is not an amount") from None
    if minor != scaled:
        places = exponent(code)
        unit = "whole units" if places == 0 else f"{places} decimal places"
        raise AmountDoesNotFit(f"{amount} {code} has more precision than {code} ({unit})")
    if minor <= 0:
        raise AmountDoesNotFit(f"{amount} {code} is not a positive amount")
    if code in THREE_DECIMAL and minor % 10:
        raise AmountDoesNotFit(
            f"{amount} {code}: Stripe charges {code} in multiples of 0.010 (the last digit is 0)"
        )
    if code in WHOLE_UNITS_ONLY and minor % 100:
        raise AmountDoesNotFit(f"{amount} {code}: Stripe charges {code} in whole units only")
    return minor


def from_minor(minor: int, currency: str) -> Decimal:
    """An amount Stripe reported in minor units, as a Decimal of `currency`."""
    return Decimal(minor).scaleb(-exponent(currency))
