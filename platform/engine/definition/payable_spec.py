"""An entity's `payable:` and the portal's `payments.providers`, compiled.

A payable record is paid online through a provider's hosted checkout: the `amount` field says
what is open now, `partial` whether the payer may pay less than that, `paid` and `reopened`
name the transitions Portalis takes as the system when a payment leaves nothing open or a
refund opens an amount again. Portalis keeps the built-in money field `paid_online` (the net
of the record's succeeded payments) so the definition computes its open amount from it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from .sections import SectionRegistry
from .values import Label

#: The built-in money field of a payable entity: what its online payments brought in, net.
PAID_ONLINE: Final = "paid_online"
#: The label of `paid_online` in the locales Portalis translates.
PAID_ONLINE_LABEL: Final = {
    "en": "Paid online",
    "de": "Online bezahlt",
    "fr": "Payé en ligne",
    "es": "Pagado en línea",
}
#: A `{field}` placeholder of a payment description.
PLACEHOLDER: Final = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True, slots=True)
class Payable:
    """How records of an entity are paid online (`payable:`).

    `providers` are the `payments.providers` entry names offered, the first the default;
    `minimum` is the smallest partial payment (None: any amount above zero) and only applies
    when `partial` is true.
    """

    amount: str
    providers: tuple[str, ...]
    description: Label | None = None
    partial: bool = False
    minimum: Decimal | None = None
    paid: str | None = None
    reopened: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentProviderEntry:
    """One `payments.providers` entry: its `name` (default: its type), the provider `type`,
    the label the payer chooses it by and `config`, what the type's definition section
    compiled from its options (the object the provider's methods receive)."""

    name: str
    type: str
    label: Label
    config: object = None


def placeholders(template: str) -> list[str]:
    """The `{name}` placeholders of a description template, in order."""
    return [match.group(1) for match in PLACEHOLDER.finditer(template)]


def fill(template: str, values: Mapping[str, Any]) -> str:
    """`template` with each `{field}` replaced by the value's text ("" for no value)."""

    def one(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return "" if value is None else str(value)

    return PLACEHOLDER.sub(one, template)


def compile_payable(raw: Mapping[str, Any] | None, entries: Sequence[str]) -> Payable | None:
    """An entity's checked `payable:` (None when it has none); `entries` are the names of
    the portal's payment provider entries, in order."""
    if not isinstance(raw, Mapping):
        return None
    partial = raw.get("partial", False)
    minimum = None
    if isinstance(partial, Mapping):
        minimum = Decimal(str(partial["minimum"]))
    return Payable(
        amount=str(raw["amount"]),
        providers=tuple(raw.get("providers") or entries),
        description=Label.of(raw["description"]) if "description" in raw else None,
        partial=partial is not False,
        minimum=minimum,
        paid=raw.get("paid"),
        reopened=raw.get("reopened"),
    )


def entry_name(entry: Mapping[str, Any]) -> str:
    """The name of a `payments.providers` entry: its `name`, else its type."""
    return str(entry.get("name") or entry.get("type"))


def compile_payment_providers(
    data: Mapping[str, Any], sections: SectionRegistry
) -> tuple[PaymentProviderEntry, ...]:
    """The portal's checked `payments.providers` entries, each with the config its type's
    definition section compiled (the schema pass refused types no section provides)."""
    entries = []
    for raw in (data.get("payments") or {}).get("providers") or ():
        kind = str(raw["type"])
        options = {k: v for k, v in raw.items() if k not in ("type", "name", "label")}
        section = sections.get("payment", kind)
        config = section.compiled(options) if section is not None else None
        name = entry_name(raw)
        entries.append(PaymentProviderEntry(name, kind, Label.of(raw.get("label"), name), config))
    return tuple(entries)
