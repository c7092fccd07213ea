"""Built-in field types: registration, option schemas, clean, to_json and value schemas."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
import sqlalchemy as sa

from portalis.engine.definition.fields import FieldType, FieldValueError, TableContext
from portalis.engine.definition.fieldtypes import (
    Choice,
    ChoiceConfig,
    FileConfig,
    Money,
    RefConfig,
    StringConfig,
    TagsConfig,
    builtin_field_types,
)
from portalis.engine.definition.fieldtypes.exact import ExactDecimal
from portalis.engine.definition.model import Field
from portalis.engine.definition.values import Label
from portalis.engine.plugins import field_types, make_plugin_manager

TYPES: dict[str, FieldType] = {t.name: t for t in builtin_field_types()}
ALL_NAMES = sorted(TYPES)
BLANKS: list[Any] = [None, "", "   ", []]


def make_field(type_name: str, options: dict[str, Any] | None = None, name: str = "x") -> Field:
    """A field of a built-in type, configured like the compiler would."""
    kind = TYPES[type_name]
    return Field(
        name=name,
        type=type_name,
        label=Label.of("X"),
        kind=kind,
        config=kind.make_config(options or {}, currency="EUR"),
    )


def clean(type_name: str, raw: Any, options: dict[str, Any] | None = None) -> Any:
    field = make_field(type_name, options)
    return field.kind.clean(field, raw)


def test_hook_registers_all_eighteen_types() -> None:
    registry = field_types(make_plugin_manager(load_entrypoints=False))
    assert registry.names() == sorted(
        "string text email phone url int decimal money bool date datetime choice tags ref "
        "file json sequence markdown".split()
    )
    for name, ftype in registry.items():
        assert type(ftype) is type(TYPES[name])


@pytest.mark.parametrize("name", ALL_NAMES)
def test_type_is_documented_and_options_schema_is_valid(name: str) -> None:
    ftype = TYPES[name]
    assert ftype.description and "\n" not in ftype.description
    assert type(ftype).__doc__
    schema = {
        "type": "object",
        "properties": dict(ftype.options_schema),
        "required": list(ftype.required_options),
        "additionalProperties": False,
    }
    jsonschema.Draft202012Validator.check_schema(schema)
    for option, prop in ftype.options_schema.items():
        assert prop.get("description"), f"{name}.{option} has no description"
        if "default" in prop:
            jsonschema.validate(prop["default"], prop)
    assert set(ftype.required_options) <= set(ftype.options_schema)


@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("raw", BLANKS)
def test_blank_input_cleans_to_none(name: str, raw: Any) -> None:
    options = {"options": ["a"]} if name == "choice" else {"to": "t"} if name == "ref" else {}
    if name == "json" and raw == []:
        assert clean(name, raw, options) == []  # an empty JSON array is a value
        return
    assert clean(name, raw, options) is None


def test_configs_are_frozen_dataclasses() -> None:
    config = make_field("string", {"max_length": 10, "pattern": "[a-z]+"}).config
    assert isinstance(config, StringConfig) and config.pattern is not None
    with pytest.raises(AttributeError):
        config.max_length = 3  # type: ignore[misc]
    assert hash(config)


#: A money field that accepts several currencies.
ANY_OF: dict[str, Any] = {"currencies": ["EUR", "USD", "JPY", "KWD"]}

# -- clean: (type, options, raw, expected) ---------------------------------------------------
VALID: list[tuple[str, dict[str, Any], Any, Any]] = [
    ("string", {}, "  hello  ", "hello"),
    ("string", {"max_length": 5}, "abcde", "abcde"),
    ("string", {"pattern": "[A-Z]{2}[0-9]{3}"}, "AB123", "AB123"),
    ("string", {"min_length": 2}, "ab", "ab"),
    ("text", {}, "line 1\r\nline 2\rline 3\n", "line 1\nline 2\nline 3"),
    ("text", {}, "\tindented", "indented"),
    ("text", {}, "a\tb", "a\tb"),
    ("email", {}, "Foo.Bar@Example.COM", "Foo.Bar@example.com"),
    ("email", {}, " user+tag@sub.example.org ", "user+tag@sub.example.org"),
    ("email", {}, "müller@bücher.de", "müller@bücher.de"),
    ("email", {}, "x@xn--p1ai.xn--p1ai", "x@xn--p1ai.xn--p1ai"),
    ("phone", {}, "+1 (555) 123-4567", "+1 (555) 123-4567"),
    ("phone", {}, " 030  1234\t567 ", "030 1234 567"),
    ("url", {}, "https://example.com", "https://example.com"),
    ("url", {}, "http://localhost:8080/a?b=1#c", "http://localhost:8080/a?b=1#c"),
    ("url", {}, "HTTPS://Example.com/Path", "HTTPS://Example.com/Path"),
    ("url", {}, "https://[::1]/x", "https://[::1]/x"),
    ("url", {}, "https://bücher.de/", "https://bücher.de/"),
    ("int", {}, 12, 12),
    ("int", {}, " -12 ", -12),
    ("int", {}, "+7", 7),
    ("int", {}, 12.0, 12),
    ("int", {}, Decimal("3"), 3),
    ("int", {"min": 1, "max": 5}, "5", 5),
    ("int", {}, 2**63 - 1, 2**63 - 1),
    ("decimal", {}, "12.345", Decimal("12.35")),
    ("decimal", {}, "12.344", Decimal("12.34")),
    ("decimal", {}, 1, Decimal("1.00")),
    ("decimal", {}, 0.1, Decimal("0.10")),
    ("decimal", {}, "-0.001", Decimal("0.00")),
    ("decimal", {}, ".5", Decimal("0.50")),
    ("decimal", {"places": 0, "precision": 3}, "999.4", Decimal("999")),
    ("decimal", {"places": 4, "precision": 38}, "1" * 34, Decimal("1" * 34 + ".0000")),
    ("decimal", {"places": 10, "precision": 38}, 0, Decimal("0E-10")),
    ("money", {}, 12.5, Money(Decimal("12.50"), "EUR")),
    ("money", {}, "12.505", Money(Decimal("12.50"), "EUR")),  # half-even
    ("money", {}, "EUR 12.50", Money(Decimal("12.50"), "EUR")),
    ("money", ANY_OF, "12.50 usd", Money(Decimal("12.50"), "USD")),
    ("money", ANY_OF, "JPY 1234.5", Money(Decimal("1234"), "JPY")),
    ("money", ANY_OF, "JPY 1235.5", Money(Decimal("1236"), "JPY")),
    ("money", ANY_OF, "1.2345 KWD", Money(Decimal("1.234"), "KWD")),
    ("money", ANY_OF, {"amount": "3", "currency": "JPY"}, Money(Decimal("3"), "JPY")),
    ("money", {}, {"amount": 5}, Money(Decimal("5.00"), "EUR")),
    ("money", {}, Money(Decimal("1.015"), "EUR"), Money(Decimal("1.02"), "EUR")),
    ("money", {"currency": "CHF"}, "7", Money(Decimal("7.00"), "CHF")),
    ("money", {}, "-3", Money(Decimal("-3.00"), "EUR")),
    ("bool", {}, True, True),
    ("bool", {}, False, False),
    ("bool", {}, "on", True),
    ("bool", {}, " OFF ", False),
    ("bool", {}, "Yes", True),
    ("bool", {}, "no", False),
    ("bool", {}, "1", True),
    ("bool", {}, "0", False),
    ("bool", {}, 1, True),
    ("bool", {}, 0, False),
    ("date", {}, "2024-02-29", date(2024, 2, 29)),
    ("date", {}, date(2024, 1, 1), date(2024, 1, 1)),
    ("date", {"min": "2024-01-01", "max": "2024-12-31"}, "2024-12-31", date(2024, 12, 31)),
    ("datetime", {}, "2024-01-01T10:00:00+02:00", datetime(2024, 1, 1, 8, tzinfo=UTC)),
    ("datetime", {}, "2024-01-01T10:00:00Z", datetime(2024, 1, 1, 10, tzinfo=UTC)),
    ("datetime", {}, "2024-01-01 10:00", datetime(2024, 1, 1, 10, tzinfo=UTC)),
    ("datetime", {}, datetime(2024, 1, 1, 10), datetime(2024, 1, 1, 10, tzinfo=UTC)),
    (
        "datetime",
        {},
        datetime(2024, 1, 1, 10, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2024, 1, 1, 15, tzinfo=UTC),
    ),
    ("choice", {"options": ["low", "high"]}, "low", "low"),
    ("choice", {"options": [{"value": "high", "label": {"en": "High"}}]}, " high ", "high"),
    ("tags", {}, "b, a ,a,", ["a", "b"]),
    ("tags", {}, ["x", "y", "x", " "], ["x", "y"]),
    ("tags", {}, ("Größe",), ["Größe"]),
    ("tags", {"options": ["red", "green"]}, ["green"], ["green"]),
    ("tags", {"max_items": 2}, "a,b,a", ["a", "b"]),
    ("ref", {"to": "t"}, 5, 5),
    ("ref", {"to": "t"}, " 7 ", 7),
    ("ref", {"to": "t"}, 2**31 - 1, 2**31 - 1),
    ("ref", {"to": "t"}, 7.0, 7),  # JSON Schema's integer: 7.0 is 7
    ("file", {}, "abcdefghijklmnop", "abcdefghijklmnop"),
    ("file", {}, "A-b_" * 16, "A-b_" * 16),
    ("json", {}, {"a": [1, 2.5, None, True, "x"]}, {"a": [1, 2.5, None, True, "x"]}),
    ("json", {}, (1, (2, 3)), [1, [2, 3]]),
    ("json", {}, "text", "text"),
    ("json", {}, 0, 0),
    ("json", {}, False, False),
    ("json", {}, {}, {}),
]


def case_ids(cases: list[tuple[str, dict[str, Any], Any, Any]]) -> list[str]:
    """`money-3`: readable ids that never str() a huge value."""
    return [f"{case[0]}-{i}" for i, case in enumerate(cases)]


@pytest.mark.parametrize(("type_name", "options", "raw", "expected"), VALID, ids=case_ids(VALID))
def test_clean_valid(type_name: str, options: dict[str, Any], raw: Any, expected: Any) -> None:
    value = clean(type_name, raw, options)
    assert value == expected
    assert type(value) is type(expected)
    if isinstance(expected, Decimal | Money):
        assert str(value) == str(expected)  # same places, not only the same number


INVALID: list[tuple[str, dict[str, Any], Any, str]] = [
    ("string", {}, 123, "type"),
    ("string", {}, "a" * 256, "too-long"),
    ("string", {"max_length": 3}, "abcd", "too-long"),
    ("string", {"min_length": 3}, "ab", "too-short"),
    ("string", {"pattern": "[A-Z]{2}[0-9]{3}"}, "AB1234", "pattern"),
    ("string", {"pattern": "[0-9]+"}, "12a", "pattern"),
    ("string", {}, "a\nb", "format"),
    ("string", {}, "a\x00b", "format"),
    ("string", {}, "a\ud800b", "format"),
    ("text", {}, "a\x00b", "format"),
    ("text", {}, "a\x1bb", "format"),
    ("text", {"max_length": 3}, "abcd", "too-long"),
    ("text", {}, ["a"], "type"),
    ("email", {}, "a@b", "format"),
    ("email", {}, "plain", "format"),
    ("email", {}, "a b@example.com", "format"),
    ("email", {}, "@example.com", "format"),
    ("email", {}, "a@@example.com", "format"),
    ("email", {}, "a..b@example.com", "format"),
    ("email", {}, ".a@example.com", "format"),
    ("email", {}, "a@-x.com", "format"),
    ("email", {}, "a@x-.com", "format"),
    ("email", {}, "a@x..com", "format"),
    ("email", {}, "a@1.2.3.4", "format"),
    ("email", {}, "a\x00@example.com", "format"),
    ("email", {}, "a" * 65 + "@example.com", "format"),
    ("email", {}, "a@" + "b" * 250 + ".com", "too-long"),
    ("phone", {}, "12ab5678", "format"),
    ("phone", {}, "1234", "format"),
    ("phone", {}, "1" * 21, "format"),
    ("phone", {}, "12+345678", "format"),
    ("phone", {}, 12345678, "type"),
    ("phone", {}, "1 " * 40, "too-long"),
    ("url", {}, "javascript:alert(1)", "format"),
    ("url", {}, "data:text/html,<b>x</b>", "format"),
    ("url", {}, "/relative/path", "format"),
    ("url", {}, "example.com", "format"),
    ("url", {}, "ftp://example.com", "format"),
    ("url", {}, "https://", "format"),
    ("url", {}, "https://user:pw@example.com", "format"),
    ("url", {}, "https://bank.example@evil.example", "format"),
    ("url", {}, "https://example.com/a b", "format"),
    ("url", {}, "https://example.com:99999/", "format"),
    ("url", {}, "http://[::1", "format"),
    ("url", {}, "https:\\\\evil.example", "format"),
    ("url", {}, "https://<script>/", "format"),
    ("url", {}, "https://example.com/" + "a" * 2048, "too-long"),
    ("int", {}, True, "type"),
    ("int", {}, 12.5, "format"),
    ("int", {}, "12.5", "format"),
    ("int", {}, "1" * 31, "format"),
    ("int", {}, "1_000", "format"),
    ("int", {}, "١٢", "format"),
    ("int", {}, float("inf"), "format"),
    ("int", {}, float("nan"), "format"),
    ("int", {}, Decimal("1E+999999"), "max"),
    ("int", {}, 2**63, "max"),
    ("int", {}, -(2**63) - 1, "min"),
    ("int", {"min": 1}, 0, "min"),
    ("int", {"max": 5}, "6", "max"),
    ("int", {}, [1], "type"),
    ("decimal", {}, "NaN", "format"),
    ("decimal", {}, Decimal("NaN"), "format"),
    ("decimal", {}, Decimal("sNaN"), "format"),
    ("decimal", {}, Decimal("-Infinity"), "format"),
    ("decimal", {}, float("inf"), "format"),
    ("decimal", {}, "1e5", "format"),
    ("decimal", {}, "12,5", "format"),
    ("decimal", {}, "abc", "format"),
    ("decimal", {}, True, "type"),
    ("decimal", {}, {"a": 1}, "type"),
    ("decimal", {"places": 0, "precision": 3}, "999.5", "max"),
    ("decimal", {"places": 0, "precision": 3}, "-1000", "min"),
    ("decimal", {}, Decimal("1E+999999999"), "max"),
    ("decimal", {"min": 0}, "-0.01", "min"),
    ("decimal", {"max": 1.5}, "1.51", "max"),
    ("money", {}, "12 XYZ", "currency"),
    ("money", {}, Money(Decimal(1), "eur"), "currency"),
    ("money", {}, Money(Decimal(1), None), "type"),  # type: ignore[arg-type]
    ("money", {}, Money(Decimal("NaN"), "EUR"), "format"),
    ("money", {}, {"amount": 1, "currency": "EURO"}, "currency"),
    ("money", {}, {"amount": 1, "currency": 978}, "type"),
    ("money", {}, "EUR 12 USD", "format"),
    ("money", {}, "12 EUR EUR", "format"),
    ("money", {}, {"amount": 1, "currency": "EUR", "x": 1}, "format"),
    ("money", {}, {"currency": "EUR"}, "format"),
    ("money", {}, {"amount": [1]}, "type"),
    ("money", {}, True, "type"),
    ("money", {}, [1], "type"),
    ("money", {}, "1e3", "format"),
    ("money", {}, 10**14, "max"),
    ("money", {}, -(10**14), "min"),
    ("money", {"min": 0}, "-1", "min"),
    ("money", {"max": 100, **ANY_OF}, "USD 100.01", "max"),
    ("money", {}, "12 USD", "currency"),  # only the field's currency by default
    ("money", ANY_OF, {"amount": 1, "currency": "GBP"}, "currency"),
    ("bool", {}, "maybe", "type"),
    ("bool", {}, 2, "type"),
    ("bool", {}, 1.0, "type"),
    ("bool", {}, [True], "type"),
    ("date", {}, "2023-02-29", "format"),
    ("date", {}, "2024-1-1", "format"),
    ("date", {}, "20240101", "format"),
    ("date", {}, "2024-01-01T00:00:00", "format"),
    ("date", {}, datetime(2024, 1, 1), "type"),
    ("date", {}, 20240101, "type"),
    ("date", {"min": "2024-01-01"}, "2023-12-31", "min"),
    ("date", {"max": "2024-01-01"}, "2024-01-02", "max"),
    ("datetime", {}, "yesterday", "format"),
    ("datetime", {}, "2024-13-01T00:00:00Z", "format"),
    ("datetime", {}, "2024-01-01T00:00:00Z" + " " * 10 + "x", "format"),
    ("datetime", {}, "0001-01-01T00:00:00+01:00", "min"),
    ("datetime", {}, "9999-12-31T23:00:00-05:00", "max"),
    ("datetime", {}, date(2024, 1, 1), "type"),
    ("datetime", {}, 1700000000, "type"),
    ("choice", {"options": ["low", "high"]}, "HIGH", "choice"),
    ("choice", {"options": ["low", "high"]}, "medium", "choice"),
    ("choice", {"options": ["1", "2"]}, 1, "type"),
    ("tags", {"max_items": 2}, "a,b,c", "too-many"),
    ("tags", {}, ["x"] * 1001, "too-many"),
    ("tags", {}, ["a" * 51], "too-long"),
    ("tags", {}, ['say "hi"'], "format"),
    ("tags", {}, ["back\\slash"], "format"),
    ("tags", {}, ["a,b"], "format"),
    ("tags", {}, ["tab\there"], "format"),
    ("tags", {"options": ["red", "green"]}, "red, blue", "choice"),
    ("tags", {}, [1], "type"),
    ("tags", {}, 5, "type"),
    ("tags", {}, {"a": 1}, "type"),
    ("ref", {"to": "t"}, 0, "format"),
    ("ref", {"to": "t"}, -1, "format"),
    ("ref", {"to": "t"}, "-1", "format"),
    ("ref", {"to": "t"}, 2**31, "format"),
    ("ref", {"to": "t"}, "99999999999", "format"),
    ("ref", {"to": "t"}, "abc", "format"),
    ("ref", {"to": "t"}, "١٢", "format"),
    ("ref", {"to": "t"}, True, "type"),
    ("ref", {"to": "t"}, 1.5, "type"),
    ("ref", {"to": "t"}, float("inf"), "type"),
    ("ref", {"to": "t"}, 0.0, "format"),
    ("ref", {"to": "t"}, 2.0**31, "format"),
    ("file", {}, "short", "format"),
    ("file", {}, "../../etc/passwd", "format"),
    ("file", {}, "a" * 65, "format"),
    ("file", {}, 1234567890123456, "type"),
    ("json", {}, float("nan"), "format"),
    ("json", {}, [float("inf")], "format"),
    ("json", {}, {1: "a"}, "type"),
    ("json", {}, {"a": {1, 2}}, "type"),
    ("json", {}, Decimal("1"), "type"),
    ("json", {}, "a\x00b", "format"),
    ("json", {}, {"k\x00": 1}, "format"),
    ("json", {}, "\ud800", "format"),
    ("json", {}, 10**5000, "format"),
    ("json", {}, "x" * (64 * 1024), "too-long"),
]


@pytest.mark.parametrize(("type_name", "options", "raw", "code"), INVALID, ids=case_ids(INVALID))
def test_clean_invalid(type_name: str, options: dict[str, Any], raw: Any, code: str) -> None:
    with pytest.raises(FieldValueError) as info:
        clean(type_name, raw, options)
    assert info.value.code == code
    assert str(info.value)


def test_json_refuses_deep_nesting_without_recursion_error() -> None:
    deep: Any = "leaf"
    for _ in range(10_000):
        deep = [deep]
    with pytest.raises(FieldValueError) as info:
        clean("json", deep)
    assert info.value.code == "format"


def test_field_value_error_keeps_template_and_params() -> None:
    with pytest.raises(FieldValueError) as info:
        clean("string", "abcd", {"max_length": 3})
    assert info.value.template == "must be at most {max} characters"
    assert info.value.params == {"max": 3}
    assert str(info.value) == "must be at most 3 characters"


# -- configs ----------------------------------------------------------------------------------
def test_choice_config_keeps_order_and_labels() -> None:
    config = make_field(
        "choice",
        {"options": ["in_progress", {"value": "done", "label": {"en": "Done", "de": "Erledigt"}}]},
    ).config
    assert isinstance(config, ChoiceConfig)
    assert [c.value for c in config.choices] == ["in_progress", "done"]
    assert config.values == frozenset({"in_progress", "done"})
    assert config.choices[0] == Choice("in_progress", Label.of("In progress"))
    assert config.label_for("done").get("de") == "Erledigt"
    assert config.label_for("unknown").get("en") == "unknown"


def test_tags_config() -> None:
    free = make_field("tags").config
    assert isinstance(free, TagsConfig) and not free.restricted and free.max_items == 20
    limited = make_field("tags", {"options": ["a", "b"], "max_items": 5}).config
    assert isinstance(limited, TagsConfig) and limited.restricted
    assert limited.values == frozenset({"a", "b"})


def test_file_config() -> None:
    config = make_field("file", {"accept": ["pdf", "png"], "max_size_mb": 2.5}).config
    assert config == FileConfig(frozenset({"pdf", "png"}), int(2.5 * 1024 * 1024))
    assert config.allows("Invoice.PDF") and not config.allows("x.exe") and not config.allows("pdf")
    assert make_field("file").config == FileConfig(frozenset(), 10 * 1024 * 1024)
    assert FileConfig().allows("anything")


def test_money_currency_defaults_to_portal_currency() -> None:
    kind = TYPES["money"]
    assert kind.make_config({}, currency="GBP").currency == "GBP"
    assert kind.make_config({"currency": "CHF"}, currency="GBP").currency == "CHF"


# -- columns ----------------------------------------------------------------------------------
def test_columns() -> None:
    ctx = TableContext(table_names={"account": "p_x__account"})
    string = make_field("string", {"max_length": 40})
    assert string.kind.column_type(string).length == 40  # type: ignore[attr-defined]
    choice = make_field("choice", {"options": ["a", "b" * 50]})
    assert choice.kind.column_type(choice).length == 50  # type: ignore[attr-defined]
    short = make_field("choice", {"options": ["a"]})
    assert short.kind.column_type(short).length == 32  # type: ignore[attr-defined]
    decimal = make_field("decimal", {"places": 3, "precision": 10})
    numeric = decimal.kind.column_type(decimal)
    assert (numeric.precision, numeric.scale) == (10, 3)  # type: ignore[attr-defined]
    money = make_field("money", name="amount")
    assert money.columns == ("amount", "amount_currency")
    cols = money.kind.columns(money, ctx)
    assert [c.name for c in cols] == ["amount", "amount_currency"]
    assert isinstance(cols[0].type, ExactDecimal) and isinstance(cols[1].type, sa.String)
    assert (cols[0].type.precision, cols[0].type.scale) == (18, 4)
    ref = make_field("ref", {"to": "account", "on_delete": "set_null"}, name="account")
    (column,) = ref.kind.columns(ref, ctx)
    (fk,) = column.foreign_keys
    assert fk.target_fullname == "p_x__account.id" and fk.ondelete == "SET NULL"
    assert isinstance(column.type, sa.Integer)
    default = make_field("ref", {"to": "account"})
    assert next(iter(default.kind.columns(default, ctx)[0].foreign_keys)).ondelete == "RESTRICT"
    assert make_field("ref", {"to": "user"}).config == RefConfig("user", "restrict")


def test_flags() -> None:
    filterable = {n for n, t in TYPES.items() if t.filterable}
    assert filterable == {"choice", "tags", "bool", "ref"}
    assert {n for n, t in TYPES.items() if not t.sortable} == {
        "text",
        "markdown",
        "tags",
        "file",
        "json",
    }
    searchable = {n for n, t in TYPES.items() if t.searchable}
    assert searchable == {"string", "text", "markdown", "email", "phone", "url", "tags", "sequence"}
    table = sa.Table("t", sa.MetaData(), sa.Column("x", sa.JSON), sa.Column("x_currency"))
    for name in ("json", "money"):
        field = make_field(name)
        assert field.kind.filter_clause(field, table, 1) is None
        assert field.kind.search_columns(field, table) == []


# -- to_json and json_schema --------------------------------------------------------------------
JSON_CASES: list[tuple[str, dict[str, Any], Any, Any]] = [
    ("money", {}, "12.5", {"amount": "12.50", "currency": "EUR"}),
    ("money", ANY_OF, "JPY 12", {"amount": "12", "currency": "JPY"}),
    ("decimal", {}, "3", "3.00"),
    ("decimal", {"places": 10}, "0", "0.0000000000"),
    ("decimal", {"places": 8}, "-0.00000001", "-0.00000001"),
    ("date", {}, "2024-02-29", "2024-02-29"),
    ("datetime", {}, "2024-01-01T10:00:00+02:00", "2024-01-01T08:00:00Z"),
    ("datetime", {}, "2024-01-01T10:00:00.250Z", "2024-01-01T10:00:00.250000Z"),
    ("tags", {}, "b,a", ["a", "b"]),
    ("tags", {"options": ["a", "b"]}, "b", ["b"]),
    ("choice", {"options": ["x", "y"]}, "y", "y"),
    ("ref", {"to": "t"}, "5", 5),
    ("int", {"min": 0, "max": 10}, 5, 5),
    ("bool", {}, "on", True),
    ("string", {"pattern": "[a-z]+", "min_length": 2}, "abc", "abc"),
    ("text", {}, "a\nb", "a\nb"),
    ("email", {}, "a@example.com", "a@example.com"),
    ("phone", {}, "+49 30 1234", "+49 30 1234"),
    ("url", {}, "https://example.com", "https://example.com"),
    ("file", {}, "f" * 20, "f" * 20),
    ("json", {}, {"a": [1]}, {"a": [1]}),
]


@pytest.mark.parametrize(
    ("type_name", "options", "raw", "expected"), JSON_CASES, ids=case_ids(JSON_CASES)
)
def test_to_json_matches_json_schema_and_cleans_back(
    type_name: str, options: dict[str, Any], raw: Any, expected: Any
) -> None:
    field = make_field(type_name, options)
    value = field.kind.clean(field, raw)
    out = field.kind.to_json(field, value)
    assert out == expected
    jsonschema.validate(out, field.kind.json_schema(field))
    assert field.kind.clean(field, out) == value
    assert field.kind.to_json(field, None) is None


def test_json_schemas_are_valid_schemas() -> None:
    for name in ALL_NAMES:
        options = {"options": ["a"]} if name == "choice" else {"to": "t"} if name == "ref" else {}
        field = make_field(name, options)
        jsonschema.Draft202012Validator.check_schema(field.kind.json_schema(field))


def test_clean_tolerates_missing_config() -> None:
    """A hand-built field without a config still cleans with the defaults."""
    for name in ALL_NAMES:
        kind = TYPES[name]
        field = Field(name="x", type=name, label=Label.of("X"), kind=kind)
        assert kind.clean(field, None) is None
    bare = Field(name="x", type="money", label=Label.of("X"), kind=TYPES["money"])
    assert TYPES["money"].clean(bare, "3 EUR") == Money(Decimal("3.00"), "EUR")
    with pytest.raises(FieldValueError):
        TYPES["money"].clean(bare, "3")  # no currency anywhere
