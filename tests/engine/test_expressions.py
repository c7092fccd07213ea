"""Expressions: compile once, evaluate many; the allow-list, names, functions and failures."""

from __future__ import annotations

import builtins
import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from types import CodeType
from typing import Any, ClassVar

import pytest
from RestrictedPython import compile as restricted_compile

from portalis.engine.expr import expressions
from portalis.engine.expr.expressions import (
    BUILTIN_FUNCTIONS,
    EvaluationError,
    Expression,
    ExpressionError,
    compile_expression,
)


@dataclass(frozen=True)
class Actor:
    """What the engine's actor looks like to expressions: four exposed attributes."""

    __portalis_expose__: ClassVar[frozenset[str]] = frozenset({"id", "account", "roles", "email"})

    id: int
    account: int | None
    roles: frozenset[str]
    email: str
    password_hash: str = "argon2$secret"


ANNA = Actor(id=7, account=1, roles=frozenset({"customer"}), email="anna@acme.test")


def evaluate(source: str, **kwargs: Any) -> Any:
    return compile_expression(source).evaluate(**kwargs)


# -- the DESIGN examples ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "record", "expected"),
    [
        ("record['status'] in ('resolved', 'closed')", {"status": "resolved"}, True),
        ("record['status'] in ('resolved', 'closed')", {"status": "open"}, False),
        ("record['due'] is None or record['due'] >= today()", {"due": None}, True),
        ("record['due'] is None or record['due'] >= today()", {"due": dt.date(2000, 1, 1)}, False),
        ("record['due'] is None or record['due'] >= today()", {"due": dt.date(2999, 1, 1)}, True),
        ("len(record['tags'] or []) <= 5", {"tags": None}, True),
        ("len(record['tags'] or []) <= 5", {"tags": list("abcdef")}, False),
        (
            "sum([l['amount'] for l in record['lines']])",
            {"lines": [{"amount": Decimal("1.50")}, {"amount": Decimal("2.25")}]},
            Decimal("3.75"),
        ),
        ("sum([l['amount'] for l in record['lines']])", {"lines": []}, 0),
    ],
)
def test_design_examples(source: str, record: dict[str, Any], expected: Any) -> None:
    assert compile_expression(source).evaluate(record=record) == expected


def test_design_example_days_since() -> None:
    expression = compile_expression("days_since(record['updated_at']) <= 14")
    recent = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    assert expression.test(record={"updated_at": recent}) is True
    assert expression.test(record={"updated_at": recent - dt.timedelta(days=20)}) is False


def test_design_example_actor_account() -> None:
    expression = compile_expression(
        "record['amount'] >= 10000 and actor.account == record['account']"
    )
    assert expression.test(record={"amount": 12000, "account": 1}, actor=ANNA) is True
    assert expression.test(record={"amount": 12000, "account": 2}, actor=ANNA) is False
    assert expression.test(record={"amount": 10, "account": 1}, actor=ANNA) is False


def test_exposed_attributes_only() -> None:
    assert evaluate("'customer' in actor.roles and actor.email.endswith('.test')", actor=ANNA)
    with pytest.raises(EvaluationError) as failure:
        evaluate("actor.password_hash", actor=ANNA)
    assert failure.value.code == "expression-failed"
    assert "password_hash" in str(failure.value)


def test_safe_attributes_of_standard_types() -> None:
    day = dt.date(2026, 3, 4)
    assert evaluate("record['d'].year * 100 + record['d'].month", record={"d": day}) == 202603
    assert evaluate("record['s'].strip().lower()", record={"s": "  MiXed "}) == "mixed"
    assert evaluate("record.get('missing', 5)", record={}) == 5
    for source in ("record['d'].weekday()", "record['s'].split()", "record.keys()"):
        with pytest.raises(EvaluationError):
            evaluate(source, record={"d": day, "s": "a b"})


# -- names and record keys ---------------------------------------------------------------------


def test_names_and_record_keys() -> None:
    expression = compile_expression(
        "record['a'] + record.get('b', 0) > len([t for t in record['tags'] if t != actor.email])"
    )
    assert expression.record_keys == {"a", "b", "tags"}
    assert expression.names == {"record", "actor", "len"}


def test_comprehension_variables_are_not_free_names() -> None:
    expression = compile_expression("[record['x'] for record in [{'x': 1}]]")
    assert expression.names == frozenset()
    assert expression.record_keys == frozenset()
    assert expression.evaluate() == [1]


def test_names_unpacking_and_nested_comprehensions() -> None:
    expression = compile_expression(
        "{k: v * 2 for k, v in [('a', 1), ('b', 2)] if v > 0}"
        " == {'a': 2, 'b': 4} and [y for x in [[1], [2]] for y in x] == [1, 2]"
    )
    assert expression.names == frozenset()
    assert expression.evaluate() is True
    nested = compile_expression("[a + b + c for a, (b, c) in record['rows']]")
    assert nested.evaluate(record={"rows": [(1, (2, 3)), (4, (5, 6))]}) == [6, 15]


def test_non_constant_keys_are_not_record_keys() -> None:
    expression = compile_expression("record[actor.email] if record else record['fallback']")
    assert expression.record_keys == {"fallback"}


def test_declared_names() -> None:
    expression = compile_expression("limit - record['n']", names=("record", "limit"))
    assert expression.names == {"limit", "record"}
    assert expression.evaluate(record={"n": 3}, limit=10) == 7
    # Undeclared values are ignored, missing declared ones are None.
    assert compile_expression("limit is None", names=("limit",)).evaluate(other=1) is True
    with pytest.raises(ExpressionError) as failure:
        compile_expression("actor", names=("record",))
    assert failure.value.code == "expression-name"


# -- forbidden constructs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "code", "col"),
    [
        ("lambda: 1", "expression-forbidden", 1),
        ("record['a'] or (y := 1)", "expression-forbidden", 17),
        ("f'{record}'", "expression-forbidden", 1),
        ("record.__class__", "expression-forbidden", 1),
        ("len(record)._x", "expression-forbidden", 1),
        ("_x", "expression-forbidden", 1),
        ("  _x", "expression-forbidden", 3),
        ("len(*record)", "expression-forbidden", 5),
        ("len(**record)", "expression-forbidden", 5),
        ("{**record}", "expression-forbidden", 4),
        ("b'bytes'", "expression-forbidden", 1),
        ("1j", "expression-forbidden", 1),
        ("...", "expression-forbidden", 1),
        ("record['a'] @ 2", "expression-forbidden", 1),
        ("1 << 2", "expression-forbidden", 1),
        ("1 | 2", "expression-forbidden", 1),
        ("~1", "expression-forbidden", 1),
        ("[x async for x in record]", "expression-forbidden", 1),
        ("await record", "expression-forbidden", 1),
        ("(yield)", "expression-forbidden", 2),
        ("record()", "expression-forbidden", 1),
        ("record['f']()", "expression-forbidden", 1),
        ("[len(x) for len in record]", "expression-forbidden", 2),
        ("max(record, key=len)", "expression-forbidden", 17),
        ("[1 for x.y in record]", "expression-forbidden", 8),
        ("[1 for _ in record]", "expression-forbidden", 8),
        ("len(_x=1)", "expression-forbidden", 5),
        ("__import__('os')", "expression-forbidden", 1),
        ("(x for x in record).gi_frame", "expression-forbidden", 1),
        ("'{0}'.format(1)", "expression-forbidden", 1),
        ("recrd['a']", "expression-name", 1),
        ("len(recrod)", "expression-name", 5),
        ("open('/etc/passwd')", "expression-name", 1),
        ("record[", "expression-syntax", 7),
        ("a b", "expression-syntax", 3),
        ("x = 1", "expression-syntax", 3),
        ("", "expression-syntax", 0),
        ("x" * 2001, "expression-too-large", 0),
        ("-" * 40 + "1", "expression-too-large", 31),
        ("(" * 500 + "1" + ")" * 500, "expression-too-large", 201),
        ("1" * 1300, "expression-too-large", 1),
    ],
)
def test_refused(source: str, code: str, col: int) -> None:
    with pytest.raises(ExpressionError) as failure:
        compile_expression(source)
    assert failure.value.code == code
    assert failure.value.col == col
    assert str(failure.value)


def test_refusal_hints() -> None:
    with pytest.raises(ExpressionError) as failure:
        compile_expression("len(recrod)")
    assert "did you mean 'record'" in failure.value.hint
    with pytest.raises(ExpressionError) as failure:
        compile_expression("record['a'] and\nrecord['b']")
    assert failure.value.code == "expression-syntax"
    assert "parentheses" in failure.value.hint
    assert compile_expression("(record['a'] and\n record['b'])").evaluate(record={"a": 1, "b": 2})


def test_too_many_nodes() -> None:
    source = "[" + ", ".join(["1"] * 300) + "]"
    with pytest.raises(ExpressionError) as failure:
        compile_expression(source)
    assert failure.value.code == "expression-too-large"
    assert compile_expression("[" + ", ".join(["1"] * 250) + "]").evaluate() == [1] * 250


def test_column_counts_characters_not_bytes() -> None:
    with pytest.raises(ExpressionError) as failure:
        compile_expression("'ÄÖÜ' + _x")
    assert failure.value.col == 9


# -- functions ---------------------------------------------------------------------------------


def test_builtin_functions() -> None:
    assert set(BUILTIN_FUNCTIONS) == {
        "today", "now", "days_since", "hours_until", "len", "sum", "min", "max", "round", "abs",
        "int", "str",
    }  # fmt: skip
    assert isinstance(evaluate("today()"), dt.date)
    assert evaluate("now()").tzinfo is not None
    assert evaluate("[min(3, 1, 2), max([1, 5]), round(2.567, 2), abs(-3), int('42'), str(7)]") == [
        1,
        5,
        2.57,
        3,
        42,
        "7",
    ]
    assert evaluate("max([], default=0) + min([4, 2], default=0)") == 2
    for source in ("sum(['a', 'b'], '')", "sum([[1], [2]], [])", "round(1, -10**9)"):
        with pytest.raises(EvaluationError):
            evaluate(source)


def test_hours_until() -> None:
    hours_until = BUILTIN_FUNCTIONS["hours_until"]
    now = dt.datetime.now(dt.UTC)
    assert hours_until(None) is None
    assert 47.9 < hours_until(now + dt.timedelta(hours=48)) <= 48
    assert -3.1 < hours_until((now - dt.timedelta(hours=3)).isoformat()) <= -2.9
    naive = (now + dt.timedelta(hours=5)).replace(tzinfo=None)
    assert 4.9 < hours_until(naive) <= 5  # naive datetimes are UTC
    tomorrow = now.date() + dt.timedelta(days=1)
    midnight = dt.datetime.combine(tomorrow, dt.time(0), tzinfo=dt.UTC)
    assert abs(hours_until(tomorrow) - (midnight - now).total_seconds() / 3600) < 0.01
    assert (
        evaluate("hours_until(record['starts']) >= 24", record={"starts": now.isoformat()}) is False
    )
    with pytest.raises(EvaluationError):
        evaluate("hours_until(3)")


def test_days_since() -> None:
    days_since = BUILTIN_FUNCTIONS["days_since"]
    today = dt.datetime.now(dt.UTC).date()
    assert days_since(None) is None
    assert days_since(today - dt.timedelta(days=10)) == 10
    assert days_since((today - dt.timedelta(days=2)).isoformat()) == 2
    assert days_since(dt.datetime.now(dt.UTC) - dt.timedelta(days=3, hours=1)) == 3
    naive = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=1, minutes=5)
    assert days_since(naive) == 1
    assert days_since("2020-01-01T00:00:00Z") > 1000
    assert days_since(today + dt.timedelta(days=5)) == -5
    with pytest.raises(EvaluationError):
        evaluate("days_since(record['x']) <= 14", record={"x": None})
    with pytest.raises(EvaluationError):
        evaluate("days_since('yesterday')")


def test_plugin_functions() -> None:
    functions: dict[str, Callable[..., Any]] = {
        "double": lambda n: n * 2,
        "today": lambda: dt.date(2000, 1, 2),
    }
    expression = compile_expression("double(record['n']) + today().day", functions=functions)
    assert expression.names == {"double", "record", "today"}
    assert expression.evaluate(record={"n": 4}) == 10
    with pytest.raises(ExpressionError) as failure:
        compile_expression("double(1)")
    assert failure.value.code == "expression-name"


@pytest.mark.parametrize(
    "functions",
    [
        {"getattr": getattr},
        {"run": builtins.eval},
        {"imp": builtins.__import__},
        {"os": os},
        {"value": 42},
        {"_hidden": len},
        {"not an identifier": len},
        {"record": len},
    ],
)
def test_unsafe_or_malformed_functions_are_rejected(functions: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        compile_expression("1", functions=functions)


# -- evaluation --------------------------------------------------------------------------------


def test_test_coerces_to_bool() -> None:
    expression = compile_expression("record['tags']")
    assert expression.test(record={"tags": []}) is False
    assert expression.test(record={"tags": ["x"]}) is True
    assert compile_expression("record['n'] and record['n'] > 3").test(record={"n": None}) is False
    with pytest.raises(EvaluationError):
        compile_expression("record['missing']").test(record={})


@pytest.mark.parametrize(
    ("source", "record"),
    [
        ("record['missing']", {}),
        ("1 / record['n']", {"n": 0}),
        ("record['n'] + 1", {"n": None}),
        ("record['n'][0]", {"n": 5}),
        ("int('x')", {}),
        ("'%s' % record['n']", {"n": 1}),
        ("[1] * [2]", {}),
        ("record['n'].year", {"n": 2026}),
    ],
)
def test_any_failure_is_an_evaluation_error(source: str, record: dict[str, Any]) -> None:
    with pytest.raises(EvaluationError) as failure:
        compile_expression(source).evaluate(record=record)
    error = failure.value
    assert error.code == "expression-failed"
    assert error.source == source
    assert error.__cause__ is None and error.__context__ is None


def test_arithmetic_and_sequences() -> None:
    assert evaluate(
        "[2 ** 10, 7 // 2, 7 % 3, -record['n'], +1, 'a' + 'b', [1] * 3, 3 * 'ab', 1.5 / 2]",
        record={"n": 4},
    ) == [1024, 3, 1, -4, 1, "ab", [1, 1, 1], "ababab", 0.75]
    assert evaluate("record['s'][1:3] + record['s'][-1]", record={"s": "portal"}) == "orl"
    assert evaluate("{1, 2} - {2}") == {1}
    assert evaluate("now() - now() <= now() - now() + (now() - now())") in (True, False)
    assert evaluate("(today() - record['d']).days", record={"d": dt.date(2000, 1, 1)}) > 0


def test_generator_results_are_lists() -> None:
    assert evaluate("(x * 2 for x in record['n'])", record={"n": [1, 2]}) == [2, 4]
    assert evaluate("sum(x for x in record['n'])", record={"n": [1, 2]}) == 3


def test_compiled_once_evaluated_many(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = restricted_compile.compile_restricted_eval

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append("compile")
        return real(*args, **kwargs)

    monkeypatch.setattr(expressions, "compile_restricted_eval", counting)
    expression = compile_expression("record['n'] > 2 and len([x for x in record['l']]) == 2")
    assert calls == ["compile"]
    assert isinstance(expression._code, CodeType)

    def no_compile(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("evaluate() must not compile")

    monkeypatch.setattr(expressions, "compile_restricted_eval", no_compile)
    monkeypatch.setattr(builtins, "compile", no_compile)
    for n in range(200):
        assert expression.evaluate(record={"n": n, "l": [1, 2]}) is (n > 2)
    assert calls == ["compile"]


def test_expression_value_semantics() -> None:
    first, second = compile_expression("record['a']"), compile_expression("record['a']")
    assert isinstance(first, Expression)
    assert first == second and hash(first) == hash(second)
    assert "record['a']" in repr(first) and "_code" not in repr(first)


def test_budgets_are_per_evaluation() -> None:
    expression = compile_expression("len([x for x in record['items']])")
    items = list(range(6000))
    # Two evaluations of 6,000 steps each: fine, because nothing carries over between them.
    assert expression.evaluate(record={"items": items}) == 6000
    assert expression.evaluate(record={"items": items}) == 6000
    with pytest.raises(EvaluationError) as failure:
        expression.evaluate(record={"items": list(range(20_000))})
    assert failure.value.code == "expression-budget"


def test_failing_evaluation_logs_a_line(caplog: pytest.LogCaptureFixture) -> None:
    expr = compile_expression("record['amount'] / record['count'] > 1")
    with caplog.at_level("WARNING", logger="portalis.expressions"):
        with pytest.raises(EvaluationError):
            expr.evaluate(record={"amount": 1, "count": 0})
    assert any("record['amount'] / record['count']" in r.getMessage() for r in caplog.records)


def test_parent_and_before_fields_read_as_attributes() -> None:
    # a parent-state grant's `parent.status`, an automation's `before.status`
    draft = compile_expression("parent.status == 'draft'", names=("parent", "actor"))
    assert draft.evaluate(parent={"status": "draft"}, actor=None) is True
    assert draft.evaluate(parent={"status": "submitted"}, actor=None) is False
    changed = compile_expression("before.status != record.status", names=("record", "before"))
    assert changed.evaluate(record={"status": "paid"}, before={"status": "issued"}) is True
    assert changed.record_keys == frozenset({"status"})
    # a comprehension variable named like them is its own name
    assert compile_expression("[parent for parent in [1, 2]]").evaluate() == [1, 2]


def test_parent_reads_its_own_fields_only() -> None:
    # the parent is bound without its references: parent.account.name cannot be loaded
    with pytest.raises(ExpressionError) as refused:
        compile_expression("parent.account.name == 'Acme'", names=("parent",))
    assert refused.value.code == "expression-forbidden"
    assert "only the parent's own fields" in str(refused.value)
    with pytest.raises(ExpressionError):
        compile_expression("before.status", names=("record",))  # not bound here
