"""Validation of metrics and `exchange_rates:`: every mistake is a located problem (the
ledger test portal with one edit each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from portalis.engine.definition.bundle import Bundle, read_bundle
from portalis.engine.deploy.validator import Checker
from portalis.engine.problems import Problem
from portalis.testing.portals import installed_checker

LEDGER = Path(__file__).resolve().parents[1] / "runtime" / "data" / "ledger"


@pytest.fixture(scope="module")
def checker() -> Checker:
    return installed_checker()


def problems(checker: Checker, old: str, new: str) -> tuple[list[Problem], int]:
    """The problems of the ledger with the first `old` in portal.yaml replaced by `new`, and
    the line `new` starts on."""
    bundle, _ = read_bundle(LEDGER)
    files = dict(bundle.files)
    text = files["portal.yaml"]
    assert old in text, old
    files["portal.yaml"] = text.replace(old, new, 1)
    line = text[: text.index(old)].count("\n") + 1
    return list(checker.check_bundle(Bundle.of(files), {}).report.problems), line


def test_the_ledger_is_valid(checker: Checker) -> None:
    assert problems(checker, "portal: ledger-test", "portal: ledger-test")[0] == []


M0 = "pages.dashboard.blocks[0].metrics"


@pytest.mark.parametrize(
    ("old", "new", "code", "path", "hint"),
    [
        (
            "where: {status: issued}",
            "where: {statos: issued}",
            "ref-unknown-field",
            f"{M0}[0].where.statos",
            "status",
        ),
        (
            "where: {status: issued}",
            "where: {status: sent}",
            "block-option",
            f"{M0}[0].where.status",
            "no record",
        ),
        (
            "where: {status: issued}",
            "where: {number: E-1}",
            "field-capability",
            f"{M0}[0].where.number",
            "status",
        ),
        (
            "aggregate: avg, field: amount",
            "aggregate: avg, field: issue_date",
            "block-option",
            f"{M0}[2].field",
            "avg takes int, decimal, money",
        ),
        (
            "aggregate: min, field: issue_date",
            "aggregate: min, field: number",
            "block-option",
            f"{M0}[4].field",
            "date, datetime",
        ),
        (
            "aggregate: avg, field: amount}",
            "aggregate: avg}",
            "block-option",
            f"{M0}[2]",
            "field",
        ),
        (
            "group_by: {field: issue_date, by: month}\n            chart: bar",
            "group_by: {field: status, by: month}\n            chart: bar",
            "block-option",
            f"{M0}[5].group_by.field",
            "group_by: status",
        ),
        (
            "entity: invoice\n            group_by: status",
            "entity: invoice\n            currency: EUR\n            group_by: status",
            "block-option",
            f"{M0}[7].currency",
            "remove currency:",
        ),
        (
            "exchange_rates: {entity: fx_rate, currency: code, rate: rate, date: valid_from}",
            "",
            "metric-currency",
            f"{M0}[1].currency",
            "exchange_rates:",
        ),
        (
            "rate: rate, date",
            "rate: code, date",
            "exchange-rates-field",
            "exchange_rates.rate",
            "rate",
        ),
        (
            "date: valid_from}",
            "date: valid_form}",
            "ref-unknown-field",
            "exchange_rates.date",
            "valid_from",
        ),
        (
            "{entity: fx_rate,",
            "{entity: fx_rates,",
            "ref-unknown-entity",
            "exchange_rates.entity",
            "fx_rate",
        ),
    ],
)
def test_metric_mistakes_are_located(
    checker: Checker, old: str, new: str, code: str, path: str, hint: str
) -> None:
    found, line = problems(checker, old, new)
    matching = [p for p in found if p.code == code and p.path_text == path]
    listing = "\n".join(p.format() for p in found)
    assert matching, listing
    problem = matching[0]
    assert problem.file == "portal.yaml" and problem.col >= 1
    if new:  # the problem points into the edited lines (a removed line has none)
        assert line <= problem.line <= line + new.count("\n"), listing
    else:
        assert problem.line > 1
    assert hint in problem.hint or hint in problem.message, listing


def test_unknown_time_bucket_is_a_schema_problem(checker: Checker) -> None:
    found, line = problems(
        checker, "by: month}\n            chart: bar", "by: fortnight}\n            chart: bar"
    )
    assert any(p.line == line and "group_by" in p.path_text for p in found), [
        p.format() for p in found
    ]
