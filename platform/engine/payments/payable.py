"""The payable record: its entity's `payable:`, what is open on it, how much a payment may
be, and what the provider's page says the payer pays for."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Final

import sqlalchemy as sa

from ..data.errors import FieldMessage, NotFound, ValidationFailed
from ..data.permissions import Actor
from ..data.rows import Record
from ..definition.fieldtypes.money import Money, currency_places
from ..definition.model import Entity, PortalModel
from ..definition.payable_spec import Payable, fill
from .records import in_units

if TYPE_CHECKING:
    from ..data.store import RecordStore

#: Longest description sent to a provider (their pages show a line, not a letter).
MAX_DESCRIPTION: Final = 200
#: The form key of amount errors.
AMOUNT_KEY: Final = "amount"


def payable_entity(store: RecordStore, entity_name: str) -> tuple[Entity, Payable]:
    """The entity and its `payable:`; NotFound when it is not payable (or does not exist)."""
    entity = store.entity(entity_name)
    if entity.payable is None:
        raise NotFound(f"{entity.name} is not payable")
    return entity, entity.payable


def as_system(store: RecordStore, conn: sa.Connection, entity: Entity, record_id: int) -> Record:
    """The record as the system sees it: every field, computed ones included (the payer's
    grants may hide the amount; what is open does not depend on who asks)."""
    return store.get(Actor.system(), entity.name, record_id, conn=conn)


def open_amount(record: Record, spec: Payable) -> Money | None:
    """What is open on the record now (None when its amount is empty)."""
    value = record.get(spec.amount)
    return value if isinstance(value, Money) else None


def describe(model: PortalModel, entity: Entity, spec: Payable, record: Record, locale: str) -> str:
    """What the payer pays for: the description with the values of `record` (as the payer
    reads it: a field hidden from them stays empty), or the entity's label and its title."""
    if spec.description is None:
        text = f"{entity.label.get(locale, model.default_locale)} {entity.title_of(record.values)}"
    else:
        text = fill(spec.description.get(locale, model.default_locale), record.values)
    return " ".join(text.split())[:MAX_DESCRIPTION]


def payment_amount(
    given: Decimal | None, limit: Money, *, partial: bool, minimum: Decimal | None = None
) -> Decimal:
    """The amount of a payment (or refund) of at most `limit`: `given`, or all of `limit`.
    ValidationFailed (key `amount`) for more than `limit`, nothing, a part when `partial` is
    off, less than `minimum` (unless that is all there is), or more decimals than the
    currency has."""
    if given is None:
        return limit.amount
    shown = {"limit": str(limit)}
    try:
        amount = Decimal(given)
        exact = in_units(amount, limit.currency)
    except (ArithmeticError, TypeError, ValueError):
        raise _refused(FieldMessage("format", "must be an amount like 12.50")) from None
    if not amount.is_finite() or exact != amount:
        places = {"places": currency_places(limit.currency)}
        raise _refused(FieldMessage("places", "at most {places} decimal places", places))
    if exact <= 0:
        raise _refused(FieldMessage("min", "must be more than 0"))
    if exact > limit.amount:
        raise _refused(FieldMessage("max", "at most {limit}", shown))
    if exact != limit.amount and not partial:
        raise _refused(FieldMessage("whole", "only the whole amount of {limit}", shown))
    if minimum is not None and exact < minimum and exact != limit.amount:
        least = {"minimum": str(Money(in_units(minimum, limit.currency), limit.currency))}
        raise _refused(FieldMessage("min", "at least {minimum}", least))
    return exact


def _refused(message: FieldMessage) -> ValidationFailed:
    return ValidationFailed({AMOUNT_KEY: [message]})
