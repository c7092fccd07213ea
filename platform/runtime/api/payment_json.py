"""The payment part of the REST API: the bodies of a payment and a refund request, read
strictly, and payments and refunds as JSON.

Amounts are decimal text with the currency beside them (`"amount": "12.50", "currency":
"EUR"`), as the API writes money. A request body is one JSON object with only its own
members: an unknown member, a value of the wrong type or an amount that is no decimal text
is refused with 422 naming the member; what the amount may be (at most what is open, a part
only with `partial:`, at least its minimum, the currency's places) the payment service
decides, with the same 422. What only staff see of a payment — the provider's references,
why it failed or was flagged (the provider's own words), why and by whom a refund was made —
is null for everyone else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from portalis.engine.definition.fieldtypes.money import AMOUNT_PRECISION, AMOUNT_SCALE
from portalis.engine.definition.fieldtypes.numbers import decimal_text
from portalis.engine.payments.records import Payment, Refund, StartedPayment

from ..problem import ApiProblem
from .fields import TEXT_REFUSED

#: Digits before the decimal point of an amount (the money columns' precision less scale).
INTEGER_DIGITS: Final = AMOUNT_PRECISION - AMOUNT_SCALE
#: An amount as a request may write it: decimal text without sign, exponent or leading zeros.
AMOUNT_SYNTAX: Final = re.compile(
    rf"(0|[1-9][0-9]{{0,{INTEGER_DIGITS - 1}}})(\.[0-9]{{1,{AMOUNT_SCALE}}})?"
)
#: Longest refund reason kept (the refund's `reason` column).
MAX_REASON: Final = 500
_REFUSED_TEXT: Final = re.compile(TEXT_REFUSED)

Errors = dict[str, list[dict[str, str]]]


@dataclass(frozen=True, slots=True)
class PayRequest:
    """`POST …/pay`: how much (None: all that is open) and where (None: the first provider)."""

    amount: Decimal | None
    provider: str | None


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """`POST …/refunds`: how much (None: all that is left) and why."""

    amount: Decimal | None
    reason: str | None


def pay_request(body: Mapping[str, Any]) -> PayRequest:
    """The members of a payment request; 422 for anything else."""
    errors = _unknown(body, ("amount", "provider"))
    amount = _amount(body.get("amount"), errors)
    provider = body.get("provider")
    if provider is not None and not isinstance(provider, str):
        errors["provider"] = [_error("type", "must be the name of a payment provider")]
        provider = None
    _refuse(errors)
    return PayRequest(amount, provider)


def refund_request(body: Mapping[str, Any]) -> RefundRequest:
    """The members of a refund request; 422 for anything else."""
    errors = _unknown(body, ("amount", "reason"))
    amount = _amount(body.get("amount"), errors)
    reason = body.get("reason")
    if reason is not None:
        problem = _text_problem(reason, MAX_REASON)
        if problem is not None:
            errors["reason"] = [problem]
    _refuse(errors)
    return RefundRequest(amount, reason)


def _error(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def _unknown(body: Mapping[str, Any], members: tuple[str, ...]) -> Errors:
    return {key: [_error("unknown-field", "unknown field")] for key in body if key not in members}


def _amount(value: Any, errors: Errors) -> Decimal | None:
    """A decimal-text amount (None when absent or null)."""
    if value is None:
        return None
    if not isinstance(value, str):
        errors["amount"] = [_error("type", 'must be an amount as text, like "12.50"')]
    elif AMOUNT_SYNTAX.fullmatch(value) is None:
        errors["amount"] = [_error("format", "must be an amount like 12.50")]
    else:
        return Decimal(value)
    return None


def _text_problem(value: Any, limit: int) -> dict[str, str] | None:
    if not isinstance(value, str):
        return _error("type", "must be text")
    if _REFUSED_TEXT.search(value):
        return _error("format", "must not contain control characters")
    if len(value) > limit:
        return _error("too-long", f"must be at most {limit} characters")
    return None


def _refuse(errors: Errors) -> None:
    if errors:
        raise ApiProblem(422, "invalid", "the input was refused", errors=errors)


# -- responses ------------------------------------------------------------------------------
def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def refund_json(refund: Refund, *, staff: bool) -> dict[str, Any]:
    """A refund as JSON (its reason, the provider's reference and who made it for staff
    only)."""
    return {
        "id": refund.id,
        "amount": decimal_text(refund.amount),
        "currency": refund.currency,
        "status": refund.status,
        "reason": refund.reason if staff else None,
        "reference": refund.reference if staff else None,
        "created_by": refund.created_by if staff else None,
        "created_at": _when(refund.created_at),
    }


def payment_json(payment: Payment, *, staff: bool) -> dict[str, Any]:
    """A payment with its refunds (oldest first) as JSON; see the module docstring."""
    return {
        "id": payment.id,
        "status": payment.status,
        "amount": decimal_text(payment.amount),
        "currency": payment.currency,
        "refunded": decimal_text(payment.refunded),
        "provider": payment.provider,
        "method": payment.method,
        "reference": payment.reference if staff else None,
        "transaction": payment.transaction if staff else None,
        "reason": payment.reason if staff else None,
        "flag": payment.flag if staff else None,
        "created_by": payment.created_by,
        "created_at": _when(payment.created_at),
        "updated_at": _when(payment.updated_at),
        "refunds": [refund_json(r, staff=staff) for r in payment.refunds],
    }


def started_json(started: StartedPayment, *, staff: bool) -> dict[str, Any]:
    """A started payment: the payment, where to send the payer, until when the link works."""
    expires = started.expires_at
    return {
        **payment_json(started.payment, staff=staff),
        "redirect_url": started.redirect_url,
        "expires_at": None if expires is None else _when(expires),
    }
