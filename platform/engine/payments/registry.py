"""The payment provider types the loaded plugins serve, and a portal's entries bound to them.

A type comes from the hook `portalis_payment_providers` (a later plugin overrides an earlier
provider of the same name). A portal's `payments.providers` entries name types; binding them
gives each entry its provider and the config its definition section compiled. A definition
whose entry names a type no loaded plugin provides a section for is invalid already; a
plugin that provides the section but no provider is found here, when binding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pluggy

from ..definition.model import PortalModel
from ..definition.payable_spec import PaymentProviderEntry
from ..definition.values import frozen_map
from .errors import PaymentUnavailable
from .provider import PaymentProvider


@dataclass(frozen=True, slots=True)
class BoundProvider:
    """A portal's provider entry with the provider that serves its type."""

    entry: PaymentProviderEntry
    provider: PaymentProvider

    @property
    def name(self) -> str:
        """The entry's name (what payments, events and URLs name it by)."""
        return self.entry.name

    @property
    def config(self) -> object:
        """The entry's compiled options: what the provider's methods receive."""
        return self.entry.config


class PaymentRegistry:
    """Payment provider types by name (a later registration overrides an earlier)."""

    def __init__(self, providers: Iterable[PaymentProvider]) -> None:
        by_name: dict[str, PaymentProvider] = {}
        for provider in providers:
            name = getattr(provider, "name", None)
            if not isinstance(name, str) or not isinstance(provider, PaymentProvider):
                raise TypeError(f"{provider!r} is not a PaymentProvider with a name")
            by_name[name] = provider
        self._by_name = by_name

    def names(self) -> tuple[str, ...]:
        """The provider types, in registration order."""
        return tuple(self._by_name)

    def get(self, name: str) -> PaymentProvider | None:
        """The provider of type `name`, or None."""
        return self._by_name.get(name)

    def bind(self, model: PortalModel) -> Mapping[str, BoundProvider]:
        """The portal's entries by name, each with its provider, in the definition's order;
        PaymentUnavailable when no loaded plugin serves an entry's type."""
        bound: dict[str, BoundProvider] = {}
        for entry in model.payment_providers:
            provider = self._by_name.get(entry.type)
            if provider is None:
                raise PaymentUnavailable(
                    f"payment provider {entry.name!r} of {model.slug}: no loaded plugin "
                    f"serves type {entry.type!r}"
                )
            bound[entry.name] = BoundProvider(entry, provider)
        return frozen_map(bound)


def payment_registry(pm: pluggy.PluginManager) -> PaymentRegistry:
    """The payment provider types of every plugin of `pm` (build it once, at start-up)."""
    results: list[list[PaymentProvider]] = pm.hook.portalis_payment_providers()
    return PaymentRegistry(p for result in reversed(results) for p in result)
