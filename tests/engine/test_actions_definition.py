"""Definition checks of actions that reach further: `transition` actions, recipient ref paths
and `copy:` — each mistake a problem with its code, file and line, and the valid test portal
silent and compiled."""

from __future__ import annotations

from pathlib import Path

import pytest
from actions_world import definition_folder

from portalis.engine.definition.flow_model import CopyChild
from portalis.engine.deploy.validator import Checker
from portalis.engine.problems import Problem, Severity

ORDERS = "entities/zz_orders.yaml"
#: The codes of these checks: the valid portal has none of them.
CODES = {
    "action-transition", "action-transition-site", "automation-no-record", "recipient-path",
    "recipient-unknown", "copy-child", "copy-reset", "copy-reset-required", "copy-unique",
    "copy-undeclared", "ref-unknown-entity", "ref-unknown-field",
}  # fmt: skip


def problems(
    checker: Checker, folder: Path, edits: list[tuple[str, str]]
) -> tuple[list[Problem], str]:
    """Check the test portal with `edits` (old → new text) applied to its orders file."""
    definition_folder(folder)
    path = folder / ORDERS
    text = path.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    checked = checker.check_dir(folder)
    return [p for p in checked.report.problems if p.severity == Severity.ERROR], text


def line_of(text: str, marker: str) -> int:
    (index,) = [i for i, line in enumerate(text.splitlines(), 1) if marker in line]
    return index


def only(found: list[Problem], code: str) -> Problem:
    matching = [p for p in found if p.code == code]
    assert len(matching) == 1, found
    return matching[0]


def test_the_test_portal_is_valid_and_compiles(portalis_checker: Checker, tmp_path: Path) -> None:
    checked = portalis_checker.check_dir(definition_folder(tmp_path / "ok"))
    assert not [p for p in checked.report.problems if p.code in CODES]
    assert checked.model is not None
    spec = checked.model.entities["sales_order"].copy
    assert spec is not None and spec.children == (CopyChild("sales_order_line", "order"),)
    assert spec.reset == frozenset({"number", "sales_order_line.delivered"})
    assert spec.label.get("de", "en") == "Bestellung wiederholen"
    settle = checked.model.automations["settle_invoice"]
    assert [(a.kind, a.transition) for a in settle.actions][0] == ("transition", "pay")
    assert checked.model.entities["invoice"].copy is None


#: (old text, new text, code, message): one mistake each, reported on the line of the new text
#: — but where `AT` says otherwise.
CASES = [
        ("to: [account.sales_rep, account]", "to: [account.sales_rap]", "recipient-path",
         "account has no ref field 'sales_rap'"),
        ("to: [account.sales_rep, account]", "to: [account.customer_number]", "recipient-path",
         "account has no ref field 'customer_number'"),
        ("to: [account.sales_rep, account]", "to: [order.account.sales_rep.email]",
         "recipient-path", "user has no ref field 'email'"),
        ("to: [account.sales_rep]", "to: [account.sales_rep, number]", "recipient-unknown",
         "'number' is not a ref to user of sales_order"),
        ("      - transition: pay\n      - notify", "      - transition: settle\n      - notify",
         "action-transition", "no workflow of invoice has a transition 'settle'"),
        ("to: reopened, roles: [agent]}", "to: reopened, roles: [agent], actions: [transition: pay]}",
         "action-transition-site", "transition 'reopen' cannot take a transition as an action"),
        ("    on: transition:reopen\n", "    on: delete\n", "automation-no-record",
         "transition cannot run in automation 'loop_pay': it runs after the record was deleted"),
        ("children: [sales_order_line]", "children: [sales_order_lines]", "ref-unknown-entity",
         "unknown entity 'sales_order_lines'"),
        ("children: [sales_order_line]", "children: [ticket]", "copy-child",
         "ticket has no ref field to sales_order"),
        ("children: [sales_order_line]", "children: [sales_order_line.product]", "copy-child",
         "'sales_order_line.product' is not a ref field of sales_order_line to sales_order"),
        ("reset: [number, sales_order_line.delivered]", "reset: [number, colour]",
         "ref-unknown-field", "sales_order has no field 'colour'"),
        ("reset: [number, sales_order_line.delivered]", "reset: [number, invoice.number]",
         "copy-reset", "'invoice' is not a child copied with sales_order"),
        ("reset: [number, sales_order_line.delivered]", "reset: [number, account]",
         "copy-reset-required", "sales_order.account is required and has no default"),
        ("reset: [number, sales_order_line.delivered]", "reset: [sales_order_line.delivered]",
         "copy-unique", "sales_order.number is unique"),
        ("      - detail: {entity: invoice}", "      - detail: {entity: invoice, actions: [copy]}",
         "copy-undeclared", "invoice declares no copy:"),
]  # fmt: skip
#: Where a problem is reported when not on the line of the new text: (marker, lines after it).
AT = {
    "automation-no-record": ("loop_pay:", 5),  # the action the changed trigger cannot take
    "copy-unique": ("copy:", 0),  # at copy:, which decides what is copied
}


@pytest.mark.parametrize(("old", "new", "code", "message"), CASES)
def test_mistakes_are_problems_at_their_line(
    portalis_checker: Checker, tmp_path: Path, old: str, new: str, code: str, message: str
) -> None:
    found, text = problems(portalis_checker, tmp_path / "bad", [(old, new)])
    problem = only(found, code)
    assert message in problem.message and problem.hint and problem.file == ORDERS
    marker, offset = AT.get(code, (new.split("\n")[0].strip(), 0))
    assert problem.line == line_of(text, marker) + offset
