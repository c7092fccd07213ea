"""The bool field type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa

from ..fields import FieldValueError
from ._base import BuiltinType, is_blank

if TYPE_CHECKING:
    from ..model import Field

_TRUE: Final = frozenset({"true", "on", "1", "yes"})
_FALSE: Final = frozenset({"false", "off", "0", "no"})


class BoolType(BuiltinType):
    """Yes or no."""

    name = "bool"
    description = "Yes or no; forms may send true/false, on/off, 1/0 or yes/no."
    filterable = True

    def column_type(self, field: Field) -> sa.types.TypeEngine[Any]:
        """BOOLEAN."""
        return sa.Boolean()

    def clean(self, field: Field, raw: Any) -> bool | None:
        """True or False from a bool, 0/1 or a form word."""
        if is_blank(raw):
            return None
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str):
            word = raw.strip().lower()
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
        raise FieldValueError("type", "must be yes or no")

    def filter_clause(
        self, field: Field, table: sa.Table, value: Any
    ) -> sa.ColumnElement[bool] | None:
        """`IS TRUE`, or `IS NOT TRUE` for False: an unchecked box that was never saved counts
        as no."""
        column = table.c[field.name]
        return column.is_(True) if value else column.is_not(True)

    def json_schema(self, field: Field) -> dict[str, Any]:
        """A boolean."""
        return {"type": "boolean"}
