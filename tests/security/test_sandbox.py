"""SECURITY.md B: the expression sandbox against known escapes, plus budgets (R13).

Each attack is the real payload, adapted to a single expression where the original was a
script. Refusal means `ExpressionError` when compiling (definition time) or `EvaluationError`
when evaluating; either way no module, frame or code object reaches the caller. Where the
allow-list already refuses a payload, the run-time guard is exercised directly as well, so
each layer is shown to hold on its own.
"""

from __future__ import annotations

import os
import string
import time
from collections.abc import AsyncIterator, Callable, Iterator
from types import CodeType, FrameType, FunctionType, ModuleType
from typing import Any

import jinja2.exceptions
import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from portalis.engine.expr import checks, expressions, parsing, paths, sandbox
from portalis.engine.expr.expressions import (
    BUILTIN_FUNCTIONS,
    EvaluationError,
    ExpressionError,
    compile_expression,
)
from portalis.engine.expr.sandbox import Budget, sandbox_namespace

CPU_BOUND_SECONDS = 2.0  # R13: a runaway expression is refused within 2 s of CPU


def _leaks(value: object) -> bool:
    """True if `value` (or what it directly holds) is something an expression must never get."""
    dangerous = (ModuleType, FrameType, CodeType)
    if isinstance(value, dangerous):
        return True
    if isinstance(value, dict | list | tuple | set):
        items = value.values() if isinstance(value, dict) else value
        return any(isinstance(item, dangerous) for item in items)
    return False


def refused(source: str, **kwargs: Any) -> ExpressionError | EvaluationError:
    """Compile and evaluate `source`; return the refusal, fail the test if anything came back."""
    try:
        expression = compile_expression(source, **kwargs.pop("compile", {}))
    except ExpressionError as error:
        return error
    try:
        value = expression.evaluate(**kwargs)
    except EvaluationError as error:
        # Only text comes back: no chained exception, no object the expression touched.
        assert error.__cause__ is None and error.__context__ is None
        assert all(isinstance(arg, str) for arg in error.args)
        assert not any(_leaks(item) for item in vars(error).values())
        return error
    pytest.fail(f"{source!r} was not refused; it returned a {type(value).__name__}")


def one_generator() -> Iterator[int]:
    yield 1


async def one_async_generator() -> AsyncIterator[int]:
    yield 1


# -- B1-B13 ------------------------------------------------------------------------------------


def test_sandbox_b01_cve_2023_37271_generator_frames() -> None:
    # The advisory's payload walks gi_frame.f_back up to a frame whose globals hold builtins.
    payloads = [
        "(x for x in [1]).gi_frame.f_back.f_back.f_globals['__builtins__']['__import__']('os')",
        "[g.gi_frame.f_back.f_back.f_builtins for g in [(y for y in record['tags'])]][0]",
        "[x for x in (q.gi_frame.f_back.f_back for q in [(y for y in [1])])][0].f_globals",
    ]
    for payload in payloads:
        error = refused(payload, record={"tags": [1]})
        assert isinstance(error, ExpressionError)
        assert error.code == "expression-forbidden"
        assert "gi_frame" in str(error) or "f_back" in str(error)
    # Run-time layer on its own: a live generator's frame is not readable either.
    generator = (x for x in [1])
    for attribute in ("gi_frame", "gi_code", "gi_running", "gi_yieldfrom"):
        with pytest.raises(EvaluationError):
            Budget().getattr(generator, attribute)


def test_sandbox_b02_getattr_gi_frame() -> None:
    error = refused("getattr((x for x in [1]), 'gi_frame').f_back")
    assert isinstance(error, ExpressionError) and error.code == "expression-name"
    # No plugin can hand getattr (or its relatives) to expressions.
    for unsafe in (getattr, vars, eval):
        with pytest.raises(ValueError):
            compile_expression("1", functions={"fetch": unsafe})
    # Attributes outside the static deny list are refused when the code runs.
    error = refused("(x for x in record['tags']).gi_running", record={"tags": [1]})
    assert isinstance(error, EvaluationError) and "gi_running" in str(error)
    with pytest.raises(EvaluationError):
        Budget().getattr(one_generator(), "gi_frame")


def test_sandbox_b03_getattr_str_subclass() -> None:
    class Sneaky(str):
        """A name that claims not to start with '_' and to equal an allowed method."""

        def startswith(self, *args: Any, **kwargs: Any) -> bool:
            return False

        def __eq__(self, other: object) -> bool:
            return True

        def __hash__(self) -> int:
            return hash("lower")

    for name in (Sneaky("__class__"), Sneaky("lower"), Sneaky("year")):
        with pytest.raises(EvaluationError):
            Budget().getattr("text", name)
    error = refused("getattr('', 'lower')")
    assert isinstance(error, ExpressionError) and error.code == "expression-name"


def test_sandbox_b04_cve_2023_41039_format() -> None:
    for payload in (
        "'{0.__class__.__mro__}'.format(1)",
        "'{r.__class__}'.format_map({'r': record})",
        "str.format('{0.__class__}', 1)",
        "record['template'].format(actor)",
    ):
        error = refused(payload, record={"template": "{0.__class__}"}, actor=object())
        assert error.code == "expression-forbidden", payload
    with pytest.raises(EvaluationError):
        Budget().getattr("{0.__class__}", "format")
    with pytest.raises(EvaluationError):
        Budget().getattr("{0.__class__}", "format_map")
    # Nor can %-formatting or str() be turned into a formatter.
    assert refused("'%(a)s' % record", record={"a": 1}).code == "expression-failed"


def test_sandbox_b05_cve_2024_47532_attributeerror_obj() -> None:
    class Leaky:
        __portalis_expose__ = frozenset({"missing"})

    # The exposed attribute does not exist, so Python raises AttributeError(obj=actor).
    error = refused("actor.missing", actor=Leaky())
    assert isinstance(error, EvaluationError)
    assert error.__cause__ is None and error.__context__ is None
    assert not any(_leaks(value) for value in vars(error).values())
    assert not hasattr(error, "obj")
    assert refused("string.Formatter", actor=Leaky()).code == "expression-name"


def test_sandbox_b06_cve_2026_76825_formatter_get_field() -> None:
    error = refused("string.Formatter().get_field('0.__class__', [1], {})")
    assert error.code == "expression-name"
    # Even a Formatter handed in as a value is useless: its methods cannot be reached.
    formatter = string.Formatter()
    values = {"compile": {"names": ("record", "fmt")}, "fmt": formatter}
    assert refused("fmt.get_field('0.__class__', [1], {})", **values).code == (
        "expression-forbidden"
    )
    assert isinstance(refused("fmt.parse('{0}')", **values), EvaluationError)
    # Expose no modules: every built-in function is a plain function of the engine...
    for name, function in BUILTIN_FUNCTIONS.items():
        assert isinstance(function, FunctionType), name
        assert function.__module__ == "portalis.engine.expr.functions", name
    # ...and the evaluation namespace holds no module and has empty builtins.
    namespace = sandbox_namespace(BUILTIN_FUNCTIONS, {"record": None, "actor": None})
    assert namespace["__builtins__"] == {}
    assert not any(isinstance(value, ModuleType) for value in namespace.values())


def test_sandbox_b07_cve_2025_22153_try_star() -> None:
    payload = "try:\n    1 / 0\nexcept* ZeroDivisionError as group:\n    group.exceptions[0]\n"
    error = refused(payload)
    assert isinstance(error, ExpressionError) and error.code == "expression-syntax"
    assert refused("(lambda: (yield))()").code == "expression-forbidden"


def test_sandbox_b08_ghsa_ffg3_positional_only_getattr() -> None:
    payloads = [
        "(lambda _getattr_=None, /: record.__class__)()",
        "[record.keys for _getattr_ in [len]]",
        "[x for _getiter_ in [None] for x in record]",
        "len(_getattr_=1)",
    ]
    for payload in payloads:
        error = refused(payload, record={})
        assert isinstance(error, ExpressionError) and error.code == "expression-forbidden"


def test_sandbox_b09_async_generator_frames() -> None:
    for payload in (
        "[x async for x in record['items']]",
        "(x async for x in record['items']).ag_frame",
        "(x for x in [1]).ag_code",
    ):
        error = refused(payload, record={"items": []})
        assert isinstance(error, ExpressionError) and error.code == "expression-forbidden"
    agen = one_async_generator()
    for attribute in ("ag_frame", "ag_code", "ag_running", "aclose"):
        with pytest.raises(EvaluationError):
            Budget().getattr(agen, attribute)
    names = {"compile": {"names": ("record", "agen")}, "agen": agen}
    assert isinstance(refused("agen.ag_running", **names), EvaluationError)


@pytest.mark.parametrize(
    "name",
    ["sorted", "zip", "tuple", "bytes", "list", "set", "dict", "map", "filter", "enumerate"]
    + ["iter", "next", "reversed", "range", "all", "any", "bytearray", "frozenset"],
)
def test_sandbox_b10_iterators_bypass_getiter(name: str) -> None:
    assert name not in BUILTIN_FUNCTIONS
    error = refused(f"{name}(record['items'])", record={"items": [1]})
    assert error.code == "expression-name"


@pytest.mark.parametrize(
    "source",
    [
        "sum(x for x in record['items'])",
        "max(x for x in record['items'])",
        "min(x for x in record['items'])",
        "len([x for x in record['items']])",
        "[a for a, b in record['pairs']]",
    ],
)
def test_sandbox_b10_builtins_that_iterate_are_bounded(source: str) -> None:
    record = {"items": list(range(50_000)), "pairs": [(1, 2)] * 50_000}
    error = refused(source, record=record)
    assert error.code == "expression-budget"


def test_sandbox_b11_frappe_cve_2023_54345_stack_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    popen_calls: list[str] = []

    def fake_popen(command: str, *args: Any, **kwargs: Any) -> None:
        popen_calls.append(command)

    monkeypatch.setattr(os, "popen", fake_popen)
    payloads = [
        # The server-script exploit: a generator's frame, up the stack, to os.popen.
        "[x for x in [(y for y in [1]).gi_frame.f_back.f_back.f_globals['os'].popen('id')]]",
        "(g for g in [1]).gi_frame.f_back.f_globals['__builtins__']['__import__']('os')"
        ".popen('id').read()",
        # The same walk starting from what the policy does hand out.
        "record.get.__self__",
        "today.__globals__['dt']",
        "days_since.func_globals",
    ]
    for payload in payloads:
        assert isinstance(refused(payload, record={}), ExpressionError)
    # A module smuggled in as a value is still behind the attribute guard.
    error = refused("os.popen('id')", compile={"names": ("record", "os")}, os=os)
    assert isinstance(error, EvaluationError)
    assert popen_calls == []


def test_sandbox_b12_frappe_cve_2023_54406_nested_evaluation() -> None:
    inner = compile_expression("value.gi_running", names=("value",))
    outcomes: list[str] = []

    def nested(value: Any) -> str:
        """A plugin function that evaluates another expression (a server script calling one)."""
        try:
            inner.evaluate(value=value)
        except EvaluationError as error:
            outcomes.append(error.code)
        outcomes.append(compile_expression("1 + 1").evaluate())
        return "done"

    outer = compile_expression(
        "nested(record['g']) == 'done' and record.keys()", functions={"nested": nested}
    )
    # After the nested evaluations return, the outer one is exactly as restricted as before.
    with pytest.raises(EvaluationError) as failure:
        outer.evaluate(record={"g": (x for x in [1])})
    assert "keys" in str(failure.value)
    assert outcomes == ["expression-failed", 2]
    # No "inside sandbox" flag exists to flip: the modules hold no booleans and no mutable state.
    for module in (expressions, checks, parsing, paths, sandbox):
        for name, value in vars(module).items():
            if name.startswith("__"):
                continue
            assert not isinstance(value, bool | list | dict | set), f"{module.__name__}.{name}"
    # Restrictions come from each evaluation's own namespace, never from shared state.
    first = sandbox_namespace(BUILTIN_FUNCTIONS, {})
    second = sandbox_namespace(BUILTIN_FUNCTIONS, {})
    assert first["_getattr_"].__self__ is not second["_getattr_"].__self__


def test_sandbox_b13_frappe_cve_2025_68929_template_injection() -> None:
    environment = ImmutableSandboxedEnvironment()
    refused_errors = (jinja2.exceptions.SecurityError, jinja2.exceptions.UndefinedError)
    for payload in (
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
        "{{ [].append(1) }}",
    ):
        with pytest.raises(refused_errors):
            environment.from_string(payload).render(cycler=object())
    # The expression language has no template syntax to inject into in the first place.
    assert isinstance(refused("'{{ 7 * 7 }}'.format()"), ExpressionError)


# -- budgets -----------------------------------------------------------------------------------


def cpu_seconds(action: Callable[[], object]) -> float:
    started = time.process_time()
    try:
        action()
    except (ExpressionError, EvaluationError):
        pass
    return time.process_time() - started


def test_sandbox_budget_range_refused() -> None:
    error = refused("[x for x in range(10**9)]")
    assert isinstance(error, ExpressionError) and error.code == "expression-name"


def test_sandbox_budget_huge_comprehension_stopped() -> None:
    record = {"items": list(range(1_000_000))}
    expression = compile_expression("[x * x for x in record['items']]")
    with pytest.raises(EvaluationError) as failure:
        expression.evaluate(record=record)
    assert failure.value.code == "expression-budget"
    assert cpu_seconds(lambda: expression.evaluate(record=record)) < CPU_BOUND_SECONDS


@pytest.mark.parametrize(
    "source",
    [
        "'a' * 10**9",
        "10**9 * 'a'",
        "[0] * 10**9",
        "10**(10**6)",
        "(2**64) ** 64 * 2 ** 64",
        "'a' * 100000 + 'a' * 100000",
        "'%*d' % (10**9, 1)",
        "round(1, -10**9)",
        "int('9' * 5000)",
    ],
)
def test_sandbox_budget_allocation_bombs(source: str) -> None:
    elapsed = cpu_seconds(lambda: refused(source))
    assert isinstance(refused(source), EvaluationError)
    assert elapsed < CPU_BOUND_SECONDS


@pytest.mark.parametrize(
    "source",
    [
        "(" * 10_000 + "1" + ")" * 10_000,
        "(" * 900 + "1" + ")" * 900,
        "-" * 1999 + "1",
        "not " * 499 + "1",
        "[" * 100 + "]" * 100,
        "1" + " + 1" * 400,
    ],
)
def test_sandbox_budget_deep_nesting(source: str) -> None:
    with pytest.raises(ExpressionError) as failure:
        compile_expression(source)
    assert failure.value.code == "expression-too-large"


# The worst expressions the allow-list admits: maximal nodes and loops, each pitting one kind of
# work (comparisons, hashing, copying, calls, attribute reads, text) against the budget.
_BODY_CALLS = ", ".join(["days_since(d)"] * 90)
_BODY_ATTRS = ", ".join(["d.year"] * 140)
_BODY_SETS = ", ".join(["x"] * 280)
_BODY_DICTS = ", ".join(["{0: x}"] * 90)
_BODY_COMPS = ", ".join(["[y for y in e]"] * 40)
_BODY_STR = ", ".join(["str(s)"] * 90)
_BODY_INTS = ", ".join(["str(y)"] * 90)
RUNAWAYS = [
    "[a == b for a in [[0] * 100000] for b in [[0] * 100000] for x in [0] * 10000]",
    "[0.5 in l for l in [[0] * 100000] for x in [0] * 10000]",
    "[[0] * 100000] * 100000 == [[0] * 100000] * 100000",
    "[l[:] for l in [[0] * 100000] for x in [0] * 10000]",
    "{t for t in [(0,) * 100000] for x in [0] * 10000}",
    "[str(l) for l in [[0.1] * 100000] for x in [0] * 10000]",
    "[('a' * 100000).upper() for x in [0] * 10000]",
    "max([[0] * 100000 for x in [0] * 10000])",
    "[a in (b for y in [0] * 10000) for a in [[0] * 100000] for b in [[1] * 100000]]",
    "[s.startswith(s) for s in ['a' * 99999] for x in [0] * 9999]",
    "[{0: s} == {0: s + 'b'} for s in ['a' * 99999] for x in [0] * 9999]",
    "[str(y) for y in [(2 ** 63) ** 4] for x in [0] * 9999]",
    f"[[{_BODY_CALLS}] for d in ['2020-01-01T00:00:00'] for x in [0] * 9999]",
    f"[[{_BODY_ATTRS}] for d in [today()] for x in [0] * 9999]",
    f"[{{{_BODY_SETS}}} for x in [0] * 9999]",
    f"[[{_BODY_DICTS}] for x in [0] * 9999]",
    f"[[{_BODY_COMPS}] for e in [[]] for x in [0] * 9999]",
    f"[[{_BODY_STR}] for s in [[0.1] * 6] for x in [0] * 9999]",
    f"[[{_BODY_INTS}] for y in [(2 ** 63) ** 4] for x in [0] * 9999]",
    "[str(l) for l in [[(2 ** 63) ** 4] * 100000] for x in [0] * 9999]",
]


@pytest.mark.parametrize("source", RUNAWAYS)
def test_r13_runaway_expression_bounded(source: str) -> None:
    expression = compile_expression(source)
    assert cpu_seconds(expression.evaluate) < CPU_BOUND_SECONDS
    # Other evaluations are unaffected: budgets belong to one evaluation.
    assert compile_expression("len([x for x in [0] * 9000])").evaluate() == 9000
