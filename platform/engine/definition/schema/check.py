"""The schema pass: JSON Schema errors become located problems with codes and hints."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from ...problems import JsonPath, Problem
from ..loader import SourceMap
from ..yamlsource import YAML11_BOOLS

_UNEXPECTED = re.compile(r"'([^']+)'")
_TYPE_NAMES = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping (key: value)",
    "array": "a list",
    "null": "nothing",
}


def make_validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    """A reusable validator for a composed schema."""
    return Draft202012Validator(schema)


def schema_problems(
    validator: Draft202012Validator, data: Any, source: SourceMap, prefix: JsonPath = ()
) -> list[Problem]:
    """Every schema violation of `data` (found at `prefix` in the document), as problems."""
    problems: list[Problem] = []
    schema = validator.schema
    defs = schema.get("$defs", {}) if isinstance(schema, Mapping) else {}
    seen: set[tuple[str, JsonPath, str]] = set()
    for error in _flatten(validator.iter_errors(data)):
        for problem in _translate(error, source, defs, prefix):
            key = (problem.code, problem.path, problem.message)
            if key not in seen:
                seen.add(key)
                problems.append(problem)
    return problems


def _flatten(errors: Iterable[ValidationError]) -> Iterator[ValidationError]:
    """Replace oneOf/anyOf failures with their most relevant sub-error."""
    for error in errors:
        if error.validator in ("oneOf", "anyOf") and error.context:
            chosen = _choose(error)
            if chosen is not None:
                yield from _flatten([chosen])
                continue
        yield error


def _choose(error: ValidationError) -> ValidationError | None:
    # Prefer the alternative whose type matched (a mapping scope with a bad key beats
    # "is not a string"); fall back to jsonschema's own relevance ranking.
    context = list(error.context or [])
    typed = [e for e in context if e.validator != "type"]
    pool = typed or context
    deepest = max(pool, key=lambda e: len(e.absolute_path), default=None)
    if deepest is not None and len(deepest.absolute_path) > len(error.absolute_path):
        return deepest
    return best_match(pool) if pool else None


def _path(error: ValidationError) -> JsonPath:
    return tuple(error.absolute_path)


def _translate(
    error: ValidationError, source: SourceMap, defs: Mapping[str, Any], prefix: JsonPath = ()
) -> list[Problem]:
    path = (*prefix, *_path(error))
    kind = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    if kind == "propertyNames" or (isinstance(error.instance, str) and _is_name_error(error)):
        name = str(error.instance)
        return [
            source.problem(
                "schema-format",
                f"{name!r} is not a valid name",
                (*path, name),
                "names use lower-case letters, digits and _, and start with a letter",
                key=True,
            )
        ]
    if kind in ("additionalProperties", "unevaluatedProperties"):
        return _unknown_keys(error, path, schema, source, defs)
    if kind == "required":
        missing = _UNEXPECTED.findall(error.message)
        name = missing[0] if missing else "?"
        return [
            source.problem(
                "schema-missing-key",
                f"missing required key {name!r}",
                path,
                f"add {name}: to this mapping",
            )
        ]
    if kind == "type":
        return [_type_problem(error, path, source)]
    if kind in ("enum", "const"):
        return [_enum_problem(error, path, schema, source)]
    if kind in ("pattern", "minLength", "maxLength", "minimum", "maximum", "minItems",
                "maxItems", "uniqueItems", "minProperties", "maxProperties"):  # fmt: skip
        return [
            source.problem("schema-format", _format_message(error), path, _describe(schema, error))
        ]
    return [source.problem("schema-invalid", error.message[:300], path)]


def _is_name_error(error: ValidationError) -> bool:
    """jsonschema reports a bad property name with the parent's path and the name as instance."""
    return any(p == "propertyNames" for p in error.schema_path)


def _unknown_keys(
    error: ValidationError,
    path: JsonPath,
    schema: Mapping[str, Any],
    source: SourceMap,
    defs: Mapping[str, Any],
) -> list[Problem]:
    instance = error.instance if isinstance(error.instance, dict) else {}
    allowed = _allowed_keys(schema, error, defs)
    names = [n for n in _UNEXPECTED.findall(error.message) if n in instance]
    if not names:
        names = [k for k in instance if allowed and k not in allowed]
    if error.validator == "unevaluatedProperties":
        # a type option that failed its own check is reported there, not as unknown
        names = [n for n in names if n not in allowed]
    problems = []
    for name in names:
        close = difflib.get_close_matches(name, sorted(allowed), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else ""
        if not hint and allowed:
            hint = "allowed here: " + ", ".join(sorted(allowed)[:12])
        problems.append(
            source.problem(
                "schema-unknown-key",
                f"unknown key {name!r}",
                (*path, name),
                hint,
                key=True,
            )
        )
    return problems


def _allowed_keys(
    schema: Mapping[str, Any], error: ValidationError, defs: Mapping[str, Any]
) -> set[str]:
    allowed = set(schema.get("properties", {}))
    if error.validator == "unevaluatedProperties":
        # a field: the common keys plus the options of its type (from the matching branch)
        ftype = error.instance.get("type") if isinstance(error.instance, dict) else None
        for branch in schema.get("allOf", []):
            const = branch.get("if", {}).get("properties", {}).get("type", {}).get("const")
            if const == ftype:
                ref = str(branch.get("then", {}).get("$ref", ""))
                resolved = defs.get(ref.removeprefix("#/$defs/"), {})
                allowed |= set(resolved.get("properties", {}))
    return allowed


def _type_problem(error: ValidationError, path: JsonPath, source: SourceMap) -> Problem:
    expected = error.validator_value
    wanted = (
        " or ".join(_TYPE_NAMES.get(str(t), str(t)) for t in expected)
        if isinstance(expected, list)
        else _TYPE_NAMES.get(str(expected), str(expected))
    )
    value = error.instance
    if expected == "boolean" and isinstance(value, str) and value in YAML11_BOOLS:
        return source.problem(
            "yaml-bool",
            f"{value!r} is a string here, not a boolean",
            path,
            "write true or false; yes/no/on/off are strings in Portalis",
        )
    shown = repr(value) if not isinstance(value, dict | list) else type(value).__name__
    return source.problem("schema-type", f"expected {wanted}, got {shown[:60]}", path, "")


def _enum_problem(
    error: ValidationError, path: JsonPath, schema: Mapping[str, Any], source: SourceMap
) -> Problem:
    options = schema.get("enum") or [schema.get("const")]
    value = error.instance
    if path[:1] == ("format",):
        return source.problem(
            "format-version",
            f"unknown format {value!r}",
            path,
            "this engine reads format: portalis/v1",
        )
    close = (
        difflib.get_close_matches(value, [str(o) for o in options], n=1, cutoff=0.5)
        if isinstance(value, str)
        else []
    )
    if path[-1:] == ("scope",):  # the keywords are half of it: name the mapping scopes too
        options = [*options, "{parent: <ref field>}", "{where: {<field>: <value>}}"]
    hint = f"did you mean {close[0]!r}?" if close else "allowed: " + ", ".join(map(str, options))
    is_field_type = (
        len(path) >= 5 and path[0] == "entities" and path[2] == "fields" and path[-1] == "type"
    )
    code = "ref-unknown-field-type" if is_field_type else "schema-value"
    what = "field type" if is_field_type else "value"
    return source.problem(code, f"unknown {what} {value!r}", path, hint)


def _format_message(error: ValidationError) -> str:
    value = error.instance
    shown = repr(value) if isinstance(value, str | int | float) else type(value).__name__
    limit = error.validator_value
    messages = {
        "pattern": f"{shown} does not have the required form",
        "minLength": f"{shown} is shorter than {limit} characters",
        "maxLength": f"{shown[:40]} is longer than {limit} characters",
        "minimum": f"{shown} is less than {limit}",
        "maximum": f"{shown} is more than {limit}",
        "minItems": f"needs at least {limit} item(s)",
        "maxItems": f"allows at most {limit} item(s)",
        "uniqueItems": "items must not repeat",
        "minProperties": f"needs at least {limit} key(s)",
        "maxProperties": f"allows at most {limit} key(s)",
    }
    return str(messages.get(str(error.validator), error.message[:200]))


def _describe(schema: Mapping[str, Any], error: ValidationError) -> str:
    if error.validator == "maxProperties" and schema.get("maxProperties") == 1:
        return "a block has exactly one key: its type (list, detail, form, markdown, metrics)"
    description = schema.get("description")
    if isinstance(description, str):
        return description
    if error.validator == "pattern":
        return f"expected a value matching {error.validator_value}"
    return ""


def field_problems(
    validators: Mapping[str, Draft202012Validator], data: Any, source: SourceMap
) -> list[Problem]:
    """Check every declared field against the closed schema of its own type."""
    problems: list[Problem] = []
    entities = data.get("entities") if isinstance(data, dict) else None
    if not isinstance(entities, dict):
        return problems
    for entity_name, entity in entities.items():
        fields = entity.get("fields") if isinstance(entity, dict) else None
        if not isinstance(fields, dict):
            continue
        for field_name, field in fields.items():
            if not isinstance(field, dict):
                continue
            validator = validators.get(str(field.get("type")))
            if validator is not None:
                path: JsonPath = ("entities", entity_name, "fields", field_name)
                problems.extend(schema_problems(validator, field, source, path))
    return problems
