"""`payable:` and `payments.providers` in a definition: what compiles into the model and
every mistake the validator reports (the gallery has each with file:line:col)."""

from __future__ import annotations

from decimal import Decimal

import pay_provider
import pay_world
import pytest

from portalis.engine.definition.bundle import Bundle
from portalis.engine.definition.fieldtypes.money import MoneyConfig
from portalis.engine.definition.model import PortalModel
from portalis.engine.deploy.validator import Checker
from portalis.engine.problems import Problem, Severity


@pytest.fixture(scope="module")
def checker() -> Checker:
    return pay_world.checker()


def check(checker: Checker, portal: str) -> tuple[PortalModel | None, list[Problem]]:
    files = {"portal.yaml": portal, "seed.yaml": pay_world.SEED}
    checked = checker.check_bundle(Bundle.of(files), pay_provider.ENV)
    return checked.model, list(checked.report.problems)


def problems_of(checker: Checker, portal: str) -> list[tuple[str, str, str]]:
    """(code, path, severity) of each problem of a changed pay shop."""
    _, problems = check(checker, portal)
    return [(p.code, p.path_text, p.severity.value) for p in problems]


def changed(old: str, new: str, portal: str = pay_world.PORTAL) -> str:
    assert old in portal, old
    return portal.replace(old, new, 1)


def test_the_pay_shop_compiles_its_payable_entities(checker: Checker) -> None:
    model, problems = check(checker, pay_world.PORTAL)
    assert model is not None, [p.format() for p in problems]
    assert problems == []
    invoice = model.entities["invoice"].payable
    assert invoice is not None
    assert (invoice.amount, invoice.providers, invoice.partial, invoice.minimum) == (
        "open_amount", ("testpay", "backup"), True, Decimal(10),
    )  # fmt: skip
    assert (invoice.paid, invoice.reopened) == ("settle", "reopen")
    assert (
        invoice.description is not None
        and invoice.description.get("en") == "Invoice {number} {note}"
    )
    order = model.entities["order"].payable
    assert order is not None and (order.providers, order.partial, order.paid) == (
        ("backup",), False, None,
    )  # fmt: skip
    assert model.entities["account"].payable is None
    entries = [(e.name, e.type, e.label.get("en")) for e in model.payment_providers]
    assert entries == [("testpay", "testpay", "Card (test)"), ("backup", "testpay", "backup")]
    assert model.payment_providers[0].config == pay_provider.HmacPayConfig(pay_provider.SECRET)
    assert model.payment_provider("backup") is model.payment_providers[1]


def test_a_payable_entity_gets_paid_online_in_its_amounts_currency(checker: Checker) -> None:
    portal = changed(
        "      total: {type: money, required: true}\n"
        '      open_amount: {type: money, compute: "record.total - record.paid_online"}',
        "      total: {type: money, required: true, currencies: [CHF, USD]}\n"
        '      open_amount: {type: money, currencies: [CHF, USD], compute: "record.total - '
        'record.paid_online"}',
    )
    model, problems = check(checker, portal)
    assert model is not None, [p.format() for p in problems]
    field = model.entities["invoice"].fields["paid_online"]
    assert (field.type, field.readonly, field.builtin) == ("money", True, True)
    assert isinstance(field.config, MoneyConfig) and field.config.currencies == ("CHF", "USD")
    assert field.default is not None and field.default.amount == 0
    assert field.default.currency == "CHF"
    assert "paid_online" not in model.entities["account"].fields


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("amount: open_amount", "amount: opn_amount",
         ("ref-unknown-field", "entities.invoice.payable.amount")),
        ("amount: open_amount", "amount: number",
         ("payable-amount", "entities.invoice.payable.amount")),
        ("amount: open_amount", "amount: paid_online",
         ("payable-amount", "entities.invoice.payable.amount")),
        ("paid: settle", "paid: setle", ("payable-transition", "entities.invoice.payable.paid")),
        ("reopened: reopen", "reopened: open",
         ("payable-transition", "entities.invoice.payable.reopened")),
        ("providers: [backup]", "providers: [bakup]",
         ("payable-provider", "entities.order.payable.providers[0]")),
        ('description: "Invoice {number} {note}"', 'description: "Invoice {numbr}"',
         ("payable-description", "entities.invoice.payable.description")),
        ('description: "Invoice {number} {note}"', 'description: {en: "Invoice {id}: {title}"}',
         ("payable-description", "entities.invoice.payable.description.en")),
        ("partial: {minimum: 10}", "partial: {minimum: 0}",
         ("payable-partial-minimum", "entities.invoice.payable.partial.minimum")),
        ("- {type: testpay, name: backup,", "- {type: testpay, name: testpay,",
         ("schema-value", "payments.providers[1]")),
    ],
)  # fmt: skip
def test_mistakes_are_reported(
    checker: Checker, old: str, new: str, expected: tuple[str, str]
) -> None:
    found = problems_of(checker, changed(old, new))
    assert (*expected, "error") in found, found


def test_a_payable_entity_needs_payment_providers(checker: Checker) -> None:
    start = pay_world.PORTAL.index("payments:")
    end = pay_world.PORTAL.index("roles:")
    portal = pay_world.PORTAL[:start] + pay_world.PORTAL[end:]
    found = problems_of(checker, portal)
    assert ("payable-no-providers", "entities.invoice.payable", "error") in found
    assert ("payable-no-providers", "entities.order.payable", "error") in found
    # no second complaint about the providers named: there are none to name
    assert not any(code == "payable-provider" for code, _, _ in found)


def test_paid_online_cannot_be_declared(checker: Checker) -> None:
    portal = changed(
        "      total: {type: money, required: true}\n",
        "      total: {type: money, required: true}\n      paid_online: {type: money}\n",
    )
    found = problems_of(checker, portal)
    assert ("field-reserved", "entities.invoice.fields.paid_online", "error") in found


def test_an_amount_that_ignores_paid_online_is_a_warning(checker: Checker) -> None:
    portal = changed(
        'open_amount: {type: money, compute: "record.total - record.paid_online"}',
        'open_amount: {type: money, compute: "record.total"}',
    )
    model, problems = check(checker, portal)
    assert model is not None
    found = [(p.code, p.path_text, p.severity) for p in problems]
    assert found == [("payable-amount-static", "entities.invoice.payable.amount", Severity.WARNING)]
    # through another computed field it depends on paid_online: no warning
    portal = changed(
        'open_amount: {type: money, compute: "record.total - record.paid_online"}',
        'net: {type: money, compute: "record.total - record.paid_online"}\n'
        '      open_amount: {type: money, compute: "record.net"}',
    )
    assert check(checker, portal)[1] == []


def test_pay_and_refund_are_grant_actions_only_for_payable_entities(checker: Checker) -> None:
    # the order is not payable any more, but its grant still gives `pay` and `refund`
    portal = changed("    payable: {amount: due, providers: [backup]}\n", "")
    portal = changed(
        "      - {roles: [customer], actions: [read, pay], scope: account}\nworkflows:",
        "      - {roles: [customer], actions: [read, pay, refund], scope: account}\nworkflows:",
        portal,
    )
    found = problems_of(checker, portal)
    assert ("grant-action", "entities.order.permissions[0].actions[1]", "error") in found
    assert ("grant-action", "entities.order.permissions[0].actions[2]", "error") in found
