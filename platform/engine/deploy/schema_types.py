"""Canonical column types: how the migration planner decides that a column's type changed.

A type is compared by the SQL the live database would see. Both the target type and the
reflected type are compiled for the dialect and the DDL spelling is parsed into a `ColumnType`
(family, size, scale, time zone). Compiling first makes type decorators, dialect variants and
emulated types (`Uuid` is `CHAR(32)` on SQLite) compare the way they are stored, and it matches
SQLite, whose reflected type is simply what the DDL said.

The module also knows which changes keep every value (`widening`), how to find rows a
narrowing would damage (`loss_condition`) and which value fills a new NOT NULL column
(`zero_value`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final

import sqlalchemy as sa

from ..definition.fieldtypes.exact import SCALED_NAME

#: DDL base names (upper case, single spaces) → type family.
FAMILIES: Final = MappingProxyType(
    {
        "VARCHAR": "text",
        "CHARACTER VARYING": "text",
        "NVARCHAR": "text",
        "CHAR": "text",
        "CHARACTER": "text",
        "NCHAR": "text",
        "TEXT": "text",
        "CLOB": "text",
        "SMALLINT": "int",
        "INT2": "int",
        "INTEGER": "int",
        "INT": "int",
        "INT4": "int",
        "BIGINT": "int",
        "INT8": "int",
        "NUMERIC": "numeric",
        "DECIMAL": "numeric",
        SCALED_NAME: "numeric",
        "FLOAT": "float",
        "REAL": "float",
        "FLOAT4": "float",
        "FLOAT8": "float",
        "DOUBLE": "float",
        "DOUBLE PRECISION": "float",
        "BOOLEAN": "bool",
        "BOOL": "bool",
        "DATE": "date",
        "DATETIME": "datetime",
        "TIMESTAMP": "datetime",
        "TIMESTAMPTZ": "datetime",
        "TIME": "time",
        "JSON": "json",
        "JSONB": "json",
        "BLOB": "binary",
        "BYTEA": "binary",
        "UUID": "uuid",
    }
)
_INT_BYTES: Final = MappingProxyType(
    {"SMALLINT": 2, "INT2": 2, "INTEGER": 4, "INT": 4, "INT4": 4, "BIGINT": 8, "INT8": 8}
)
#: The `ColumnType.variant` of SQLite's scaled decimals (`SCALED_DECIMAL(p, s)`).
SCALED: Final = "scaled"
_TYPE_RE: Final = re.compile(r"^([A-Z][A-Z0-9_ ]*?)\s*(?:\((\d+)(?:\s*,\s*(\d+))?\))?(?:\s+(.*))?$")


@dataclass(frozen=True, slots=True)
class ColumnType:
    """A column type reduced to what matters for storage.

    `variant` tells apart spellings of one family that differ in behaviour (`char`, `varchar`,
    `text`; `json`, `jsonb`); `size` is a length (text), a byte width (int, float) or a
    precision (numeric); `None` means unbounded. `sql` is the DDL spelling, for messages only.
    """

    family: str
    variant: str = ""
    size: int | None = None
    scale: int | None = None
    tz: bool = False
    sql: str = field(default="", compare=False)


def compile_type(type_: sa.types.TypeEngine[Any], dialect: sa.Dialect) -> str:
    """The DDL spelling of `type_` on `dialect`, whitespace normalised."""
    try:
        text = type_.compile(dialect=dialect)
    except sa.exc.CompileError:
        # Reflection can produce types a dialect cannot render (NullType for an unknown name);
        # their class name still identifies them well enough to detect a change.
        text = type(type_).__name__.upper()
    return " ".join(text.split())


def canonical_type(type_: sa.types.TypeEngine[Any], dialect: sa.Dialect) -> ColumnType:
    """The canonical form of `type_` as `dialect` stores it."""
    sql = compile_type(type_, dialect)
    match = _TYPE_RE.match(sql.upper())
    if match is None:
        return ColumnType("other", sql.upper(), sql=sql)
    base, first, second, rest = match.groups()
    family = FAMILIES.get(base)
    arg1 = int(first) if first is not None else None
    arg2 = int(second) if second is not None else None
    sqlite = dialect.name == "sqlite"
    if family == "text":
        variant = {"CHAR": "char", "CHARACTER": "char", "NCHAR": "char"}.get(base, "varchar")
        if base in ("TEXT", "CLOB"):
            return ColumnType("text", "text", None, sql=sql)
        return ColumnType("text", variant, arg1, sql=sql)
    if family == "int":
        return ColumnType("int", size=_INT_BYTES[base], sql=sql)
    if family == "numeric":
        # SQLite's scaled decimals hold whole units: same values, another representation
        return ColumnType(
            "numeric",
            SCALED if base == SCALED_NAME else "",
            size=arg1,
            scale=(arg2 or 0) if arg1 is not None else None,
            sql=sql,
        )
    if family == "float":
        # SQLite stores every REAL in 8 bytes, whatever the declared name says.
        single = base in ("REAL", "FLOAT4") or (base == "FLOAT" and arg1 is not None and arg1 <= 24)
        return ColumnType("float", size=8 if sqlite or not single else 4, sql=sql)
    if family == "datetime":
        tz = base == "TIMESTAMPTZ" or "WITH TIME ZONE" in (rest or "")
        return ColumnType("datetime", tz=tz and not sqlite, sql=sql)
    if family == "json":
        return ColumnType("json", base.lower(), sql=sql)
    if family is not None and rest is None:
        return ColumnType(family, size=arg1, sql=sql)
    return ColumnType("other", sql.upper(), sql=sql)


def is_widening(old: ColumnType, new: ColumnType) -> bool:
    """True when every value of `old` is kept unchanged by `new` (a safe, additive change).

    A change of family (text to integer, datetime to date) is never widening, even when the
    current values would happen to convert: that is for the loss check at apply time.
    """
    if old.family != new.family:
        return False
    if old.family in ("text", "float", "int", "binary"):
        if old.family == "text" and old.variant != "text" and new.variant == "char":
            return False  # CHAR pads values with blanks
        return _capacity(new.size) >= _capacity(old.size)
    if old.family == "numeric":
        if new.size is None:
            return True
        if old.size is None:
            return False
        old_scale, new_scale = old.scale or 0, new.scale or 0
        return new.size - new_scale >= old.size - old_scale and new_scale >= old_scale
    if old.family == "datetime":
        return new.tz or not old.tz
    # json <-> jsonb keeps values; other families compare equal or are kind changes.
    return old.family == "json"


def _capacity(size: int | None) -> float:
    return float("inf") if size is None else float(size)


def loss_condition(
    column: sa.ColumnElement[Any],
    old_type: sa.types.TypeEngine[Any],
    new_type: sa.types.TypeEngine[Any],
    dialect: sa.Dialect,
) -> sa.ColumnElement[bool] | None:
    """A WHERE condition true for rows whose value would not survive `old_type -> new_type`.

    None when the change keeps every value. The checks are the same on every database, so a
    narrowing that PostgreSQL would round or SQLite would silently cast (`CAST('2024-01-01' AS
    DATE)` is 2024 there) is refused the same way on both.
    """
    old = canonical_type(old_type, dialect)
    new = canonical_type(new_type, dialect)
    if is_widening(old, new):
        return None
    present = column.is_not(None)
    if old.variant == SCALED and new.variant == SCALED:
        return sa.and_(present, _scaled_loss(column, old, new))
    if old.variant == SCALED and new.family == "int":  # whole units of 10**scale only
        unit = 10 ** (old.scale or 0)
        limit = 2 ** (8 * (new.size or 8) - 1) * unit
        too_big = sa.func.abs(column) >= sa.literal(limit) if limit < 2**63 else sa.false()
        return sa.and_(present, sa.or_(column % sa.literal(unit) != 0, too_big))
    if old.variant == SCALED:  # checked on the values the units stand for
        column = sa.cast(column, sa.Float()) / sa.literal(10 ** (old.scale or 0))
        old_type = sa.Numeric(old.size, old.scale)
        old = canonical_type(old_type, dialect)
    if new.variant == SCALED:
        new_type = sa.Numeric(new.size, new.scale)
        new = canonical_type(new_type, dialect)
    too_long = None
    if new.family == "text" and new.size is not None:
        too_long = sa.func.length(sa.cast(column, sa.Text())) > new.size
        if old.family == "text":
            return sa.and_(present, too_long)
    if old.family == new.family == "int" and new.size is not None:
        limit = 2 ** (8 * new.size - 1)
        return sa.and_(present, sa.or_(column < -limit, column > limit - 1))
    if old.family == new.family == "numeric" and new.size is not None:
        scale = new.scale or 0
        bound = sa.literal(Decimal(10) ** (new.size - scale), sa.Numeric())
        return sa.and_(
            present,
            sa.or_(sa.func.abs(column) >= bound, sa.func.round(column, scale) != column),
        )
    if old.family == new.family == "datetime":
        return None  # only the time zone flag differs: instants are kept
    # A kind change (or a float narrowing): convert there and back, compare as text.
    there_and_back = sa.cast(sa.cast(sa.cast(column, new_type), old_type), sa.Text())
    lossy = there_and_back.is_distinct_from(sa.cast(column, sa.Text()))
    if too_long is not None:
        lossy = sa.or_(lossy, too_long)
    return sa.and_(present, lossy)


def _scaled_loss(
    column: sa.ColumnElement[Any], old: ColumnType, new: ColumnType
) -> sa.ColumnElement[bool]:
    """Units (10**-old.scale each) that do not fit `new`: too large, or finer than its scale."""
    old_scale, new_scale = old.scale or 0, new.scale or 0
    bound = 10 ** ((new.size or 18) - new_scale + old_scale)
    # a bound beyond 64 bits cannot be reached by stored units (nor bound as a parameter)
    lost: sa.ColumnElement[bool] = (
        sa.func.abs(column) >= sa.literal(bound) if bound < 2**63 else sa.false()
    )
    if new_scale < old_scale:
        lost = sa.or_(lost, column % sa.literal(10 ** (old_scale - new_scale)) != 0)
    return lost


def unit_conversions(old: ColumnType, new: ColumnType) -> tuple[str | None, str | None]:
    """SQL (with `{col}`) that converts values around a type change from `old` to `new` on
    SQLite where scaled decimals are involved: (before the table is rebuilt, after it).

    Before: scaled units become the numbers they stand for (the rebuild then casts them to
    the new type). After: numbers become units of the new scale, or units are rescaled with
    integer arithmetic (exact: `loss_condition` refused what would not divide).
    """
    if old.variant == SCALED and new.variant == SCALED:
        shift = (new.scale or 0) - (old.scale or 0)
        if shift > 0:
            return None, f"{{col}} * {10**shift}"
        return None, (f"{{col}} / {10**-shift}" if shift < 0 else None)
    before = after = None
    if old.variant == SCALED:
        before = f"CAST({{col}} AS REAL) / {10 ** (old.scale or 0)}"
    if new.variant == SCALED:
        after = f"CAST(ROUND({{col}} * {10 ** (new.scale or 0)}) AS INTEGER)"
    return before, after


def zero_value(type_: sa.types.TypeEngine[Any], dialect: sa.Dialect) -> tuple[bool, Any]:
    """`(True, value)` with the neutral value of a type, or `(False, None)` when there is none.

    Used to fill existing rows when a NOT NULL column without a default is added with consent.
    Dates, times, JSON and the like have no neutral value; inventing one would be lying.
    """
    family = canonical_type(type_, dialect).family
    values: dict[str, Any] = {
        "text": "",
        "int": 0,
        "numeric": Decimal(0),
        "float": 0.0,
        "bool": False,
    }
    if family in values:
        return True, values[family]
    return False, None
