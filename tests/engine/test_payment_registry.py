"""The payment provider registry: provider types from the plugins' hook, and a portal's
`payments.providers` entries bound to them."""

from __future__ import annotations

import pay_provider
import pay_world
import pytest

from portalis.api import hookimpl
from portalis.engine.definition.bundle import Bundle
from portalis.engine.definition.model import PortalModel
from portalis.engine.payments.errors import PaymentUnavailable
from portalis.engine.payments.registry import PaymentRegistry, payment_registry
from portalis.engine.plugins import make_plugin_manager


class _Override:
    """A later plugin with its own `testpay` provider."""

    def __init__(self) -> None:
        self.provider = pay_provider.HmacPay()

    @hookimpl
    def portalis_payment_providers(self) -> list[pay_provider.HmacPay]:
        return [self.provider]


@pytest.fixture(scope="module")
def model() -> PortalModel:
    files = {"portal.yaml": pay_world.PORTAL, "seed.yaml": pay_world.SEED}
    return pay_world.checker().check_bundle(Bundle.of(files), pay_provider.ENV).unwrap()


def test_a_later_plugin_overrides_a_provider_of_the_same_name() -> None:
    override = _Override()
    pm = make_plugin_manager(extra=[pay_provider, override], load_entrypoints=False)
    registry = payment_registry(pm)
    assert registry.names() == ("testpay",)
    assert registry.get("testpay") is override.provider
    assert registry.get("stripe") is None


def test_binding_gives_each_entry_its_provider_and_config(model: PortalModel) -> None:
    provider = pay_provider.HmacPay()
    bound = PaymentRegistry([provider]).bind(model)
    assert list(bound) == ["testpay", "backup"]
    assert all(b.provider is provider for b in bound.values())
    assert bound["backup"].config == pay_provider.HmacPayConfig(pay_provider.SECRET)
    assert bound["backup"].entry.type == "testpay" and bound["backup"].name == "backup"


def test_an_entry_no_provider_serves_is_unavailable(model: PortalModel) -> None:
    with pytest.raises(PaymentUnavailable, match="no loaded plugin serves type 'testpay'"):
        PaymentRegistry([]).bind(model)


def test_a_provider_must_keep_the_contract() -> None:
    with pytest.raises(TypeError):
        PaymentRegistry([object()])  # type: ignore[list-item]
