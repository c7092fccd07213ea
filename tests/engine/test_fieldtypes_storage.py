"""Built-in field types against real databases: columns, storage round trips, filters.

Every test runs on SQLite and on PostgreSQL (`database_url`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from portalis.engine.data.db import begin_write, create_engine
from portalis.engine.definition.fields import TableContext
from portalis.engine.definition.fieldtypes import Money, builtin_field_types
from portalis.engine.definition.model import Field
from portalis.engine.definition.values import Label

TYPES = {t.name: t for t in builtin_field_types()}
TARGET = "p_test__target"
CTX = TableContext(table_names={"target": TARGET, "account": TARGET, "user": TARGET})


def make_field(name: str, type_name: str, options: dict[str, Any] | None = None) -> Field:
    kind = TYPES[type_name]
    return Field(
        name=name,
        type=type_name,
        label=Label.of(name),
        kind=kind,
        config=kind.make_config(options or {}, currency="EUR"),
    )


#: One field of every type (money twice: default and explicit currency).
FIELDS = [
    make_field("f_string", "string", {"max_length": 40, "pattern": "[A-Za-z ]+"}),
    make_field("f_text", "text"),
    make_field("f_email", "email"),
    make_field("f_phone", "phone"),
    make_field("f_url", "url"),
    make_field("f_int", "int"),
    make_field("f_decimal", "decimal", {"places": 3, "precision": 12}),
    make_field("f_money", "money", {"currencies": ["EUR", "KWD"]}),
    make_field("f_price", "money", {"currency": "JPY", "currencies": ["JPY", "USD"]}),
    make_field("f_bool", "bool"),
    make_field("f_date", "date"),
    make_field("f_datetime", "datetime"),
    make_field("f_choice", "choice", {"options": ["low", "normal", "high"]}),
    make_field("f_tags", "tags"),
    make_field("f_ref", "ref", {"to": "target", "on_delete": "set_null"}),
    make_field("f_file", "file", {"accept": ["pdf"]}),
    make_field("f_json", "json"),
    make_field("f_markdown", "markdown", {"max_length": 500}),
]

ROWS: list[dict[str, Any]] = [
    {
        "f_string": "  Hello World ",
        "f_text": "Zeile 1\r\nZeile 2 — ünïcode ✓",
        "f_email": "Anna.Berg@ACME.test",
        "f_phone": "+49 (30)  1234-567",
        "f_url": "https://example.com/a?b=1#c",
        "f_int": 2**53 + 1,
        "f_decimal": "123456789.1235",
        "f_money": "1234.565",
        "f_price": "1234",
        "f_bool": "on",
        "f_date": "2024-02-29",
        "f_datetime": "2024-06-30T23:59:59.123456+14:00",
        "f_choice": "high",
        "f_tags": "zeta, Größe, alpha, zeta",
        "f_ref": "1",
        "f_file": "f1le_id-0123456789",
        "f_json": {"n": [1, 2.5, None, True], "s": "ü\u2028", "e": {}, "big": 10**30},
        "f_markdown": "# Título\r\n\n<script>x()</script> **ünïcode** [a](javascript:x)\r\n",
    },
    {
        "f_int": -(2**63),
        "f_decimal": -0.5,
        "f_money": {"amount": "-0.01", "currency": "KWD"},
        "f_price": "USD 99.99",
        "f_bool": False,
        "f_datetime": datetime(1970, 1, 1),
        "f_tags": ["solo"],
        "f_json": [],
    },
    {"f_money": Money(Decimal("99999999999.99"), "EUR"), "f_json": "plain text", "f_bool": "0"},
    {},  # every field empty
]


def build_tables(metadata: sa.MetaData, fields: list[Field]) -> tuple[sa.Table, sa.Table]:
    target = sa.Table(TARGET, metadata, sa.Column("id", sa.Integer, primary_key=True))
    columns: list[Any] = [sa.Column("id", sa.Integer, primary_key=True)]
    for field in fields:
        columns.extend(field.kind.columns(field, CTX))
    return target, sa.Table("p_test__record", metadata, *columns)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def storage_of(fields: list[Field], values: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for field in fields:
        row.update(field.kind.to_storage(field, values.get(field.name)))
    return row


def test_round_trip_every_type(engine: sa.Engine) -> None:
    metadata = sa.MetaData()
    target, table = build_tables(metadata, FIELDS)
    cleaned = [{f.name: f.kind.clean(f, raw.get(f.name)) for f in FIELDS} for raw in ROWS]
    with begin_write(engine) as conn:
        metadata.create_all(conn)
        conn.execute(target.insert(), [{"id": 1}])
        for i, values in enumerate(cleaned, start=1):
            conn.execute(table.insert().values(id=i, **storage_of(FIELDS, values)))
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table).order_by(table.c.id)).mappings().all()
    assert len(rows) == len(cleaned)
    for row, expected in zip(rows, cleaned):
        for field in FIELDS:
            value = field.kind.from_storage(field, row)
            want = expected[field.name]
            assert value == want, field.name
            assert type(value) is type(want), field.name
            if isinstance(want, Decimal | Money):
                assert str(value) == str(want), field.name
            if isinstance(want, datetime):
                assert value.utcoffset() == UTC.utcoffset(None), field.name
            assert field.kind.to_json(field, value) == field.kind.to_json(field, want)
    first = cleaned[0]
    assert first["f_money"] == Money(Decimal("1234.56"), "EUR")  # half-even: 6 is even
    assert first["f_price"] == Money(Decimal("1234"), "JPY")
    assert first["f_datetime"] == datetime(2024, 6, 30, 9, 59, 59, 123456, tzinfo=UTC)
    assert first["f_tags"] == ["Größe", "alpha", "zeta"]
    assert first["f_date"] == date(2024, 2, 29)
    # markdown is stored as its source, markup and all: sanitising is the renderer's job
    assert first["f_markdown"] == "# Título\n\n<script>x()</script> **ünïcode** [a](javascript:x)"
    assert all(v is None for v in cleaned[-1].values())


def test_exact_decimals_on_postgresql(postgres_url_fixture: str) -> None:
    """NUMERIC keeps all 18 digits on PostgreSQL (SQLite stores REAL, ~15 digits)."""
    engine = create_engine(postgres_url_fixture)
    fields = [make_field("d", "decimal"), make_field("m", "money")]
    metadata = sa.MetaData()
    _, table = build_tables(metadata, fields)
    values = {"d": Decimal("1234567890123456.78"), "m": Money(Decimal("99999999999999.99"), "EUR")}
    with begin_write(engine) as conn:
        metadata.create_all(conn)
        conn.execute(table.insert().values(id=1, **storage_of(fields, values)))
        row = conn.execute(sa.select(table)).mappings().one()
    engine.dispose()
    for field in fields:
        assert str(field.kind.from_storage(field, row)) == str(values[field.name])


FILTER_FIELDS = [
    make_field("status", "choice", {"options": ["open", "closed"]}),
    make_field("tags", "tags"),
    make_field("flag", "bool"),
    make_field("owner", "ref", {"to": "target"}),
]
FILTER_ROWS: list[dict[str, Any]] = [
    {"status": "open", "tags": "a, b", "flag": True, "owner": 1},
    {"status": "closed", "tags": "ab", "flag": False, "owner": 2},
    {"status": None, "tags": "Größe, b", "flag": None, "owner": None},
    {"status": "closed", "tags": "A, 100%, x_y", "flag": True, "owner": 1},
    {"status": "open", "tags": None, "flag": False, "owner": 2},
]


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("status", "open", [1, 5]),
        ("status", "closed", [2, 4]),
        ("status", "", [3]),
        ("tags", "a", [1]),
        ("tags", "A", [4]),
        ("tags", "b", [1, 3]),
        ("tags", "a, b", [1]),
        ("tags", "ab", [2]),
        ("tags", "Größe", [3]),
        ("tags", "größe", []),
        ("tags", "100%", [4]),
        ("tags", "1%", []),
        ("tags", "x_y", [4]),
        ("tags", "xy", []),
        ("tags", "x", []),
        ("tags", None, [5]),
        ("flag", "true", [1, 4]),
        ("flag", "off", [2, 3, 5]),
        ("flag", "", [3]),
        ("owner", "1", [1, 4]),
        ("owner", 2, [2, 5]),
        ("owner", None, [3]),
    ],
)
def test_filter_clause(engine: sa.Engine, name: str, raw: Any, expected: list[int]) -> None:
    metadata = sa.MetaData()
    target, table = build_tables(metadata, FILTER_FIELDS)
    with begin_write(engine) as conn:
        metadata.create_all(conn)
        conn.execute(target.insert(), [{"id": 1}, {"id": 2}])
        for i, raw_row in enumerate(FILTER_ROWS, start=1):
            values = {f.name: f.kind.clean(f, raw_row.get(f.name)) for f in FILTER_FIELDS}
            conn.execute(table.insert().values(id=i, **storage_of(FILTER_FIELDS, values)))
    field = next(f for f in FILTER_FIELDS if f.name == name)
    value = field.kind.clean(field, raw)
    # Like the record store: no value means IS NULL, anything else the type's clause.
    clause = (
        table.c[name].is_(None) if value is None else field.kind.filter_clause(field, table, value)
    )
    assert clause is not None
    with engine.connect() as conn:
        ids = conn.execute(sa.select(table.c.id).where(clause).order_by(table.c.id)).scalars()
        assert list(ids) == expected


def test_tags_search_column_is_text(engine: sa.Engine) -> None:
    field = make_field("tags", "tags")
    metadata = sa.MetaData()
    _, table = build_tables(metadata, [field])
    with begin_write(engine) as conn:
        metadata.create_all(conn)
        conn.execute(table.insert().values(id=1, **field.kind.to_storage(field, ["billing"])))
        (column,) = field.kind.search_columns(field, table)
        found = conn.execute(sa.select(table.c.id).where(sa.func.lower(column).like("%bill%")))
        assert found.scalars().all() == [1]


@pytest.mark.parametrize(
    ("on_delete", "after"), [("set_null", [None]), ("cascade", []), ("restrict", "error")]
)
def test_ref_on_delete(engine: sa.Engine, on_delete: str, after: Any) -> None:
    field = make_field("owner", "ref", {"to": "target", "on_delete": on_delete})
    metadata = sa.MetaData()
    target, table = build_tables(metadata, [field])
    with begin_write(engine) as conn:
        metadata.create_all(conn)
        conn.execute(target.insert().values(id=1))
        conn.execute(table.insert().values(id=1, **field.kind.to_storage(field, 1)))
    if after == "error":
        with pytest.raises(sa.exc.IntegrityError), begin_write(engine) as conn:
            conn.execute(target.delete())
        return
    with begin_write(engine) as conn:
        conn.execute(target.delete())
        assert conn.execute(sa.select(table.c.owner)).scalars().all() == after
