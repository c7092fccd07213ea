"""Validation of live fields (`stored: sql`): an expression without an exact SQL form is a
`compute-not-sql` problem at the offending construct (file:line:col), uses the database cannot
serve are `virtual-not-queryable`, and a grant that hides what the expression reads is
`computed-reads-hidden` (the database computes it from the whole row)."""

from __future__ import annotations

import pytest

from portalis.engine.definition.bundle import Bundle
from portalis.engine.deploy.validator import Checker
from portalis.engine.problems import Problem
from portalis.testing.portals import installed_checker

CHECKER: Checker = installed_checker()

HEAD = """\
format: portalis/v1
portal: bad
title: Bad
locales: [en]
roles:
  clerk: {label: Clerk}
entities:
  customer:
    fields:
      name: {type: string}
    permissions:
      - {roles: [clerk], actions: [read], scope: all}
  invoice:
    fields:
      number: {type: string}
      customer: {type: ref, to: customer}
      amount: {type: money}
      due: {type: date}
      net: {type: decimal, places: 2}
"""
GRANT = """\
    permissions:
      - {roles: [clerk], actions: [read], scope: all}
"""


def problems(fields: str, tail: str = GRANT) -> list[Problem]:
    text = HEAD + fields + tail
    report = CHECKER.check_bundle(Bundle.of({"portal.yaml": text})).report
    return [p for p in report.problems if p.severity.value == "error"]


def position(fields: str, fragment: str) -> tuple[int, int]:
    """(line, column) of `fragment` in the portal text, both from 1."""
    for number, line in enumerate((HEAD + fields).splitlines(), start=1):
        if fragment in line:
            return number, line.index(fragment) + 1
    raise AssertionError(fragment)


@pytest.mark.parametrize(
    ("field", "at", "says"),
    [
        ("x: {type: int, compute: \"len(record['number'])\", stored: sql}", "len(", "len()"),
        (
            "x: {type: bool, compute: \"record['amount'] > 0\", stored: sql}",
            "record['amount']",
            "money",
        ),
        (
            "x: {type: decimal, compute: \"record['net'] / 2\", stored: sql}",
            "record['net'] /",
            "operator /",
        ),
        (
            "x: {type: bool, compute: \"record['number']\", stored: sql}",
            "record['number']",
            "gives text",
        ),
        (
            'x: {type: decimal, compute: "record.net * record.net", stored: sql}',
            "record.net *",
            "4 decimal places",
        ),
        (
            'x: {type: bool, compute: "[y for y in (1, 2)] == [1]", stored: sql}',
            "[y for",
            "comprehension",
        ),
        (
            "x: {type: int, compute: \"days_since(record['number'])\", stored: sql}",
            "days_since",
            "date or datetime",
        ),
        (
            "x: {type: bool, compute: \"record['due'] > '2026-01-01'\", stored: sql}",
            "record['due'] >",
            "cannot compare a date with text",
        ),
        (
            "x: {type: bool, compute: \"record['due'] == None\", stored: sql}",
            "record['due'] ==",
            "is None",
        ),
        (
            "x: {type: bool, compute: \"record['net'] and True\", stored: sql}",
            "record['net'] and",
            "not a truth value",
        ),
    ],
)
def test_expressions_without_an_sql_form(field: str, at: str, says: str) -> None:
    fields = f"      {field}\n"
    (problem,) = [p for p in problems(fields) if p.code == "compute-not-sql"]
    assert says in problem.message and problem.hint
    assert (problem.file, problem.line, problem.col) == ("portal.yaml", *position(fields, at))
    assert problem.path == ("entities", "invoice", "fields", "x", "compute")


def test_live_fields_may_be_filtered_sorted_and_measured_only() -> None:
    fields = """\
      late: {type: bool, compute: "record['due'] < today()", stored: sql, indexed: true}
      tag: {type: string, compute: "'late' if record.late else 'ok'", stored: sql}
"""
    pages = """\
    search: [number, tag]
    permissions:
      - {roles: [clerk], actions: [read], scope: all}
pages:
  invoices:
    route: /invoices
    roles: [clerk]
    blocks:
      - list: {entity: invoice, columns: [number, late], filters: [late], sort: -late}
      - metrics:
          - {label: Late, entity: invoice, where: {late: true}, group_by: late}
"""
    found = {(p.code, ".".join(map(str, p.path))) for p in problems(fields, pages)}
    assert found == {
        ("virtual-not-queryable", "entities.invoice.fields.late.indexed"),
        ("virtual-not-queryable", "entities.invoice.search.1"),
    }


def test_a_grant_that_hides_what_a_live_field_reads_is_an_error() -> None:
    fields = """\
      late: {type: bool, compute: "record['due'] < today()", stored: sql}
"""
    hiding = """\
    permissions:
      - {roles: [clerk], actions: [read], scope: all, fields: {except: [due]}}
"""
    (problem,) = problems(fields, hiding)
    assert problem.code == "computed-reads-hidden" and "the database computes" in problem.message
    hidden_too = hiding.replace("except: [due]", "except: [due, late]")
    assert problems(fields, hidden_too) == []


def test_a_live_field_of_a_referenced_record_cannot_be_read() -> None:
    head = HEAD.replace(
        "      name: {type: string}\n",
        "      name: {type: string}\n"
        "      short: {type: bool, compute: \"record.name == 'x'\", stored: sql}\n",
        1,
    )
    fields = """\
      odd: {type: bool, compute: "record.customer.short", stored: sql}
      shown: {type: bool, compute: "record.customer.short", stored: false}
"""
    text = head + fields + GRANT
    report = CHECKER.check_bundle(Bundle.of({"portal.yaml": text})).report
    found = {(p.code, p.path[3]) for p in report.problems if p.severity.value == "error"}
    assert found == {("expression-related", "odd"), ("expression-related", "shown")}


def test_a_valid_live_field_reads_earlier_live_fields() -> None:
    fields = """\
      late: {type: bool, compute: "record['due'] is not None and record['due'] < today()", stored: sql}
      label: {type: string, compute: "'late' if record.late else 'ok'", stored: sql}
      who: {type: string, compute: "record.customer.name", stored: sql}
      owed: {type: decimal, places: 3, compute: "-record.net * 2 + 0.125 if record.late else 0", stored: sql}
"""
    assert problems(fields) == []
    wrong_order = fields.replace("record.late", "record.later").replace(
        "      late:", "      later:"
    )
    assert problems(wrong_order) == []
    reversed_fields = "\n".join(reversed(fields.splitlines())) + "\n"
    (problem, *_) = problems(reversed_fields)
    assert problem.code == "compute-not-sql" and "computed when read" in problem.message
