"""What the entities editor knows about fields: the registered types with their options
schemas, a field's edit operations from a posted form, and the expression check.

Pure functions of the definition's plain data and the posted values; the views
(`editors.entities`) save their operations through `builder.editing`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from werkzeug.datastructures import MultiDict

from portalis.engine.definition.bundle import Bundle
from portalis.engine.definition.fields import FieldTypeRegistry
from portalis.engine.definition.loader import load
from portalis.engine.definition.yamledit import BundleEdit
from portalis.engine.deploy.validator import Checker
from portalis.engine.problems import Problem

from ..editing import Operation
from ..schema_form import UNSET, SchemaForm, object_schema

#: The expression keys of a field the editor checks as you type.
EXPRESSION_KEYS = ("visible_when", "required_when")
#: Names of entities and fields (the definition's `name`).
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"


def field_path(entity: str, field: str, *rest: str) -> tuple[str, ...]:
    """The definition path of a field (or of one of its keys)."""
    return ("entities", entity, "fields", field, *rest)


def options_form(
    registry: FieldTypeRegistry, type_name: str, spec: Mapping[str, Any], prefix: str
) -> SchemaForm | None:
    """The generated form of a field type's options, showing the field's values."""
    ftype = registry.get(type_name)
    if ftype is None or not ftype.options_schema:
        return None
    schema = object_schema(ftype.options_schema, ftype.required_options)
    current = {k: spec[k] for k in ftype.options_schema if k in spec}
    return SchemaForm(schema, current, prefix)


@dataclass(frozen=True, slots=True)
class FieldEdit:
    """The operations of one posted field form, or the errors that stop it."""

    operations: tuple[Operation, ...]
    errors: Mapping[str, str]
    what: str


def _setter(path: tuple[str, ...], value: Any) -> Operation:
    return lambda edit: edit.set(path, value)


def _deleter(path: tuple[str, ...]) -> Operation:
    return lambda edit: edit.delete(path)


def field_edit(
    registry: FieldTypeRegistry,
    entity: str,
    name: str,
    spec: Mapping[str, Any],
    locales: tuple[str, ...],
    form: MultiDict[str, str],
) -> FieldEdit:
    """Operations that make field `name` of `entity` what the posted form says, touching only
    the keys whose value changed."""
    ops: list[Operation] = []
    errors: dict[str, str] = {}
    here = field_path(entity, name)

    def keep(key: str, value: Any) -> None:
        if value is UNSET or value is None:
            if key in spec:
                ops.append(_deleter((*here, key)))
        elif spec.get(key) != value:
            ops.append(_setter((*here, key), value))

    new_type = form.get("type", str(spec.get("type", "")))
    if new_type not in registry:
        errors["type"] = f"unknown field type {new_type!r}"
    keep("type", new_type)
    # an explicit `required: false` stays as written while the box stays unticked
    unticked = False if spec.get("required") is False else UNSET
    keep("required", True if form.get("required") == "true" else unticked)
    _label_ops(here, spec.get("label"), locales, form, ops)
    default = form.get("default", "").strip()
    if default:
        try:
            keep("default", yaml.safe_load(default))
        except yaml.YAMLError:
            errors["default"] = "is not a valid value"
    else:
        keep("default", UNSET)
    for key in EXPRESSION_KEYS:
        keep(key, form.get(key, "").strip() or UNSET)
    if new_type != spec.get("type"):
        # the old type's options mean nothing to the new type
        old = registry.get(str(spec.get("type")))
        new = registry.get(new_type)
        for key in old.options_schema if old else ():
            if key in spec and (new is None or key not in new.options_schema):
                ops.append(_deleter((*here, key)))
    else:
        sub = options_form(registry, new_type, spec, "opt")
        if sub is not None:
            parsed = sub.parse(form)
            errors.update(parsed.errors)
            for path, value in parsed.changes:
                ops.append(
                    _deleter((*here, *path)) if value is UNSET else _setter((*here, *path), value)
                )
    return FieldEdit(tuple(ops), errors, f"field {entity}.{name}")


def _label_ops(
    here: tuple[str, ...],
    label: Any,
    locales: tuple[str, ...],
    form: MultiDict[str, str],
    ops: list[Operation],
) -> None:
    posted = {loc: form.get(f"label.{loc}", "").strip() for loc in locales}
    wanted = {loc: text for loc, text in posted.items() if text}
    if isinstance(label, Mapping):
        for loc in locales:
            if wanted.get(loc) and wanted[loc] != label.get(loc):
                ops.append(_setter((*here, "label", loc), wanted[loc]))
            elif not wanted.get(loc) and loc in label and len(wanted) > 0:
                ops.append(_deleter((*here, "label", loc)))
        if not wanted and label:
            ops.append(_deleter((*here, "label")))
        return
    current = {locales[0]: label} if isinstance(label, str) and locales else {}
    if wanted != current:
        if wanted:
            ops.append(_setter((*here, "label"), wanted))
        elif label is not None:
            ops.append(_deleter((*here, "label")))


def default_text(value: Any) -> str:
    """A default as the editor shows it: inline YAML, so posting it back unchanged gives the
    same value (`"01"` stays a string, `{expr: now()}` a mapping)."""
    text = str(yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6))
    return text.removesuffix("\n").removesuffix("\n...").strip()


def label_values(label: Any, locales: tuple[str, ...]) -> dict[str, str]:
    """locale → text of a label written either way (a string is the default locale's)."""
    if isinstance(label, Mapping):
        return {loc: str(label.get(loc, "")) for loc in locales}
    return {loc: (str(label) if label and i == 0 else "") for i, loc in enumerate(locales)}


def check_expression(
    checker: Checker,
    bundle: Bundle,
    entity: str,
    field: str,
    key: str,
    source: str,
    env: Mapping[str, str],
) -> list[Problem]:
    """The problems `validate` would report for `source` as the field's `key` expression:
    the same checker, run on the bundle with the expression in place (nothing is saved)."""
    return check_at(checker, bundle, field_path(entity, field, key), source, env)


def check_at(
    checker: Checker,
    bundle: Bundle,
    path: tuple[str | int, ...],
    source: str,
    env: Mapping[str, str],
) -> list[Problem]:
    """The problems `validate` would report under definition `path` with the expression
    `source` written there (an empty one removed); nothing is saved."""
    edited = BundleEdit(bundle)
    if source.strip():
        edited.set(path, source)
    elif _has(bundle, path):
        edited.delete(path)
    report = checker.check_bundle(edited.result().bundle, env, seeds=False).report
    return [p for p in report.sorted() if tuple(p.path[: len(path)]) == path]


def _has(bundle: Bundle, path: tuple[str | int, ...]) -> bool:
    node: Any = load(bundle)[0].data
    for step in path:
        if isinstance(step, int) and isinstance(node, list) and step < len(node):
            node = node[step]
        elif isinstance(node, Mapping) and step in node:
            node = node[step]
        else:
            return False
    return True
