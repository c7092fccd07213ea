"""Money in its record's currency: `currency: {from: account.currency}`.

A money field may take each record's currency from a field of the record or of a record it
refers to (`Entity.reads` loads the latter with the write). When a record is written:

- an amount given without a currency (a plain number, a form's amount box, a literal
  default) is taken in the record's currency, rounded to that currency's minor units;
- an amount given in another currency, or computed in one (`quantity * price` of a EUR
  price for a USD order), is a field error: amounts are never relabelled or converted;
- a stored amount whose record changed currency (the order moved to a USD account) is a
  field error too, until the amounts are given again.

A record whose source holds no known currency (no account chosen yet) keeps the field's
default currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..definition.fields import FieldValueError
from ..definition.fieldtypes.money import (
    Money,
    MoneyConfig,
    explicit_currency,
    in_currency,
    known_currency,
)
from ..definition.model import Entity
from .computed import Errors
from .errors import FieldMessage
from .related import load_related

if TYPE_CHECKING:
    from .store import RecordStore


def contextual_money(entity: Entity) -> list[tuple[str, str]]:
    """(field, source path) of the entity's money fields whose currency comes from context."""
    found = []
    for name, field in entity.fields.items():
        source = field.config.currency_from if isinstance(field.config, MoneyConfig) else ""
        if source:
            found.append((name, source))
    return found


def align_given(
    entity: Entity,
    merged: dict[str, Any],
    changes: Mapping[str, Any],
    errors: Errors,
    *,
    creating: bool,
) -> None:
    """Put given and default amounts into their record's currency (before computing)."""
    for name, source in contextual_money(entity):
        field, code = entity.fields[name], merged.get(source)
        value = merged.get(name)
        if field.rollup is not None and _known(code):
            merged[name] = zero_in(value, str(code))
        if field.compute is not None or field.rollup is not None or name in errors:
            continue
        if not isinstance(value, Money) or not _known(code) or value.currency == code:
            continue
        given = name in changes
        plain = explicit_currency(changes[name]) is None if given else creating
        if plain:
            raw = changes[name] if given else value
            try:
                merged[name] = field.kind.clean(field, in_currency(raw, str(code)))
            except FieldValueError as exc:
                errors.setdefault(name, []).append(
                    FieldMessage(exc.code, exc.template, dict(exc.params))
                )
            continue
        _refuse(errors, name, value.currency, str(code))


def record_currencies(
    store: RecordStore, entity: Entity, values: Mapping[str, Any]
) -> dict[str, str]:
    """The currency of each money field of a record yet to be written whose currency comes
    from its context and is known from `values` (a new order line of a USD order: {"price":
    "USD", "amount": "USD"}), read with the engine's rights like the write will."""
    fields = contextual_money(entity)
    record = dict(values)
    paths = {source for _, source in fields if "." in source}
    if paths:
        with store.reading() as conn:
            load_related(conn, store.model, store.tables, entity, [record], paths)
    found = {}
    for name, source in fields:
        code = record.get(source)
        if _known(code):
            found[name] = str(code)
    return found


def zero_in(value: Any, currency: str) -> Any:
    """`value` in `currency` when it is a zero amount (an empty sum is zero in every currency:
    a USD order without lines totals 0 USD, not the field's default 0 EUR); else `value`."""
    if isinstance(value, Money) and not value.amount and value.currency != currency:
        return Money(value.amount, currency)
    return value


def check_computed(entity: Entity, merged: Mapping[str, Any], errors: Errors) -> None:
    """Refuse computed amounts in another currency than their record's (after computing)."""
    for name, source in contextual_money(entity):
        field, code, value = entity.fields[name], merged.get(source), merged.get(name)
        if field.compute is None or name in errors or not _known(code):
            continue
        if isinstance(value, Money) and value.currency != code:
            _refuse(errors, name, value.currency, str(code))


def _refuse(errors: Errors, name: str, got: str, wanted: str) -> None:
    errors.setdefault(name, []).append(
        FieldMessage(
            "currency",
            "is in {got}, but this record's amounts are in {currency}",
            {"got": got, "currency": wanted},
        )
    )


def _known(code: Any) -> bool:
    return isinstance(code, str) and known_currency(code)
