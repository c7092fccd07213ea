"""Exact decimal columns on every database: `exact_decimal(precision, scale)`.

PostgreSQL stores `NUMERIC(p, s)` exactly. SQLite has no decimal storage: a NUMERIC column
keeps a binary floating-point number with 15 significant digits, so 12345678901234.5678 comes
back as 12345678901234.568 and sums drift (0.1 + 0.2). On SQLite the same column is therefore
declared `SCALED_DECIMAL(p, s)` and holds the value as a whole number of its smallest unit
(10⁻ˢ): 12.50 in a column with scale 2 is the 64-bit integer 1250. SQLite compares, sorts and
adds integers exactly (`SUM` fails loudly on overflow rather than rounding), and the column
type converts on the way in and out, so queries built on the column — filters, sorts, `SUM`,
`MIN`, `MAX` — see Decimals on both databases.

The spelling `SCALED_DECIMAL` has SQLite's NUMERIC affinity (it stores the integers as
INTEGER) and is registered with SQLAlchemy's SQLite reflection, so a reflected column (a
migration plan, a table rebuild) is recognised as what it is and never re-converted.

Precision up to 18 digits fits a 64-bit integer; a SQLite column of more digits stays NUMERIC
(15 significant digits), as the decimal type's reference says.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import base as sqlite_base

#: The SQLite type name of scaled decimal columns.
SCALED_NAME: Final = "SCALED_DECIMAL"
#: Most digits a scaled column holds: 10**18 - 1 fits a signed 64-bit integer.
MAX_SCALED_PRECISION: Final = 18


class ScaledDecimal(sa.types.UserDefinedType[Any]):
    """The SQLite storage of an exact decimal: an integer count of 10**-scale units."""

    cache_ok = True

    def __init__(self, precision: int = MAX_SCALED_PRECISION, scale: int = 0) -> None:
        self.precision = precision
        self.scale = scale

    def get_col_spec(self, **kw: Any) -> str:
        """`SCALED_DECIMAL(p, s)`."""
        return f"{SCALED_NAME}({self.precision}, {self.scale})"


# Reflection of SQLite tables must give back a ScaledDecimal, not the NUMERIC its affinity
# suggests: a table rebuilt from reflection (alembic's batch mode) would otherwise lose the
# spelling, and the next plan would scale its integers a second time.
sqlite_base.ischema_names.setdefault(SCALED_NAME, ScaledDecimal)


class ExactDecimal(sa.types.TypeDecorator[Decimal]):
    """NUMERIC(p, s) on PostgreSQL; on SQLite, `ScaledDecimal` with values converted."""

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(precision, scale, asdecimal=True)
        self.precision = precision
        self.scale = scale

    def _scaled(self, dialect: sa.Dialect) -> bool:
        return dialect.name == "sqlite" and self.precision <= MAX_SCALED_PRECISION

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        """The column type as `dialect` declares it."""
        if self._scaled(dialect):
            return dialect.type_descriptor(ScaledDecimal(self.precision, self.scale))
        return dialect.type_descriptor(sa.Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        """On SQLite, the number of units: an int (a float only for a comparison bound with
        more decimals than the column stores, which compares correctly either way)."""
        if value is None or not self._scaled(dialect):
            return value
        units = _decimal(value).scaleb(self.scale)
        integral = units.to_integral_value()
        return int(integral) if units == integral else float(units)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Decimal | None:
        """A Decimal from the stored units (SQLite) or the stored number."""
        if value is None:
            return None
        if not self._scaled(dialect):
            return _decimal(value)
        return _decimal(value).scaleb(-self.scale)

    @property
    def python_type(self) -> type[Decimal]:
        """Values are Decimals."""
        return Decimal


def exact_decimal(precision: int, scale: int) -> ExactDecimal:
    """The column type of an exact decimal with `precision` digits, `scale` after the point."""
    return ExactDecimal(precision, scale)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))  # the shortest text that is this float
    return Decimal(value)
