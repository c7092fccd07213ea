"""Definition checks of the built-in field types, including the RE2 pattern check."""

from __future__ import annotations

import time
from typing import Any

import pytest

from portalis.engine.definition.fields import CheckContext
from portalis.engine.definition.fieldtypes import builtin_field_types
from portalis.engine.definition.fieldtypes.regexsafety import PatternError, compile_pattern
from portalis.engine.problems import CODES, JsonPath, Problem

TYPES = {t.name: t for t in builtin_field_types()}
FIELD_PATH: JsonPath = ("entities", "ticket", "fields", "x")


def _problem(code: str, message: str, path: JsonPath, hint: str = "") -> Problem:
    return Problem(code, message, path=tuple(path), hint=hint)


def check(type_name: str, options: dict[str, Any]) -> list[Problem]:
    ctx = CheckContext(
        entity="ticket",
        path=FIELD_PATH,
        entities={"ticket": {}, "message": {}, "account": {}, "user": {}},
        currency="EUR",
        problem=_problem,
    )
    problems = list(TYPES[type_name].check(options, ctx))
    for problem in problems:
        assert problem.code in CODES
        assert problem.path[: len(FIELD_PATH)] == FIELD_PATH
    return problems


def codes(problems: list[Problem]) -> list[str]:
    return [p.code for p in problems]


def test_ref_unknown_entity_suggests_the_closest_name() -> None:
    (problem,) = check("ref", {"to": "tickte"})
    assert problem.code == "ref-unknown-entity"
    assert problem.path == (*FIELD_PATH, "to")
    assert "'tickte'" in problem.message
    assert problem.hint == "did you mean 'ticket'?"


def test_ref_unknown_entity_without_close_match_lists_entities() -> None:
    (problem,) = check("ref", {"to": "zzz"})
    assert problem.hint == "entities: account, message, ticket, user"


@pytest.mark.parametrize("target", ["ticket", "account", "user", "message"])
def test_ref_known_entities(target: str) -> None:
    assert check("ref", {"to": target, "on_delete": "cascade"}) == []


def test_unknown_currency() -> None:
    (problem,) = check("money", {"currency": "XYZ"})
    assert problem.code == "currency-unknown"
    assert problem.path == (*FIELD_PATH, "currency")
    assert check("money", {"currency": "CHF"}) == []
    assert check("money", {}) == []  # the portal currency is checked with the portal


def test_duplicate_choice() -> None:
    problems = check("choice", {"options": ["low", "high", {"value": "low", "label": "Low"}]})
    assert codes(problems) == ["field-option"]
    assert problems[0].path == (*FIELD_PATH, "options", 2)
    assert "'low'" in problems[0].message


def test_choice_values_that_could_never_be_entered() -> None:
    assert codes(check("choice", {"options": [" low", "ok"]})) == ["field-option"]
    assert codes(check("choice", {"options": ["a\x00"]})) == ["field-option"]
    assert check("choice", {"options": ["low", "in progress"]}) == []


def test_tags_allowed_values() -> None:
    assert codes(check("tags", {"options": ["a", "a"]})) == ["field-option"]
    assert codes(check("tags", {"options": ["a,b"]})) == ["field-option"]
    assert codes(check("tags", {"options": ['say "x"']})) == ["field-option"]
    assert check("tags", {"options": ["red", "green"]}) == []
    assert check("tags", {}) == []


#: Shapes that backtrack catastrophically in Python's `re`; RE2 runs them in linear time.
BACKTRACKING = [
    "(a+)+",
    "(a*)*",
    "(a|a)*",
    "(.*a){12}",
    r"^(\w+\s?)*$",
    r"(\d|1)+",
    "(x+x+)+y",
    "(foo|foo)*",
    r"^([a-z0-9]+-?)+$",
    r"(\w+|\d+)*",
    "(?i)([A-Z][a-z]+ ?)+",
    "(a?)+",
    "(.*?,)*x",
    "((ab)*)+",
    "a*a*a*a*a*a*a*a*b",
]


@pytest.mark.parametrize("pattern", BACKTRACKING)
def test_backtracking_shapes_are_accepted_and_run_in_linear_time(pattern: str) -> None:
    assert check("string", {"pattern": pattern}) == []
    compiled = compile_pattern(pattern)
    # 10,000 characters: Python's re would not finish these in a lifetime. The bound is
    # generous (RE2 takes milliseconds) so a loaded machine does not make it flaky.
    started = time.monotonic()
    for text in ("a" * 10_000 + "!", "a" * 10_000, "ab" * 5_000 + "!", "x" * 9_999 + ","):
        compiled.fullmatch(text)
    assert time.monotonic() - started < 5


def test_a36_nested_quantifier_on_adversarial_input_finishes() -> None:
    """ASVS 1.3.12 (A.36): `(a+)+$` on 30 x 'a' + '!' finishes instead of backtracking."""
    assert not compile_pattern("(a+)+$").fullmatch("a" * 30 + "!")
    assert compile_pattern("(a+)+$").fullmatch("a" * 30)


@pytest.mark.parametrize(
    ("pattern", "construct"),
    [
        ("(?=a)a", "lookahead"),
        ("^(?!admin).*$", "negative lookahead"),
        ("(?<=a)b", "lookbehind"),
        ("(?<!a)b", "negative lookbehind"),
        ("(?>a+)+", "atomic groups"),
        ("(a++)+", "possessive"),
        ("(a)\\1", "backreferences"),
        ("(?P<year>[0-9]{4})-(?P=year)", "backreferences"),
        ("a\\Z", "\\Z"),
        ("(?x) a b", "inline flag"),
        ("(a{100}){100}", "repetition counts"),
    ],
)
def test_constructs_re2_lacks_are_unsupported(pattern: str, construct: str) -> None:
    (problem,) = check("string", {"pattern": pattern})
    assert problem.code == "pattern-unsupported"
    assert problem.path == (*FIELD_PATH, "pattern")
    assert construct in problem.message
    assert "lookaround" in problem.hint


@pytest.mark.parametrize(
    "pattern",
    [
        "[A-Z]{2}[0-9]{6}",
        r"^[a-z]+(-[a-z]+)*$",
        r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$",
        r"^([A-Z][a-z]+ ?)+$",
        r"(\s*,\s*\w+)*",
        r"^(\d+\.)+\d+$",
        r"(\d{3}-){2}\d{4}",
        "(https?|ftp)://[^ ]+",
        "(a|b)*c",
        r"[\w.+-]+@[\w-]+\.[a-z]{2,}",
        r"\+?[0-9 ]{5,20}",
        r"\p{L}+",
        "(?P<year>[0-9]{4})-[0-9]{2}",
    ],
)
def test_safe_regex(pattern: str) -> None:
    assert check("string", {"pattern": pattern}) == []


def test_invalid_regex() -> None:
    (problem,) = check("string", {"pattern": "([a-z]"})
    assert problem.code == "field-option"
    assert "not a valid regular expression" in problem.message


def test_compile_pattern_raises_pattern_error_for_invalid_patterns() -> None:
    with pytest.raises(PatternError) as caught:
        compile_pattern("(")
    assert caught.value.construct == ""


def test_string_length_range() -> None:
    assert codes(check("string", {"min_length": 5, "max_length": 3})) == ["field-option"]
    assert check("string", {"min_length": 3, "max_length": 3}) == []


def test_number_ranges() -> None:
    assert codes(check("int", {"min": 5, "max": 1})) == ["field-option"]
    assert check("int", {"min": 1, "max": 5}) == []
    assert codes(check("decimal", {"places": 5, "precision": 3})) == ["field-option"]
    assert codes(check("decimal", {"min": 1.5, "max": 1})) == ["field-option"]
    assert codes(check("money", {"min": 10, "max": 1})) == ["field-option"]


def test_date_options() -> None:
    assert codes(check("date", {"min": "2026-02-30"})) == ["field-option"]
    assert codes(check("date", {"min": "2026-02-01", "max": "2026-01-01"})) == ["field-option"]
    assert check("date", {"min": "2026-01-01", "max": "2026-12-31"}) == []


@pytest.mark.parametrize("name", sorted(TYPES))
def test_check_never_crashes_on_schema_invalid_options(name: str) -> None:
    """The schema pass reports wrong option types; check must still not raise."""
    junk: dict[str, Any] = {key: object() for key in TYPES[name].options_schema}
    check(name, junk)
    check(name, {key: [1, {"value": 2}] for key in TYPES[name].options_schema})
    check(name, {})
