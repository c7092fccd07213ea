"""The marshmallow field of each field type: how a value is written to and read from JSON.

A field type (`portalis_field_types`) is an engine object and knows no serialisation library;
the REST API asks this registry, keyed by the type's name, for the marshmallow field of each
entity field. The built-in types are registered here; a plugin adds its own through the
runtime hook `portalis_api_fields` (a mapping type name → `ApiField` subclass). A type nobody
registered gets the plain `ApiField`, which serves any type correctly through the type's own
`to_json` and `json_schema`.

Loading never converts or validates a value: it hands the JSON value to the record store,
whose `clean` is the one validation path of forms, API, imports and seeds (same codes and
messages everywhere). What the schema decides on load is *which* fields may be given at all
(the actor's field mask, see `schemas`). Dumping goes through the field (`to_json`), and the
OpenAPI document takes each value's JSON Schema from `openapi_schema`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import pluggy
from marshmallow import fields, missing

from portalis.engine.model import Field
from portalis.engine.plugins import hookimpl

#: Characters the record store refuses in single-line text (controls, DEL, C1 controls).
LINE_CHARS: Final = r"^[^\u0000-\u001f\u007f-\u009f]*$"
#: The same for multi-line text, where tab, line feed and carriage return are fine.
TEXT_CHARS: Final = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
#: Characters a tag may hold (no separators, quotes, backslashes or controls).
TAG_CHARS: Final = r'^[^",\\\u0000-\u001f\u007f-\u009f]*$'
#: A value with at least one character that is not white space (blank input means "no value").
NOT_BLANK: Final = r"[^\s\u001c-\u001f\u0085]"


class ApiField(fields.Field):  # type: ignore[type-arg]
    """The marshmallow field of one entity field.

    `nullable` and `required_value` say what the OpenAPI document promises for the schema
    the field belongs to (a read, create or update schema): whether `null` is a valid value,
    and whether a blank value is refused because the field must have one. Subclasses refine
    `to_json` (speed) and `value_schema` (an exact JSON Schema of what `clean` accepts).
    """

    def __init__(
        self,
        field: Field,
        *,
        nullable: bool = True,
        required_value: bool = False,
        locale: str = "en",
        **kwargs: Any,
    ) -> None:
        metadata: dict[str, Any] = {"title": field.label.get(locale, field.name)}
        if field.help is not None:
            metadata["description"] = field.help.get(locale, "")
        super().__init__(metadata=metadata, **kwargs)
        self.portal_field = field
        self.nullable = nullable
        self.required_value = required_value
        self._to_json = field.kind.to_json

    # -- dump ----------------------------------------------------------------------------
    def serialize(
        self,
        attr: str,
        obj: Any,
        accessor: Callable[[Any, str, Any], Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """The JSON value of `obj[attr]`; missing when the record lacks it (masked)."""
        value = obj.get(attr, missing)
        if value is missing:
            return missing
        return self.to_json(value)

    def to_json(self, value: Any) -> Any:
        """The JSON form of a stored value (the field type's `to_json`)."""
        return self._to_json(self.portal_field, value)

    # -- load ----------------------------------------------------------------------------
    def deserialize(
        self,
        value: Any,
        attr: str | None = None,
        data: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """The JSON value unchanged: the record store cleans and validates it."""
        return value

    # -- document ------------------------------------------------------------------------
    def value_schema(self, *, required_value: bool | None = None) -> dict[str, Any]:
        """JSON Schema of a non-null value (the field type's `json_schema`); not blank when
        `required_value` (default: the field's own flag)."""
        return dict(self.portal_field.kind.json_schema(self.portal_field))

    def needs_value(self, required_value: bool | None) -> bool:
        """`required_value`, or the field's own flag when None."""
        return self.required_value if required_value is None else required_value

    def openapi_schema(self) -> dict[str, Any]:
        """The property's schema in the document: the value schema, nullable or not."""
        schema = self.value_schema()
        return nullable(schema) if self.nullable else schema

    def query_schema(self) -> dict[str, Any]:
        """Schema of the list filter `?<field>=<text>` (empty text: records without a value)."""
        return {"type": "string", "pattern": LINE_CHARS}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` that also admits null (string keywords such as `pattern` ignore null)."""
    kind = schema.get("type")
    if isinstance(kind, str):
        out = {**schema, "type": [kind, "null"]}
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        return out
    if not schema or (isinstance(kind, list) and "null" in kind):
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def _all_of(schema: dict[str, Any], *patterns: str) -> dict[str, Any]:
    """`schema` with more patterns (JSON Schema holds one `pattern` per schema object)."""
    extra = [p for p in patterns if p != schema.get("pattern")]
    if not extra:
        return schema
    if "pattern" not in schema:
        first, *extra = extra
        schema = {**schema, "pattern": first}
    if not extra:
        return schema
    return {**schema, "allOf": [{"pattern": p} for p in extra]}


class LineField(ApiField):
    """string, email, phone, url: single-line text (identity on dump)."""

    def to_json(self, value: Any) -> Any:
        """Text is stored as JSON text."""
        return value

    def value_schema(self, *, required_value: bool | None = None) -> dict[str, Any]:
        """The type's schema, without control characters, not blank when required."""
        patterns = [LINE_CHARS] + ([NOT_BLANK] if self.needs_value(required_value) else [])
        return _all_of(super().value_schema(), *patterns)


class TextField(LineField):
    """text: multi-line text."""

    def value_schema(self, *, required_value: bool | None = None) -> dict[str, Any]:
        """The type's schema, without control characters but tab and line breaks."""
        patterns = [TEXT_CHARS] + ([NOT_BLANK] if self.needs_value(required_value) else [])
        return _all_of(ApiField.value_schema(self), *patterns)


class ChoiceField(LineField):
    """choice: one of the options (the enum says it all)."""

    def value_schema(self, *, required_value: bool | None = None) -> dict[str, Any]:
        """The options."""
        return ApiField.value_schema(self)

    def query_schema(self) -> dict[str, Any]:
        """One of the options, or empty."""
        return {"type": "string", "enum": [*self.value_schema()["enum"], ""]}


class NumberField(LineField):
    """int: JSON numbers as stored."""

    def value_schema(self, *, required_value: bool | None = None) -> dict[str, Any]:
        """The type's schema as it is."""
        return ApiField.value_schema(self)


class BoolField(NumberField):
    """bool: JSON booleans as stored; filters take the words a form sends."""

    def query_schema(self) -> dict[str, Any]:
        """A yes/no word, or empty."""
        return {"type": "string", "enum": ["true", "false", "1", "0", "yes", "no", "on", "off", ""]}


class RefField(NumberField):
    """ref: a record id."""

    def query_schema(self) -> dict[str, Any]:
        """A record id as digits, or empty."""
        return {"type": "string", "pattern": "^([1-9][0-9]{0,8})?$"}


class TagsField(ApiField):
    """tags: a list of short texts."""

    def value_schema(self, *, required_value: bool | None = None) -> dict[str, Any]:
        """Items without control characters or the separators the type refuses; at least
        one item that is not blank when required."""
        schema = super().value_schema()
        item = _all_of(dict(schema.get("items", {})), TAG_CHARS)
        schema["items"] = item
        if self.needs_value(required_value):
            schema["contains"] = {"type": "string", "pattern": NOT_BLANK}
        return schema

    def query_schema(self) -> dict[str, Any]:
        """One tag (a comma would make it two), or empty."""
        return _all_of(dict(self.value_schema()["items"]), TAG_CHARS)


class DateTimeField(ApiField):
    """datetime: ISO 8601 in UTC."""


class SystemField(fields.Field):  # type: ignore[type-arg]
    """A system column (`id`, `created_at`, `updated_at`, `created_by`, `version`)."""

    def __init__(self, schema: dict[str, Any], *, stamp: bool = False) -> None:
        super().__init__(dump_only=True, metadata={"x-schema": schema})
        self.schema = schema
        self.stamp = stamp

    def serialize(
        self,
        attr: str,
        obj: Any,
        accessor: Callable[[Any, str, Any], Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """The column's value; timestamps in ISO 8601, UTC."""
        value = obj.get(attr)
        if self.stamp and isinstance(value, datetime):
            aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
            return aware.astimezone(UTC).isoformat()
        return value

    def openapi_schema(self) -> dict[str, Any]:
        """The column's schema."""
        return dict(self.schema)


#: What a plugin's `portalis_api_fields` returns: type name → field class (called with the
#: entity field and the keyword arguments of `ApiField`).
ApiFieldFactory = Callable[..., fields.Field]  # type: ignore[type-arg]

#: The built-in types' fields.
BUILTIN_API_FIELDS: Final[dict[str, ApiFieldFactory]] = {
    "string": LineField,
    "email": LineField,
    "phone": LineField,
    "url": LineField,
    "text": TextField,
    "choice": ChoiceField,
    "tags": TagsField,
    "int": NumberField,
    "bool": BoolField,
    "ref": RefField,
    "decimal": ApiField,
    "money": ApiField,
    "date": ApiField,
    "datetime": DateTimeField,
    "file": ApiField,
    "json": ApiField,
}


class ApiFields:
    """Marshmallow field factories by field-type name (built-ins, then plugins)."""

    def __init__(self, factories: Mapping[str, ApiFieldFactory]) -> None:
        self._factories = dict(factories)

    @classmethod
    def from_plugins(cls, pm: pluggy.PluginManager) -> ApiFields:
        """Every `portalis_api_fields` result, later plugins overriding earlier ones."""
        results: list[Mapping[str, ApiFieldFactory]] = pm.hook.portalis_api_fields()
        merged: dict[str, ApiFieldFactory] = {}
        for result in reversed(results):  # pluggy calls the last registered first
            merged.update(result)
        return cls(merged)

    def field(self, field: Field, **kwargs: Any) -> fields.Field:  # type: ignore[type-arg]
        """The marshmallow field of `field` (plain `ApiField` for an unregistered type)."""
        return self._factories.get(field.type, ApiField)(field, **kwargs)


@hookimpl
def portalis_api_fields() -> dict[str, ApiFieldFactory]:
    """The built-in field types' marshmallow fields."""
    return dict(BUILTIN_API_FIELDS)
