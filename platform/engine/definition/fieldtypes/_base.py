"""Helpers shared by the built-in field types: empty input, text checks, option problems.

Every `clean` of a built-in type raises only `FieldValueError`; the helpers here are the common
first steps (is the input empty, is it text, does it hold characters no column should store).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final, TypeVar

import sqlalchemy as sa

from ...problems import Problem
from ..fields import CheckContext, FieldType, FieldValueError

if TYPE_CHECKING:
    from ..model import Field

_C = TypeVar("_C")

#: Characters refused in multi-line text: C0/C1 controls except tab and newline, DEL, and lone
#: surrogates. PostgreSQL rejects NUL, psycopg cannot encode surrogates, and invisible controls
#: in user text only ever hide something.
_TEXT_FORBIDDEN: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
#: The same for single-line values, where tab and newline are refused as well.
_LINE_FORBIDDEN: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

#: JSON Schema of a label: one string, or a map locale → string.
LABEL_SCHEMA: Final[dict[str, Any]] = {
    "oneOf": [
        {"type": "string"},
        {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {"type": "string"},
        },
    ]
}


def is_blank(raw: Any) -> bool:
    """True for input that means "no value": None, blank text, an empty list."""
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    return isinstance(raw, list | tuple) and not raw


def require_text(raw: Any) -> str:
    """`raw` if it is a string, else a `type` error (numbers are not silently turned to text)."""
    if not isinstance(raw, str):
        raise FieldValueError("type", "must be text")
    return raw


def check_line(value: str) -> str:
    """`value` unless it holds control characters, tabs or line breaks."""
    if _LINE_FORBIDDEN.search(value):
        raise FieldValueError("format", "must be a single line without control characters")
    return value


def check_text(value: str) -> str:
    """`value` unless it holds control characters (tabs and line breaks are fine)."""
    if _TEXT_FORBIDDEN.search(value):
        raise FieldValueError("format", "must not contain control characters")
    return value


def max_length(value: str, limit: int) -> str:
    """`value` unless it is longer than `limit` characters."""
    if len(value) > limit:
        raise FieldValueError("too-long", "must be at most {max} characters", max=limit)
    return value


def config_of(field: Field, default: _C) -> _C:
    """The field's config when it has the expected class, else `default`.

    Fields are normally built by the compiler with `make_config`; the fallback keeps `clean`
    total for hand-built fields too.
    """
    config = field.config
    return config if isinstance(config, type(default)) else default


def option_problem(
    ctx: CheckContext, code: str, message: str, option: str | None = None, hint: str = ""
) -> Problem:
    """A problem located at the field (or at one of its options)."""
    path = ctx.path if option is None else (*ctx.path, option)
    return ctx.problem(code, message, path, hint)


class BuiltinType(FieldType):
    """Base of the built-in types: filters and searches only where the flags allow them.

    The protocol's defaults compare and search any column; built-ins answer None / [] when
    their flags say no, so a caller that forgets to look at the flags cannot build SQL that
    fails on one database only (PostgreSQL has no `=` for JSON, for example).
    """

    def filter_clause(
        self, field: Field, table: sa.Table, value: Any
    ) -> sa.ColumnElement[bool] | None:
        """`column = value` for filterable types, else None."""
        if not self.filterable:
            return None
        clause: sa.ColumnElement[bool] = table.c[field.name] == value
        return clause

    def search_columns(self, field: Field, table: sa.Table) -> list[sa.ColumnElement[Any]]:
        """The field's column for searchable types, else none."""
        return [table.c[field.name]] if self.searchable else []
