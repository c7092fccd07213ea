"""The json field type: any JSON value up to 64 KiB, for data no other type describes."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa

from ..fields import FieldValueError
from ._base import BuiltinType

if TYPE_CHECKING:
    from ..model import Field

MAX_JSON_BYTES: Final = 64 * 1024
MAX_JSON_DEPTH: Final = 64


class JsonType(BuiltinType):
    """Free-form JSON: objects, arrays, strings, numbers, booleans."""

    name = "json"
    description = "Any JSON value (object, array, text, number, boolean) up to 64 KiB."
    sortable = False

    def column_type(self, field: Field) -> sa.types.TypeEngine[Any]:
        """JSON; no value is SQL NULL, not JSON null."""
        return sa.JSON(none_as_null=True)

    def clean(self, field: Field, raw: Any) -> Any:
        """A fresh copy of a JSON-compatible value (tuples become lists).

        Strings are values, not JSON text to parse: a form that edits JSON as text parses it
        before cleaning. None and blank text mean no value; [] and {} are kept.
        """
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        _check_shape(raw)
        try:
            text = json.dumps(raw, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
            size = len(text.encode("utf-8"))
        except (ValueError, TypeError, RecursionError) as exc:
            # ValueError also covers ints too long for str() and lone surrogates.
            raise FieldValueError("format", "must be a JSON value") from exc
        if size > MAX_JSON_BYTES:
            raise FieldValueError(
                "too-long", "must be at most {max} bytes as JSON", max=MAX_JSON_BYTES
            )
        return json.loads(text)

    def filter_clause(
        self, field: Field, table: sa.Table, value: Any
    ) -> sa.ColumnElement[bool] | None:
        """JSON is not filterable (PostgreSQL has no equality for json)."""
        return None

    def json_schema(self, field: Field) -> dict[str, Any]:
        """Any value."""
        return {}


def _check_shape(raw: Any) -> None:
    """Refuse anything but dicts with text keys, lists, tuples, text, numbers, bools, None.

    Iterative, so deep nesting is a refusal rather than a RecursionError.
    """
    stack: list[tuple[Any, int]] = [(raw, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise FieldValueError("format", "nests deeper than {max} levels", max=MAX_JSON_DEPTH)
        if value is None or isinstance(value, bool | int):
            continue
        if isinstance(value, float):
            if not math.isfinite(value):
                raise FieldValueError("format", "numbers must be finite")
        elif isinstance(value, str):
            _check_string(value)
        elif isinstance(value, list | tuple):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise FieldValueError("type", "object keys must be text")
                _check_string(key)
                stack.append((item, depth + 1))
        else:
            raise FieldValueError("type", "must be a JSON value")


def _check_string(value: str) -> None:
    # NUL is valid JSON but PostgreSQL's jsonb and text refuse it.
    if "\x00" in value:
        raise FieldValueError("format", "text must not contain NUL characters")
