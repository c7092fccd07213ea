"""Forms generated from a JSON Schema: the control of each schema shape, and what a post
changes (only the properties whose value changed, cleared ones as UNSET) or refuses."""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

from portalis.builder.schema_form import UNSET, SchemaForm, object_schema
from portalis.engine.definition.fieldtypes import MoneyType, StringType, TagsType

SCHEMA: dict[str, Any] = {
    "type": "object",
    "$defs": {"name": {"type": "string", "pattern": "^[a-z]+$"}},
    "required": ["entity"],
    "properties": {
        "entity": {"$ref": "#/$defs/name", "title": "Entity", "description": "Which entity."},
        "mode": {"enum": ["create", "edit"]},
        "size": {"type": "integer", "minimum": 1},
        "ratio": {"type": "number"},
        "wide": {"type": "boolean"},
        "columns": {"type": "array", "items": {"type": "string"}},
        "actions": {"type": "array", "items": {"enum": ["edit", "delete"]}},
        "history": {"type": "object", "properties": {"roles": {"type": "array", "items": {"type": "string"}}}},
        "label": {"oneOf": [{"type": "string"}, {"type": "object"}]},
        "scope": {"anyOf": [{"type": "string"}, {"type": "object", "properties": {"field": {"type": "string"}}}]},
    },
}  # fmt: skip


def _kinds(form: SchemaForm) -> dict[str, str]:
    out = {}
    for f in form.fields:
        out[f.name] = f.kind
        for child in f.children:
            out[child.name] = child.kind
    return out


def test_each_schema_shape_gets_its_control() -> None:
    form = SchemaForm(SCHEMA, {"entity": "ticket", "label": {"en": "Hi"}}, "blk")
    assert _kinds(form) == {
        "blk.entity": "text", "blk.mode": "select", "blk.size": "integer",
        "blk.ratio": "number", "blk.wide": "checkbox", "blk.columns": "lines",
        "blk.actions": "checks", "blk.history": "fieldset", "blk.history.roles": "lines",
        "blk.label": "yaml", "blk.scope": "fieldset", "blk.scope.field": "text",
    }  # fmt: skip
    entity = form.fields[0]
    assert (entity.label, entity.help, entity.required, entity.text) == (
        "Entity",
        "Which entity.",
        True,
        "ticket",
    )
    assert form.fields[1].choices == ("create", "edit") and form.fields[1].label == "Mode"
    assert form.fields[8].text == "en: Hi"


def test_a_post_changes_only_what_differs() -> None:
    current = {"entity": "ticket", "size": 3, "wide": True, "columns": ["a", "b"], "mode": "edit"}
    form = SchemaForm(SCHEMA, current, "blk")
    posted = MultiDict([
        ("blk.entity", "ticket"), ("blk.size", "5"), ("blk.columns", "a\nb\n"),
        ("blk.mode", ""), ("blk.actions", "delete"), ("blk.history.roles", "agent"),
        ("blk.label", "{en: Hello, de: Hallo}"),
    ])  # fmt: skip
    parsed = form.parse(posted)
    assert parsed.ok
    assert dict(parsed.changes) == {
        ("size",): 5,
        ("wide",): False,
        ("mode",): UNSET,
        ("actions",): ["delete"],
        ("history", "roles"): ["agent"],
        ("label",): {"en": "Hello", "de": "Hallo"},
    }


def test_invalid_values_are_field_errors() -> None:
    form = SchemaForm(SCHEMA, {"entity": "ticket"}, "blk")
    parsed = form.parse(
        MultiDict([("blk.entity", "Not valid"), ("blk.size", "x"), ("blk.label", "[")])
    )
    assert set(parsed.errors) == {"blk.entity", "blk.size", "blk.label"}
    assert parsed.errors["blk.size"] == "must be a whole number"
    parsed = form.parse(MultiDict([("blk.entity", "ticket"), ("blk.size", "0")]))
    assert parsed.errors == {"blk.size": "0 is less than the minimum of 1"}
    missing = form.parse(MultiDict([("blk.entity", "")]))
    assert "blk.entity" in missing.errors and "required" in missing.errors["blk.entity"]
    assert form.fields[0].error == missing.errors["blk.entity"]


def test_field_type_options_make_forms() -> None:
    money = SchemaForm(object_schema(MoneyType.options_schema), {}, "opt")
    assert {f.name: f.kind for f in money.fields}["opt.currencies"] == "lines"
    tags = SchemaForm(object_schema(TagsType.options_schema), {"max_items": 5}, "opt")
    parsed = tags.parse(MultiDict([("opt.max_items", "7")]))
    assert dict(parsed.changes) == {("max_items",): 7}
    string = SchemaForm(object_schema(StringType.options_schema), {}, "opt")
    assert string.parse(MultiDict([("opt.max_length", "")])).changes == ()
