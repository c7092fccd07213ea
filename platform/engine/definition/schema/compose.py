"""Compose the full definition schema: the base schema plus every registered field type.

The committed `portal.schema.json` is this composition with the built-in field types (for
editors); the validator composes again with the plugins actually loaded.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from ..fields import FieldTypeRegistry

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


def build_schema(
    registry: FieldTypeRegistry,
    block_schemas: Mapping[str, Mapping[str, Any]] | None = None,
    provider_schemas: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The base schema with field-type options, plugin block options and plugin auth
    provider types composed in (the built-in provider types keep their base definitions)."""
    schema = base_schema()
    defs = schema["$defs"]
    field = defs["field"]
    names = registry.names()
    field["properties"]["type"]["enum"] = names
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
    block = defs["block"]
    for name, options in (block_schemas or {}).items():
        if name in block["properties"]:
            continue
        defs[f"block_{name}"] = copy.deepcopy(dict(options))
        block["properties"][name] = {"$ref": f"#/$defs/block_{name}"}
    provider = defs["provider"]
    for name, options in (provider_schemas or {}).items():
        if name in provider["properties"]["type"]["enum"]:
            continue
        entry = copy.deepcopy(dict(options))
        entry.setdefault("type", "object")
        props = entry.setdefault("properties", {})
        # every entry carries these; a plugin schema only names its own options
        props.setdefault("type", {"const": name})
        props.setdefault("name", {"$ref": "#/$defs/name"})
        props.setdefault("label", {"$ref": "#/$defs/label"})
        entry.setdefault("additionalProperties", False)
        defs[f"provider_{name}"] = entry
        provider["properties"]["type"]["enum"].append(name)
        provider["allOf"].append(
            {
                "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                "then": {"$ref": f"#/$defs/provider_{name}"},
            }
        )
    return schema


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
