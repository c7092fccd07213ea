"""Field values on the write path: linear-time patterns, rule failures, currencies, ids.

A copy of the b2c portal with a `reading` entity whose string pattern backtracks
catastrophically in Python's `re`, whose rule fails on a missing value, and whose money field
accepts EUR and USD only; customers create, read and delete their own readings through the
API and a form (SQLite and PostgreSQL).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from test_api_support import API, CSRF, Harness, assert_problem, serve

from portalis.engine.data.db import create_engine
from portalis.engine.data.tables import build_tables
from portalis.engine.definition.bundle import Bundle, read_bundle
from portalis.engine.deploy.migrations import plan, plan_and_apply
from portalis.engine.deploy.validator import Checker
from portalis.testing.portals import BLUEPRINTS, b2c_with

#: Python's `re` takes seconds on 40 characters of this and years on 200.
BACKTRACKING = "a*a*a*a*a*a*a*a*b"

READING = f"""\
entities:
  reading:
    label: Reading
    title_field: code
    fields:
      code: {{type: string, max_length: 10000, pattern: "{BACKTRACKING}"}}
      reading: {{type: decimal, places: 2}}
      price: {{type: money}}
    rules:
      - {{check: "record['reading'] >= 0", message: A reading is never negative}}
    permissions:
      - {{roles: [customer], actions: [read, create, delete], scope: own}}

pages:
  new_reading:
    route: /readings/new
    roles: [customer]
    blocks:
      - form: {{entity: reading, fields: [code, reading, price]}}
"""


def with_readings(tmp_path: Path, extra: str = READING) -> Path:
    return b2c_with(tmp_path / "b2c-readings", files={"entities/reading.yaml": extra})


@pytest.fixture
def web(database_url: str, tmp_path: Path, portalis_checker: Checker) -> Iterator[Harness]:
    with serve(database_url, tmp_path, portalis_checker, with_readings(tmp_path)) as harness:
        yield harness


@pytest.fixture
def two_currencies(
    database_url: str, tmp_path: Path, portalis_checker: Checker
) -> Iterator[Harness]:
    """The readings portal with prices in EUR or USD only."""
    definition = READING.replace("{type: money}", "{type: money, currencies: [EUR, USD]}")
    with serve(
        database_url, tmp_path, portalis_checker, with_readings(tmp_path, definition)
    ) as harness:
        yield harness


def post_reading(web: Harness, body: dict[str, Any]) -> Any:
    return web.client("ben@acme.test").post(f"{API}/reading", json=body, headers=CSRF)


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


# -- item 4: patterns ------------------------------------------------------------------------
def test_review_4_pattern_matched_in_linear_time(web: Harness) -> None:
    # The 46 characters took 3.4 s (13 s on a slow machine) with Python's re; RE2
    # takes microseconds. The bounds are generous: they only catch backtracking.
    response, seconds = timed(lambda: post_reading(web, {"code": "a" * 46, "reading": "1"}))
    body = assert_problem(response, 422, "invalid")
    assert [e["code"] for e in body["errors"]["code"]] == ["pattern"]
    assert seconds < 2
    response, seconds = timed(lambda: post_reading(web, {"code": "a" * 10_000, "reading": "1"}))
    assert_problem(response, 422, "invalid")
    assert seconds < 5
    response = post_reading(web, {"code": "a" * 9_999 + "b", "reading": "1"})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert web.count("reading") == 1
    # the form runs the same clean
    form = {"csrf_token": CSRF["X-CSRF-Token"], "_block": "0", "code": "a" * 46, "reading": "1"}
    page, seconds = timed(
        lambda: web.client("ben@acme.test").post("/acme-support/readings/new", data=form)
    )
    assert page.status_code == 422 and seconds < 2
    assert web.count("reading") == 1


def test_review_4_unsupported_pattern_is_a_problem(
    tmp_path: Path, portalis_checker: Checker
) -> None:
    lookbehind = READING.replace(BACKTRACKING, "(?<![0-9])[a-z]+")
    bundle, _ = read_bundle(with_readings(tmp_path, lookbehind))
    report = portalis_checker.check_bundle(bundle, {}).report
    (problem,) = [p for p in report.problems if p.code == "pattern-unsupported"]
    assert (problem.file, problem.line, problem.col) == ("entities/reading.yaml", 6, 56)
    assert problem.path_text == "entities.reading.fields.code.pattern"
    assert "lookbehind" in problem.message and "lookaround" in problem.hint
    assert problem.format().startswith("entities/reading.yaml:6:56: pattern-unsupported ")
    assert not report.ok


# -- item 5: errors without Python text, currencies, ids ----------------------------------
@pytest.mark.parametrize("value", ["1e30", 1e30, "lots", "-"])
def test_review_5_rules_skip_fields_that_failed_to_clean(web: Harness, value: Any) -> None:
    body = assert_problem(post_reading(web, {"code": "ab", "reading": value}), 422, "invalid")
    assert set(body["errors"]) == {"reading"}  # no rule error about a value nobody entered
    text = str(body)
    assert "TypeError" not in text and "not supported" not in text
    assert web.count("reading") == 0


def test_review_5_failed_rule_is_a_generic_message(
    web: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    # no reading: the rule `record['reading'] >= 0` compares None with 0 and fails
    body = assert_problem(post_reading(web, {"code": "ab"}), 422, "invalid")
    assert body["errors"] == {
        "__all__": [{"code": "expression-failed", "message": "a rule could not be checked"}]
    }
    assert (
        "TypeError" in caplog.text and "record['reading'] >= 0" in caplog.text
    )  # for the maintainer
    form = {"csrf_token": CSRF["X-CSRF-Token"], "_block": "0", "code": "ab", "reading": ""}
    ben = web.client("ben@acme.test")
    for locale, expected in (("en", "a rule could not be checked"), ("de", "konnte nicht")):
        page = ben.post(f"/acme-support/readings/new?lang={locale}", data=form)
        assert page.status_code == 422
        assert "TypeError" not in page.text and "not supported" not in page.text
        assert expected in page.text, locale
    form["reading"] = "1e30"
    page = ben.post("/acme-support/readings/new", data=form)
    assert page.status_code == 422 and "TypeError" not in page.text
    assert web.count("reading") == 0


def test_review_5_money_in_a_currency_the_field_does_not_allow(two_currencies: Harness) -> None:
    web = two_currencies
    refused = post_reading(
        web, {"code": "ab", "reading": "1", "price": {"amount": "5", "currency": "GBP"}}
    )
    body = assert_problem(refused, 422, "invalid")
    (error,) = body["errors"]["price"]
    assert error["code"] == "currency" and error["message"] == (
        "GBP is not accepted here; use EUR, USD"
    )
    ticket = web.client("ben@acme.test").post(
        f"{API}/ticket", json={"subject": "Refund", "amount": "12.00 USD"}, headers=CSRF
    )
    assert_problem(ticket, 422, "invalid")  # b2c's amount is in the portal currency only
    assert post_reading(web, {"code": "ab", "reading": "1", "price": "5 USD"}).status_code == 201
    assert post_reading(web, {"code": "ab", "reading": "1", "price": "5"}).status_code == 201
    created = [web.row("reading", i) for i in range(1, 4)]
    assert sorted(r["price_currency"] for r in created if r) == ["EUR", "USD"]
    document = web.client("ben@acme.test").get(f"{API}/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    # what a request may send (responses carry any stored currency, so they state no enum)
    price = schemas["reading.create"]["properties"]["price"]
    money = (
        price
        if "properties" in price
        else next(p for p in price.get("anyOf", []) if "properties" in p)
    )
    assert money["properties"]["currency"]["enum"] == ["EUR", "USD"]


def test_review_5_deleted_id_is_never_reused(web: Harness) -> None:
    ben = web.client("ben@acme.test")
    first = post_reading(web, {"code": "ab", "reading": "1"}).get_json()["id"]
    assert ben.delete(f"{API}/reading/{first}", headers=CSRF).status_code == 204
    second = post_reading(web, {"code": "ab", "reading": "2"}).get_json()["id"]
    assert second > first


def test_review_5_old_sqlite_tables_plan_quietly(
    sqlite_url: str, portalis_checker: Checker
) -> None:
    """Tables created before AUTOINCREMENT: `plan` reports no change for them (SQLite cannot
    add it in place); a migration that rebuilds a table adds it then."""
    bundle, _ = read_bundle(BLUEPRINTS / "b2c")
    model = portalis_checker.check_bundle(bundle, {}).model
    assert model is not None
    tables = build_tables(model)
    engine = create_engine(sqlite_url)
    try:
        metadata = tables["ticket"].metadata
        for table in metadata.tables.values():
            table.dialect_options["sqlite"]["autoincrement"] = False  # the old layout
        metadata.create_all(engine)
        for table in metadata.tables.values():
            table.dialect_options["sqlite"]["autoincrement"] = True
        with engine.connect() as conn:
            ddl = conn.execute(
                sa.text("SELECT sql FROM sqlite_master WHERE name = :n"),
                {"n": tables["ticket"].name},
            ).scalar_one()
        assert "AUTOINCREMENT" not in ddl
        assert not plan(engine, tables).ops
        # a longer subject rebuilds the ticket table on SQLite: with AUTOINCREMENT this time
        files = dict(bundle.files)
        files["entities/ticket.yaml"] = files["entities/ticket.yaml"].replace(
            "max_length: 200", "max_length: 300", 1
        )
        wider = portalis_checker.check_bundle(Bundle.of(files), {}).model
        assert wider is not None
        plan_and_apply(engine, build_tables(wider))
        with engine.connect() as conn:
            ddl = conn.execute(
                sa.text("SELECT sql FROM sqlite_master WHERE name = :n"),
                {"n": tables["ticket"].name},
            ).scalar_one()
        assert "AUTOINCREMENT" in ddl and "VARCHAR(300)" in ddl
    finally:
        engine.dispose()
