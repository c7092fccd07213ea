"""The field-type protocol and registry.

A field type knows its columns, how values go to and come from storage, how raw input is
cleaned and validated, the JSON Schema of its options and its own definition checks (the shape
follows Wagtail's block base). Types are registered through the `portalis_field_types` hook;
the built-ins are a default plugin (`portalis.engine.definition.fieldtypes`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa

from ..problems import JsonPath, PortalisError, Problem

if TYPE_CHECKING:
    from .model import Field


class FieldValueError(PortalisError):
    """A value is not valid for a field. `code` is stable; `params` fill the message."""

    code = "invalid"

    def __init__(self, code: str, message: str, **params: Any) -> None:
        super().__init__(message.format(**params) if params else message, code=code)
        self.template = message
        self.params = params


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What a field type's definition check may look at.

    `entities` maps entity names to their raw field mappings; `problem` builds a located
    problem for a JSON path; `path` is the field's own path.
    """

    entity: str
    path: JsonPath
    entities: Mapping[str, Mapping[str, Any]]
    currency: str
    problem: Callable[..., Problem]


@dataclass(frozen=True, slots=True)
class TableContext:
    """What a field type needs to build its columns: table names of other entities."""

    table_names: Mapping[str, str]


class FieldType:
    """Base class of field types. Subclasses set `name` and override what differs.

    Single-column types only override `column_type`, `clean` and, where storage differs from
    the Python value, `to_storage`/`from_storage`.
    """

    #: The type name used in definitions (`type: string`).
    name: ClassVar[str] = ""
    #: JSON Schema `properties` of the type-specific options.
    options_schema: ClassVar[Mapping[str, Any]] = {}
    #: Options that must be present.
    required_options: ClassVar[tuple[str, ...]] = ()
    #: One line of documentation for the generated reference.
    description: ClassVar[str] = ""
    sortable: ClassVar[bool] = True
    filterable: ClassVar[bool] = False
    searchable: ClassVar[bool] = False
    #: True when the record store assigns the value as a record is created (a sequence
    #: number): never written by anyone, always unique.
    assigned: ClassVar[bool] = False

    # -- definition time ---------------------------------------------------------------
    def make_config(self, options: Mapping[str, Any], *, currency: str) -> Any:
        """Turn the validated type-specific options into a frozen config object."""
        return None

    def check(self, options: Mapping[str, Any], ctx: CheckContext) -> Iterable[Problem]:
        """Semantic checks of the options beyond the JSON Schema (e.g. a ref's target)."""
        return ()

    # -- storage -------------------------------------------------------------------------
    def column_names(self, field: Field) -> tuple[str, ...]:
        """Names of the columns this field occupies."""
        return (field.name,)

    def column_type(self, field: Field) -> sa.types.TypeEngine[Any]:
        """The SQL type of a single-column field."""
        raise NotImplementedError

    def columns(self, field: Field, ctx: TableContext) -> list[sa.Column[Any]]:
        """The columns of this field; nullable unless required with no way to be unset."""
        return [sa.Column(field.name, self.column_type(field), nullable=True)]

    def to_storage(self, field: Field, value: Any) -> dict[str, Any]:
        """Column values for a cleaned value."""
        return {field.name: value}

    def from_storage(self, field: Field, row: Mapping[str, Any]) -> Any:
        """The Python value from a row's columns."""
        return row.get(field.name)

    # -- values --------------------------------------------------------------------------
    def clean(self, field: Field, raw: Any) -> Any:
        """Validate and convert raw input (form text, JSON, seed values) to the Python value.

        Empty input (None, "", []) becomes None; `required` is enforced by the record store,
        not here, so that `required_when` can decide.
        """
        return raw

    def is_empty(self, value: Any) -> bool:
        """True when `value` counts as not set."""
        return value is None or value == "" or value == [] or value == {}

    def to_json(self, field: Field, value: Any) -> Any:
        """A JSON-friendly form of the value (API, CSV, exports)."""
        return value

    def json_schema(self, field: Field) -> dict[str, Any]:
        """JSON Schema of the value, for API schemas and OpenAPI."""
        return {}

    def filter_clause(
        self, field: Field, table: sa.Table, value: Any
    ) -> sa.ColumnElement[bool] | None:
        """A WHERE clause for `field = value` list filters (value already cleaned)."""
        clause: sa.ColumnElement[bool] = table.c[field.name] == value
        return clause

    def search_columns(self, field: Field, table: sa.Table) -> list[sa.ColumnElement[Any]]:
        """Columns a text search looks into."""
        return [table.c[field.name]]

    def sort_column(self, field: Field, table: sa.Table) -> sa.ColumnElement[Any]:
        """The column a sort on this field orders by."""
        return table.c[self.column_names(field)[0]]


class FieldTypeRegistry:
    """Field types by name, filled from the plugin manager at compile time (no globals)."""

    def __init__(self, types: Iterable[FieldType]) -> None:
        self._types: dict[str, FieldType] = {}
        for ftype in types:
            if not ftype.name:
                raise ValueError(f"field type {type(ftype).__name__} has no name")
            self._types[ftype.name] = ftype

    def get(self, name: str) -> FieldType | None:
        """The type registered as `name`, if any."""
        return self._types.get(name)

    def __getitem__(self, name: str) -> FieldType:
        return self._types[name]

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def names(self) -> list[str]:
        """Registered type names, sorted."""
        return sorted(self._types)

    def items(self) -> list[tuple[str, FieldType]]:
        """(name, type) pairs, sorted by name."""
        return sorted(self._types.items())
