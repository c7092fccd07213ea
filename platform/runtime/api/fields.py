"""The marshmallow field of each field type: how a value is written to and read from JSON.

A field type (`portalis_field_types`) is an engine object and knows no serialisation library;
the REST API asks this registry, keyed by the type's name, for the marshmallow field of each
entity field. The built-in types are registered here; a plugin adds its own through the
runtime hook `portalis_api_fields` (a mapping type name → `ApiField` subclass). A type nobody
registered gets the plain `ApiField`, which serves any type correctly through the type's own
`to_json` and `json_schema`.

A field of a response schema is made with `output=True`: its JSON Schema says what a stored
value may look like, which can be broader than what a request may send (a money amount with
more digits, a currency a field no longer accepts, a language the portal dropped).

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

from portalis.engine.definition.fieldtypes.money import (
    AMOUNT_PRECISION,
    AMOUNT_SCALE,
    currency_places,
)
from portalis.engine.definition.fieldtypes.numbers import MAX_DECIMAL_TEXT
from portalis.engine.definition.model import Field
from portalis.engine.plugins import hookimpl

#: Characters the record store refuses in single-line text (controls, DEL, C1 controls).
LINE_REFUSED: Final = r"[\u0000-\u001f\u007f-\u009f]"
#: The same for multi-line text, where tab, line feed and carriage return are fine.
TEXT_REFUSED: Final = r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]"
#: Characters a tag may not hold (separators, quotes, backslashes, controls).
TAG_REFUSED: Final = r'[",\\\u0000-\u001f\u007f-\u009f]'
#: A blank value (white space only), which means "no value".
BLANK: Final = r"^[\s\u001c-\u001f\u0085]*$"


class ApiField(fields.Field):  # type: ignore[type-arg]
    """The marshmallow field of one entity field (`portal_field`) in the REST API.

    `nullable` and `required_value` say what the OpenAPI document promises for the schema
    the field belongs to (a read, create or update schema): whether `null` is a valid value,
    and whether a blank value is refused because the field must have one; `output` is True
    in response schemas. Subclasses refine `to_json` (speed) and `value_schema` (an exact
    JSON Schema of what `clean` accepts; with `output`, of what a stored value may be).
    Loading never converts: the record store's `clean` reads the JSON value.
    """

    def __init__(
        self,
        field: Field,
        *,
        nullable: bool = True,
        required_value: bool = False,
        output: bool = False,
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
        self.output = output
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
        return refusing({"type": "string"}, LINE_REFUSED)


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


def refusing(schema: dict[str, Any], *patterns: str) -> dict[str, Any]:
    """`schema` for strings that match none of `patterns` (other values are left alone).

    Stated as `not` rather than as one anchored pattern of the allowed characters: the
    same strings, and tools need not fold a large `maxLength` into the pattern.
    """
    if not patterns:
        return schema
    refused: dict[str, Any] = {"type": "string"}
    if len(patterns) == 1:
        refused["pattern"] = patterns[0]
    else:
        refused["anyOf"] = [{"pattern": p} for p in patterns]
    return {**schema, "not": refused}


class LineField(ApiField):
    """string, email, phone, url: single-line text (identity on dump)."""

    def to_json(self, value: Any) -> Any:
        """Text is stored as JSON text."""
        return value

    def value_schema(self, *, required_value: bool | None = None) -> dict[str, Any]:
        """The type's schema, without control characters, not blank when required."""
        patterns = [LINE_REFUSED] + ([BLANK] if self.needs_value(required_value) else [])
        return refusing(super().value_schema(), *patterns)


class TextField(LineField):
    """text: multi-line text."""

    def value_schema(self, *, required_value: bool | None = None) -> dict[str, Any]:
        """The type's schema, without control characters but tab and line breaks."""
        patterns = [TEXT_REFUSED] + ([BLANK] if self.needs_value(required_value) else [])
        return refusing(ApiField.value_schema(self), *patterns)


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


class UserLocaleField(LineField):
    """`user.locale` (a string field of the built-in user entity): the record store accepts
    only empty text (the browser's language) or one of the portal's locales."""

    def __init__(self, field: Field, *, locales: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(field, **kwargs)
        self.locales = locales

    def value_schema(self, *, required_value: bool | None = None) -> dict[str, Any]:
        """One of the portal's locales or empty (stored values: any text)."""
        if self.output:
            return super().value_schema(required_value=required_value)
        return {"type": "string", "enum": [*self.locales, ""]}


def decimal_pattern(integer_digits: int, places: int) -> str:
    """The decimal texts `parse_decimal` and `fit_decimal` accept for a column with
    `integer_digits` before the point when rounded to `places`: an amount with fewer
    digits may have any decimals (rounding cannot carry it out of range), one with all of
    them at most `places` decimals (so none is rounded up to a digit more)."""
    digits, fraction = max(integer_digits, 0), f"(\\.[0-9]{{0,{places}}})?"
    forms = [f"0*[0-9]{{1,{digits - 1}}}(\\.[0-9]*)?"] if digits >= 2 else []
    if digits >= 1:
        forms += [f"0*[0-9]{{{digits}}}{fraction}", "\\.[0-9]+"]
    else:  # nothing before the point: zero, or a fraction that does not round up to 1
        forms += ["0+" + fraction] + ([f"0*\\.[0-9]{{1,{places}}}"] if places else [])
    return "^[+-]?(" + "|".join(forms) + ")$"


#: A decimal as `to_json` writes it (stored values).
DECIMAL_TEXT: Final = r"^-?[0-9]+(\.[0-9]+)?$"


class DecimalField(ApiField):
    """decimal: a number as text, with the column's digits and places (a `min`/`max` option
    is checked by the store and named in the description, not stated as a pattern)."""

    def value_schema(self, *, required_value: bool | None = None) -> dict[str, Any]:
        """Decimal text within the column (stored values: any decimal text)."""
        if self.output:
            return {"type": "string", "format": "decimal", "pattern": DECIMAL_TEXT}
        config = self.portal_field.config
        places, precision = int(config.places), int(config.precision)
        return {
            "type": "string",
            "format": "decimal",
            "maxLength": MAX_DECIMAL_TEXT,
            "pattern": decimal_pattern(precision - places, places),
        }


class MoneyField(ApiField):
    """money: `{amount, currency}` with the amount as text; a request names one of the
    field's currencies and an amount that fits the column once rounded to its places."""

    def value_schema(self, *, required_value: bool | None = None) -> dict[str, Any]:
        """The type's object schema with exact `amount` and `currency` members."""
        schema = super().value_schema()
        properties = dict(schema["properties"])
        if self.output:
            properties["amount"] = {"type": "string", "format": "decimal", "pattern": DECIMAL_TEXT}
            properties["currency"] = {"type": "string", "pattern": "^[A-Z]{3}$"}
        else:
            allowed = tuple(getattr(self.portal_field.config, "allowed", ()))
            # an amount with all 14 integer digits must not round up: the fewest places count
            places = min((currency_places(c) for c in allowed), default=0)
            properties["amount"] = {
                "type": "string",
                "format": "decimal",
                "maxLength": MAX_DECIMAL_TEXT,
                "pattern": decimal_pattern(AMOUNT_PRECISION - AMOUNT_SCALE, places),
            }
        return {**schema, "properties": properties}


class TagsField(ApiField):
    """tags: a list of short texts."""

    def value_schema(self, *, required_value: bool | None = None) -> dict[str, Any]:
        """Items without control characters or the separators the type refuses; at least
        one item that is not blank when required."""
        schema = super().value_schema()
        item = refusing(dict(schema.get("items", {})), TAG_REFUSED)
        schema["items"] = item
        if self.needs_value(required_value):
            schema["contains"] = refusing({"type": "string"}, BLANK)
        return schema

    def query_schema(self) -> dict[str, Any]:
        """One tag (a comma would make it two), or empty."""
        return dict(self.value_schema()["items"])


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
    "decimal": DecimalField,
    "money": MoneyField,
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
