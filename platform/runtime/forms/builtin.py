"""The WTForms fields of the 17 built-in field types, registered as a default plugin through
`portalis_form_fields` — the same hook a third-party plugin uses for its own types.

The attributes that follow from a field's options (`maxlength`, `min`/`max`, `step`,
`autocomplete`, `inputmode`) are fixed here, when a version's form classes are built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from wtforms.fields.core import UnboundField

from portalis.engine.definition.fieldtypes import TagsConfig
from portalis.engine.definition.model import Field
from portalis.engine.hookspecs import hookimpl

from .fieldtypes import FormFieldFactory
from .inputs import (
    BoolInput,
    ChoiceInput,
    FileInput,
    MoneyInput,
    RecordInput,
    RefInput,
    TagChoicesInput,
    TextareaInput,
    TextInput,
)

#: `<input type=…>` of the single-line types.
INPUT_TYPES: Mapping[str, str] = {
    "string": "text",
    "email": "email",
    "phone": "tel",
    "url": "url",
    "int": "number",
    "decimal": "number",
    "date": "date",
    "datetime": "datetime-local",
}
_AUTOCOMPLETE = {"email": "email", "phone": "tel", "url": "url"}


def input_attrs(field: Field) -> dict[str, str]:
    """The static attributes of a single-line input, from the field's options."""
    config = field.config
    kind = field.type
    attrs: dict[str, str] = {}
    if kind in _AUTOCOMPLETE:
        attrs["autocomplete"] = _AUTOCOMPLETE[kind]
    max_length = getattr(config, "max_length", None)
    if kind == "string" and max_length:
        attrs["maxlength"] = str(max_length)
    if kind in ("int", "decimal", "date"):
        for key in ("min", "max"):
            bound = getattr(config, key, None)
            if bound is not None:
                attrs[key] = bound.isoformat() if isinstance(bound, date) else str(bound)
    if kind == "int":
        attrs["step"] = "1"
    elif kind == "decimal":
        places = int(getattr(config, "places", 2))
        attrs["step"] = format(Decimal(1).scaleb(-places), "f") if places else "1"
        attrs["inputmode"] = "decimal"
    elif kind == "datetime":
        attrs["step"] = "60"
    return attrs


def _made(cls: type[RecordInput], field: Field, **kwargs: Any) -> UnboundField[Any]:
    return UnboundField(cls, spec=field, **kwargs)


def single_line(field: Field) -> UnboundField[Any]:
    """string, email, phone, url, int, decimal, date, datetime."""
    return _made(TextInput, field, input_type=INPUT_TYPES[field.type], render_kw=input_attrs(field))


def textarea(field: Field) -> UnboundField[Any]:
    """text and markdown (with their `max_length`) and json."""
    max_length = getattr(field.config, "max_length", None)
    limited = field.type in ("text", "markdown")
    attrs = {"maxlength": str(max_length)} if max_length and limited else {}
    return _made(TextareaInput, field, input_type=field.type, render_kw=attrs)


def tags(field: Field) -> UnboundField[Any]:
    """Checkboxes when the tags are restricted to their choices, else a text input."""
    if isinstance(field.config, TagsConfig) and field.config.restricted:
        return _made(TagChoicesInput, field)
    return _made(TextInput, field, input_type="text")


def money(field: Field) -> UnboundField[Any]:
    """An amount and its currency."""
    return _made(
        MoneyInput, field, input_type="number", render_kw={"step": "any", "inputmode": "decimal"}
    )


def _simple(cls: type[RecordInput]) -> Callable[[Field], UnboundField[Any]]:
    def build(field: Field) -> UnboundField[Any]:
        return _made(cls, field)

    build.__doc__ = f"A {cls.__name__}."
    return build


def builtin_form_fields() -> dict[str, FormFieldFactory]:
    """The factory of every built-in field type."""
    factories: dict[str, FormFieldFactory] = {name: single_line for name in INPUT_TYPES}
    factories.update(
        text=textarea,
        markdown=textarea,
        json=textarea,
        tags=tags,
        money=money,
        choice=_simple(ChoiceInput),
        bool=_simple(BoolInput),
        ref=_simple(RefInput),
        file=_simple(FileInput),
    )
    return factories


@hookimpl
def portalis_form_fields() -> Mapping[str, FormFieldFactory]:
    """The inputs of the 17 built-in field types."""
    return builtin_form_fields()
