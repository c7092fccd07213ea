"""Property tests: `clean` of every built-in type raises nothing but FieldValueError, and what
it returns survives to_json → clean unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portalis.engine.definition.fields import FieldValueError
from portalis.engine.definition.fieldtypes import builtin_field_types
from portalis.engine.definition.model import Field
from portalis.engine.definition.values import Label

TYPES = {t.name: t for t in builtin_field_types()}

#: Options per type worth fuzzing (defaults, plus the interesting configurations).
OPTION_SETS: list[tuple[str, dict[str, Any]]] = [
    *((name, {}) for name in sorted(TYPES) if name not in ("choice", "ref")),
    ("string", {"pattern": "[a-z]+(-[a-z]+)*", "min_length": 2, "max_length": 20}),
    ("int", {"min": -5, "max": 5}),
    ("decimal", {"places": 0, "precision": 3, "min": -100}),
    ("decimal", {"places": 10, "precision": 38}),
    ("money", {"currency": "JPY", "max": 1000}),
    ("date", {"min": "2000-01-01", "max": "2030-12-31"}),
    ("choice", {"options": ["low", "1", {"value": "x y", "label": {"en": "X"}}]}),
    ("tags", {"options": ["red", "green"], "max_items": 1}),
    ("ref", {"to": "account"}),
    ("file", {"accept": ["pdf"]}),
]

#: Text that looks like valid input of some type, so fuzzing also reaches the success paths.
TRICKY = st.sampled_from(
    [
        "12",
        " -12 ",
        "12.50",
        "EUR 12.50",
        "12.50 JPY",
        "1e400",
        "NaN",
        "-0",
        "2024-02-29",
        "2024-02-30",
        "2024-01-01T10:00:00+02:00",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-12:00",
        "a@example.com",
        "https://example.com/x",
        "javascript:alert(1)",
        "+49 30 1234567",
        "true",
        "off",
        "low",
        "a, b, a",
        "abcdefghijklmnop",
        "\ud800",
        "\x00",
        "(" * 50,
        "9" * 5000,
    ]
)

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text()
    | TRICKY
)
JSON_LIKE = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5)
    ),
    max_leaves=20,
)


def make_field(type_name: str, options: dict[str, Any]) -> Field:
    kind = TYPES[type_name]
    return Field(
        name="x",
        type=type_name,
        label=Label.of("X"),
        kind=kind,
        config=kind.make_config(options, currency="EUR"),
    )


@pytest.mark.parametrize(
    ("type_name", "options"), OPTION_SETS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTION_SETS)]
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=JSON_LIKE)
def test_clean_raises_only_field_value_error(
    type_name: str, options: dict[str, Any], raw: Any
) -> None:
    field = make_field(type_name, options)
    kind = field.kind
    try:
        value = kind.clean(field, raw)
    except FieldValueError as exc:
        assert exc.code and isinstance(exc.code, str)
        assert str(exc)
        return
    # What clean accepts must come back unchanged through the API form.
    assert kind.clean(field, kind.to_json(field, value)) == value
    assert kind.clean(field, value) == value
