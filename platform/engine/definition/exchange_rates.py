"""The `exchange_rates:` declaration: which entity holds dated exchange rates for metrics that
report money in one currency.

```yaml
exchange_rates: {entity: fx_rate, currency: code, rate: rate, date: valid_from, base: EUR}
```

A row says: from `date` on, one unit of `currency` is worth `rate` units of `base` (the
portal currency unless `base:` names another). `base` itself is worth 1. A metric with
`currency: X` converts an amount in C into X as `amount × rate(C) / rate(X)`, with the latest
rates valid on or before the day that matters (the bucket's first day, or today).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: The field types each role of the declaration accepts.
RATE_FIELD_TYPES: dict[str, tuple[str, ...]] = {
    "currency": ("string", "choice"),
    "rate": ("decimal",),
    "date": ("date",),
}


@dataclass(frozen=True, slots=True)
class ExchangeRates:
    """The compiled `exchange_rates:` declaration (field names of `entity`)."""

    entity: str
    currency: str
    rate: str
    date: str
    base: str


def compile_exchange_rates(value: Any, portal_currency: str) -> ExchangeRates | None:
    """The declaration of a checked definition, or None when there is none."""
    if not isinstance(value, dict):
        return None
    return ExchangeRates(
        entity=str(value["entity"]),
        currency=str(value["currency"]),
        rate=str(value["rate"]),
        date=str(value["date"]),
        base=str(value.get("base") or portal_currency),
    )
