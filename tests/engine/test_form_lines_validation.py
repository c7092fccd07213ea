"""Every mistake in a form's `lines:` and in a parent-state grant is a located problem
(file:line:col, stable code, hint) — and the valid orders portal passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from portalis.engine.definition.bundle import Bundle
from portalis.engine.deploy.validator import Checker

ORDERS = Path(__file__).parent / "data" / "orders"

BASE = """\
format: portalis/v1
portal: shop
title: Shop
locales: [en]
roles:
  customer: {label: Customer}
entities:
  order:
    fields:
      reference: {type: string}
    permissions:
      - {roles: [customer], actions: [read, create, update], scope: all}
  order_line:
    fields:
      order: {type: ref, to: order, required: true}
      quantity: {type: int}
      note: {type: string}
      position: {type: int}
      photo: {type: file, accept: [png]}
      line_total: {type: int, compute: "(record['quantity'] or 0) * 2"}
    permissions:
      - {roles: [customer], actions: [read], scope: {parent: order}}
      - {roles: [customer], actions: [create, update, delete], scope: %(scope)s}
pages:
  new_order:
    route: /orders/new
    blocks:
      - form:
          entity: order
          fields: [reference]
          lines: %(lines)s
"""
GOOD_LINES = "{entity: order_line, via: order, fields: [quantity], order_by: position}"
GOOD_SCOPE = "{parent: order, when: \"parent['reference'] != 'closed'\"}"

CASES = {
    "unknown child entity": (
        {"lines": "{entity: orderline, via: order, fields: [quantity]}"},
        "ref-unknown-entity", "pages.new_order.blocks[0].form.lines.entity",
    ),
    "via is not a ref to the parent": (
        {"lines": "{entity: order_line, via: note, fields: [quantity]}"},
        "block-option", "pages.new_order.blocks[0].form.lines.via",
    ),
    "unknown row field": (
        {"lines": "{entity: order_line, via: order, fields: [quantiy]}"},
        "ref-unknown-field", "pages.new_order.blocks[0].form.lines.fields[0]",
    ),
    "computed row field": (
        {"lines": "{entity: order_line, via: order, fields: [quantity, line_total]}"},
        "block-option", "pages.new_order.blocks[0].form.lines.fields[1]",
    ),
    "the via field as a column": (
        {"lines": "{entity: order_line, via: order, fields: [order, quantity]}"},
        "block-option", "pages.new_order.blocks[0].form.lines.fields[0]",
    ),
    "a system column": (
        {"lines": "{entity: order_line, via: order, fields: [id]}"},
        "block-option", "pages.new_order.blocks[0].form.lines.fields[0]",
    ),
    "a file field in the rows": (
        {"lines": "{entity: order_line, via: order, fields: [quantity, photo]}"},
        "block-option", "pages.new_order.blocks[0].form.lines.fields[1]",
    ),
    "order_by not an int": (
        {"lines": "{entity: order_line, via: order, fields: [quantity], order_by: note}"},
        "block-option", "pages.new_order.blocks[0].form.lines.order_by",
    ),
    "min above max": (
        {"lines": "{entity: order_line, via: order, fields: [quantity], min: 5, max: 2}"},
        "block-option", "pages.new_order.blocks[0].form.lines.min",
    ),
    "more rows than a form holds": (
        {"lines": "{entity: order_line, via: order, fields: [quantity], max: 500}"},
        "schema-format", "pages.new_order.blocks[0].form.lines.max",
    ),
    "unknown lines option": (
        {"lines": "{entity: order_line, via: order, fields: [quantity], sortable: true}"},
        "schema-unknown-key", "pages.new_order.blocks[0].form.lines.sortable",
    ),
    "state condition on a read grant": (
        {"scope": "{parent: order, when: \"parent['reference'] == 'x'\"}", "read": True},
        "scope-when-read", "entities.order_line.permissions[1].scope.when",
    ),
    "state condition reading the child": (
        {"scope": "{parent: order, when: \"record['quantity'] > 0\"}"},
        "expression-name", "entities.order_line.permissions[1].scope.when",
    ),
    "message without a condition": (
        {"scope": "{parent: order, message: {en: Closed}}"},
        "scope-message", "entities.order_line.permissions[1].scope.message",
    ),
}  # fmt: skip


def check(checker: Checker, text: str) -> list[tuple[str, str, int, int]]:
    report = checker.check_bundle(Bundle.of({"portal.yaml": text}), {}).report
    return [(p.code, p.path_text, p.line, p.col) for p in report.problems if p.severity == "error"]


def definition(lines: str = GOOD_LINES, scope: str = GOOD_SCOPE, read: bool = False) -> str:
    text = BASE % {"lines": lines, "scope": scope}
    if read:
        text = text.replace("actions: [create, update, delete], scope: {parent: order, when",
                            "actions: [read, create], scope: {parent: order, when")  # fmt: skip
    return text


def test_the_valid_definitions_pass(portalis_checker: Checker) -> None:
    assert check(portalis_checker, definition()) == []
    assert portalis_checker.check_dir(ORDERS).report.ok


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_mistake_is_located(portalis_checker: Checker, case: str) -> None:
    changes, code, path = CASES[case]
    text = definition(**changes)  # type: ignore[arg-type]
    found = check(portalis_checker, text)
    located = [(c, p, line, col) for c, p, line, col in found if (c, p) == (code, path)]
    assert located, found
    _, _, line, col = located[0]
    # the line the mistake is written on
    assert line > 0 and col > 0
    written = text.splitlines()[line - 1]
    key = path.rsplit(".", 1)[-1].split("[")[0]
    assert key in written, (written, path)
