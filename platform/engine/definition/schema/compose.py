"""Compose the full definition schema: the base schema plus every registered field type and
definition section (blocks, provider types, plugin-owned `auth:` keys).

The committed `portal.schema.json` is this composition with the built-in field types and
sections and the first-party plugins (for editors); the validator composes again with the
plugins actually loaded.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from ..fields import FieldTypeRegistry
from ..sections import DefinitionSection, SectionRegistry

SCHEMA_PACKAGE = "portalis.engine.definition.schema"


@cache
def _read(name: str) -> str:
    return resources.files(SCHEMA_PACKAGE).joinpath(name).read_text(encoding="utf-8")


def base_schema() -> dict[str, Any]:
    """A fresh copy of the hand-written base schema (field types not yet composed in)."""
    data: dict[str, Any] = json.loads(_read("portal.base.schema.json"))
    return data


def seed_schema() -> dict[str, Any]:
    """The schema of seed files."""
    data: dict[str, Any] = json.loads(_read("seed.schema.json"))
    return data


def field_type_def(name: str) -> str:
    """The `$defs` key of a field type's options."""
    return f"fieldtype_{name}"


def build_schema(registry: FieldTypeRegistry, sections: SectionRegistry) -> dict[str, Any]:
    """The base schema with the field types' options and every definition section composed
    in: block types under `block`, provider types under `provider`, `auth:` keys under
    `auth`, payment provider types under `payment_provider`. A section schema's own `$defs` join the schema's (a name may not clash)."""
    schema = base_schema()
    defs = schema["$defs"]
    _compose_field_types(defs, registry)
    for section in sections:
        value = copy.deepcopy(dict(section.schema))
        for name, definition in (value.pop("$defs", None) or {}).items():
            if name in defs and defs[name] != definition:
                raise ValueError(f"{section.key}: $defs/{name} clashes with the schema's")
            defs[name] = definition
        ref = {"$ref": f"#/$defs/{section_def(section)}"}
        if section.place == "block":
            defs[section_def(section)] = value
            defs["block"]["properties"][section.name] = ref
        elif section.place == "auth":
            defs[section_def(section)] = value
            defs["auth"]["properties"].setdefault(section.name, ref)
        else:
            # sign-in and payment providers: entries of a list, chosen by `type:`
            entries = "provider" if section.place == "provider" else "payment_provider"
            defs[section_def(section)] = _provider_entry(section.name, value)
            defs[entries]["properties"]["type"]["enum"].append(section.name)
            defs[entries]["allOf"].append(
                {
                    "if": {"properties": {"type": {"const": section.name}}, "required": ["type"]},
                    "then": ref,
                }
            )
    return schema


def section_def(section: DefinitionSection) -> str:
    """The `$defs` key of a section's schema."""
    return f"{section.place}_{section.name}"


def _provider_entry(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """A provider type's entry: its options plus the keys every entry has."""
    entry = options
    entry.setdefault("type", "object")
    props = entry.setdefault("properties", {})
    props["type"] = {"const": name}
    props["name"] = {"$ref": "#/$defs/name"}
    props["label"] = {"$ref": "#/$defs/label"}
    entry.setdefault("additionalProperties", False)
    return entry


def _compose_field_types(defs: dict[str, Any], registry: FieldTypeRegistry) -> None:
    field = defs["field"]
    field["properties"]["type"]["enum"] = registry.names()
    branches: list[dict[str, Any]] = []
    for name, ftype in registry.items():
        option_def: dict[str, Any] = {
            "description": ftype.description or f"Options of {name} fields.",
            "properties": copy.deepcopy(dict(ftype.options_schema)),
        }
        if ftype.required_options:
            option_def["required"] = list(ftype.required_options)
        defs[field_type_def(name)] = option_def
        branches.append(
            {
                "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                "then": {"$ref": f"#/$defs/{field_type_def(name)}"},
            }
        )
    field["allOf"] = branches


def split_field_schemas(
    schema: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A validation-friendly form of a composed schema.

    Returns the schema with fields checked only for their common keys, plus one closed
    schema per field type (common keys + the type's options). Validating each field against
    its own type's schema is much faster than evaluating every type's if/then branch for
    every field, and reports the same problems.
    """
    fast = copy.deepcopy(dict(schema))
    defs = fast["$defs"]
    field = defs["field"]
    per_type: dict[str, dict[str, Any]] = {}
    common = dict(field["properties"])
    for branch in field.pop("allOf", []):
        name = branch["if"]["properties"]["type"]["const"]
        options = defs[branch["then"]["$ref"].removeprefix("#/$defs/")]
        per_type[name] = {
            "$defs": defs,
            "type": "object",
            "properties": {**common, **options.get("properties", {})},
            "required": ["type", *options.get("required", [])],
            "additionalProperties": False,
        }
    field.pop("unevaluatedProperties", None)
    # the main pass checks only the type name; everything else is the type schema's job,
    # so each problem is reported once
    field["properties"] = {"type": field["properties"]["type"]}
    field["additionalProperties"] = True
    return fast, per_type
