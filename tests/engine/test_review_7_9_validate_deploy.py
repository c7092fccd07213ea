"""`validate` knows what `deploy --seed` knows (7), seeds load in dependency order with one
problem per bad row and correct derived values (8), linter warnings (9).

The definition is a small B2B portal: accounts carry `balance`, a rollup over the invoices'
`open_amount`, which is a stored computed field over `total`, a rollup over the invoice lines'
stored computed `amount` — the chain whose balances came out 0.00 after `deploy --seed`.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.engine.data.errors import ValidationFailed
from portalis.engine.data.tables import TableSet
from portalis.engine.deploy.validator import Checker
from portalis.engine.problems import CODES, DefinitionError, Severity
from portalis.testing.cli import CliResult, invoke
from portalis.testing.portals import BLUEPRINTS, actor_for, deploy_dir

PROBLEM = re.compile(r"^(?P<file>[^:\s]+):(?P<line>\d+):(?P<col>\d+): (?P<rest>.*)$")

PORTAL = """\
format: portalis/v1
portal: b2b
title: B2B
locales: [en]
currency: EUR
roles:
  clerk: {label: Clerk, staff: true}
entities:
  account:
    fields:
      balance: {type: decimal, places: 2, rollup: sum, of: invoice.open_amount, via: account}
      doubled: {type: decimal, places: 2, compute: "record['balance'] * 2"}
  invoice:
    title_field: number
    fields:
      number: {type: string, required: true}
      account: {type: ref, to: account, required: true}
      total: {type: decimal, places: 2, rollup: sum, of: invoice_line.amount, via: invoice}
      paid: {type: decimal, places: 2}
      open_amount: {type: decimal, places: 2, compute: "record['total'] - (record['paid'] or 0)"}
    permissions:
      - {roles: [clerk], actions: [read, create, update, delete], scope: all}
  invoice_line:
    fields:
      invoice: {type: ref, to: invoice, required: true}
      quantity: {type: int, required: true}
      price: {type: decimal, places: 2}
      divisor: {type: int}
      amount: {type: decimal, places: 2, compute: "record['quantity'] * (record['price'] or 0)"}
    rules:
      - check: "record['quantity'] > 0"
        message: A line needs a positive quantity
      - check: "record['divisor'] is None or record['quantity'] / record['divisor'] >= 0"
        message: The quantity must divide
    permissions:
      - {roles: [clerk], actions: [read, create, update, delete], scope: all}
seed: [seed/*.yaml]
"""

#: Lines first: every invoice and account they refer to is in a later file.
LINES = """\
records:
  invoice_line:
    - {key: l1, invoice: i1, quantity: 2, price: "10.00"}
    - {key: l2, invoice: i1, quantity: 1, price: "5.50"}
    - {key: l3, invoice: i2, quantity: 3, price: "1.00"}
"""
INVOICES = """\
users:
  - {email: clara@b2b.test, name: Clara, roles: [clerk], account: acme}
records:
  invoice:
    - {key: i1, number: A-1, account: acme, paid: "5.00"}
    - {key: i2, number: A-2, account: acme}
accounts:
  - {key: acme, name: Acme}
"""

#: One of each mistake, and rows that refer to a bad row (not reported again).
BROKEN = """\
accounts:
  - {key: acme, name: Acme}
records:
  invoice:
    - {key: i1, number: A-1, account: acme}
    - {key: nameless, account: acme}
    - {key: lost, number: A-3, account: nowhere}
  invoice_line:
    - {key: l1, invoice: i1, quantity: many}
    - {key: l2, invoice: i1, quantity: -1}
    - {key: l3, invoice: nameless, quantity: 1}
    - {key: l4, invoice: nameless, quantity: 2}
    - {key: l5, invoice: i1, quantity: 1}
"""


def write(folder: Path, seeds: dict[str, str], portal: str = PORTAL) -> Path:
    (folder / "seed").mkdir(parents=True, exist_ok=True)
    (folder / "portal.yaml").write_text(portal, encoding="utf-8")
    for name, text in seeds.items():
        (folder / "seed" / name).write_text(text, encoding="utf-8")
    return folder


def cli(*args: str, url: str = "sqlite://") -> CliResult:
    """The command in the test process (`tests/engine/test_cli_*.py` run the console script)."""
    return invoke(*args, env={"PORTALIS_DATABASE_URL": url})


def problem_lines(stderr: str) -> list[str]:
    return sorted(line for line in stderr.splitlines() if PROBLEM.match(line))


# -- 7: validate = deploy ------------------------------------------------------------------
def test_review_7_validate_reports_each_seed_mistake_once_like_deploy(
    database_url: str, tmp_path: Path
) -> None:
    folder = write(tmp_path / "b2b", {"broken.yaml": BROKEN})
    checked = cli("validate", str(folder))
    assert checked.returncode == 1, checked.stdout + checked.stderr
    lines = problem_lines(checked.stderr)
    assert all(" seed-invalid " in line for line in lines), lines
    by_line = {int(PROBLEM.match(x)["line"]): x for x in lines}  # type: ignore[index]
    assert sorted(by_line) == [6, 7, 9, 10], lines  # one problem per bad row, none for l3/l4
    assert "needs 'number'" in by_line[6] and "2 row(s) that refer to it" in by_line[6]
    assert "no account with key 'nowhere'" in by_line[7]
    assert "quantity: must be a whole number" in by_line[9]
    assert "A line needs a positive quantity" in by_line[10]
    assert all(x.startswith("seed/broken.yaml:") for x in lines)
    assert "invalid — 4 error(s)" in checked.stdout
    # before: "ok — 0 error(s)"; deploy --seed fails with exactly the same problems
    deployed = cli("deploy", str(folder), "--seed", url=database_url)
    assert deployed.returncode == 1, deployed.stdout + deployed.stderr
    assert problem_lines(deployed.stderr) == lines
    fixed = BROKEN.replace("{key: nameless,", "{key: nameless, number: A-2,")
    fixed = fixed.replace("account: nowhere", "account: acme").replace("many", "3")
    write(folder, {"broken.yaml": fixed.replace("quantity: -1", "quantity: 1")})
    assert cli("validate", str(folder)).returncode == 0
    assert cli("deploy", str(folder), "--seed", url=database_url).returncode == 0


def test_review_7_money_arithmetic_is_a_located_validate_problem(
    portalis_checker: Checker, tmp_path: Path
) -> None:
    portal = PORTAL.replace("price: {type: decimal, places: 2}", "price: {type: money}")
    portal = portal.replace(
        """amount: {type: decimal, places: 2, compute: "record['quantity'] * (record['price'] or 0)"}""",
        """amount: {type: decimal, places: 2, compute: "record['quantity'] * record['price']"}""",
    )
    report = portalis_checker.check_dir(write(tmp_path / "m", {}, portal), env={}).report
    # quantity × price is money now; storing it in a decimal field is the mistake
    assert [p.code for p in report.errors] == ["expression-type"]
    problem = report.errors[0]
    text = (tmp_path / "m" / "portal.yaml").read_text().splitlines()
    assert problem.file == "portal.yaml"
    assert text[problem.line - 1][problem.col - 1 :].startswith("record['quantity'] * record")
    assert "gives a money value, but the field is a decimal field" in problem.message
    assert problem.path == ("entities", "invoice_line", "fields", "amount", "compute")
    assert "expression-type" in CODES


def test_review_7_runtime_expression_failure_names_file_line_and_code(
    db_engine: sa.Engine,
    portalis_checker: Checker,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    portal = deploy_dir(
        db_engine, portalis_checker, write(tmp_path / "b2b", {"a.yaml": LINES, "b.yaml": INVOICES})
    )
    clara = actor_for(db_engine, portal, "clara@b2b.test")
    store = portal.store(db_engine)
    invoice = store.list(clara, "invoice").records[0].id
    line = next(
        i + 1 for i, text in enumerate(PORTAL.splitlines()) if "record['divisor'] is None" in text
    )
    with caplog.at_level(logging.WARNING, logger="portalis.expressions"):
        with pytest.raises(ValidationFailed) as refused:
            store.insert(clara, "invoice_line", {"invoice": invoice, "quantity": 1, "divisor": 0})
    logged = [r.getMessage() for r in caplog.records if r.name == "portalis.expressions"]
    assert any(
        m.startswith(f"portal.yaml:{line}:") and "(expression-failed)" in m for m in logged
    ), logged
    assert "expression-failed" in CODES and "expression-budget" in CODES
    codes = [m.code for messages in refused.value.errors.values() for m in messages]
    assert "expression-failed" in codes


# -- 8: seeds ------------------------------------------------------------------------------
def test_review_8_forward_references_across_seed_files_deploy(
    db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    folder = write(tmp_path / "b2b", {"a_lines.yaml": LINES, "b_invoices.yaml": INVOICES})
    assert portalis_checker.check_dir(folder, env={}).report.problems == []
    portal = deploy_dir(db_engine, portalis_checker, folder)
    clara = actor_for(db_engine, portal, "clara@b2b.test")
    store = portal.store(db_engine)
    invoices = {r.values["number"]: r for r in store.list(clara, "invoice").records}
    lines = store.list(clara, "invoice_line").records
    assert sorted(r.values["invoice"] for r in lines) == sorted(
        [invoices["A-1"].id, invoices["A-1"].id, invoices["A-2"].id]
    )
    assert clara.account is not None  # the user's account was seeded after the user


def _balances(engine: sa.Engine, tables: TableSet) -> tuple[Decimal, Decimal, list[Decimal]]:
    """Straight from the tables (their column types read exact decimals on both databases)."""
    account, invoice = tables["account"], tables["invoice"]
    with engine.connect() as conn:
        balance, doubled = conn.execute(sa.select(account.c.balance, account.c.doubled)).one()
        opened = conn.execute(sa.select(invoice.c.open_amount).order_by(invoice.c.number))
        return balance, doubled, list(opened.scalars())


def test_review_8_rollups_and_stored_computed_fields_right_after_seed_and_repaired(
    db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    folder = write(tmp_path / "b2b", {"a_lines.yaml": LINES, "b_invoices.yaml": INVOICES})
    tables = deploy_dir(db_engine, portalis_checker, folder).tables
    # 2*10.00 + 5.50 - 5.00 paid = 20.50; A-2: 3.00 → balance 23.50 (was 0.00)
    assert _balances(db_engine, tables) == (
        Decimal("23.50"),
        Decimal("47.00"),
        [Decimal("20.50"), Decimal("3.00")],
    )
    with db_engine.begin() as conn:
        conn.execute(sa.text("update p_b2b__account set balance = 0, doubled = 1"))
        conn.execute(sa.text("update p_b2b__invoice set total = 0, open_amount = 7"))
        conn.execute(sa.text("update p_b2b__invoice_line set amount = 99"))
    deploy_dir(db_engine, portalis_checker, folder)  # the same version again, with --seed
    assert _balances(db_engine, tables) == (
        Decimal("23.50"),
        Decimal("47.00"),
        [Decimal("20.50"), Decimal("3.00")],
    )
    with db_engine.connect() as conn:
        amounts = conn.execute(sa.select(tables["invoice_line"].c.amount)).scalars()
        assert sorted(amounts) == [Decimal(3), Decimal("5.5"), Decimal(20)]


def test_review_8_one_bad_row_is_one_problem_not_a_cascade(
    db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    bad = INVOICES.replace("{key: i1, number: A-1, account: acme", "{key: i1, account: acme")
    folder = write(tmp_path / "b2b", {"a_lines.yaml": LINES, "b_invoices.yaml": bad})
    report = portalis_checker.check_dir(folder, env={}).report
    assert [(p.file, p.line) for p in report.errors] == [("seed/b_invoices.yaml", 5)]
    assert "2 row(s) that refer to it were not loaded" in report.errors[0].hint
    with pytest.raises(DefinitionError) as failed:
        deploy_dir(db_engine, portalis_checker, folder)
    assert [p.format() for p in failed.value.problems] == [p.format() for p in report.errors]


# -- 9: linter warnings --------------------------------------------------------------------
LINT = """\
format: portalis/v1
portal: lint
title: Lint
locales: [en]
roles:
  customer: {label: Customer}
  agent: {label: Agent, staff: true}
entities:
  question:
    fields:
      subject: {type: string, required: true}
      account: {type: ref, to: account}
      answer: {type: text}
      asked: {type: date, default: {expr: "today()"}}
      age: {type: int, compute: "(today() - record['asked']).days"}
      age_now: {type: int, compute: "(today() - record['asked']).days", stored: false}
    permissions:
      - {roles: [customer], actions: [read, create], scope: own}
      - {roles: [agent], actions: [read, update], scope: all}
pages:
  ask:
    route: /ask
    roles: [customer]
    blocks:
      - form: {entity: question, fields: [subject]}
"""


def test_review_9_linter_warns_with_location_code_and_hint(
    portalis_checker: Checker, tmp_path: Path
) -> None:
    folder = tmp_path / "lint"
    folder.mkdir()
    (folder / "portal.yaml").write_text(LINT, encoding="utf-8")
    report = portalis_checker.check_dir(folder, env={}).report
    assert report.ok, [p.format() for p in report.errors]
    found = {p.code: p for p in report.warnings}
    assert set(found) == {"grant-fields-unshown", "grant-account-empty", "compute-stale"}
    assert all(p.severity is Severity.WARNING and p.file == "portal.yaml" for p in report.warnings)
    unshown = found["grant-fields-unshown"]
    assert (unshown.line, unshown.col) == (18, 9)
    assert "account, answer, asked" in unshown.message
    assert "fields: {only: [subject]}" in unshown.hint
    empty = found["grant-account-empty"]
    assert (empty.line, empty.col) == (18, 9)
    assert "account may be left empty" in empty.message and "required" in empty.hint
    stale = found["compute-stale"]
    assert stale.line == 15 and "today()" in stale.message and "stored: false" in stale.hint
    for code in found:
        assert code in CODES
    # the fixes silence them
    fixed = (
        LINT.replace("to: account}", "to: account, required: true}")
        .replace("scope: own}", "scope: own, fields: {only: [subject, account]}}")
        .replace("""age: {type: int, compute: "(today() - record['asked']).days"}""", "")
        .replace("fields: [subject]}", "fields: [subject, account]}")
    )
    (folder / "portal.yaml").write_text(fixed, encoding="utf-8")
    report = portalis_checker.check_dir(folder, env={}).report
    assert [p.format() for p in report.problems] == []


def test_review_9_blueprint_has_no_warnings(portalis_checker: Checker) -> None:
    report = portalis_checker.check_dir(BLUEPRINTS / "b2c", env={}).report
    assert [p.format() for p in report.problems] == []
