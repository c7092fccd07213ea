"""A form generated from a JSON Schema object: render, parse, validate, and what changed.

`SchemaForm(schema, current, prefix)` walks an object schema's `properties` (following
`$ref` into the schema's `$defs`) and makes one `FormField` per property:

- `string` → text input; `enum` → select; `boolean` → checkbox; `integer`/`number` → number
  input; an array of enums → a group of checkboxes; an array of strings → a text area, one
  item per line; a nested object with properties → a fieldset of its own fields;
- anything else (`oneOf`/`anyOf` without an object variant, maps, lists of objects) → a YAML
  text area for that property. A `oneOf`/`anyOf` with an object variant uses the first one.

Labels come from `title` (else the property name), help from `description`, and required
properties are marked. `parse(form)` reads the posted values, checks the resulting object
against the schema with jsonschema and answers `Parsed`: the field errors (by HTML name) and
`changes` — only the properties whose value differs from `current`, as
(path, value) with `UNSET` for a property the user cleared — so an editor `set`s exactly
those into the YAML and untouched keys keep their text.

Used by the entities editor for each field type's options (`FieldType.options_schema`) and,
by later editors, for block options (the sections' composed schema).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import jsonschema
import yaml
from werkzeug.datastructures import MultiDict

#: A property the user cleared: delete it from the YAML.
UNSET: Final = object()
_SCALARS: Final = ("string", "integer", "number", "boolean")


@dataclass(slots=True)
class FormField:
    """One control of a generated form (a fieldset when `kind` is `fieldset`)."""

    name: str
    path: tuple[str, ...]
    label: str
    help: str
    required: bool
    kind: str
    value: Any = None
    choices: tuple[str, ...] = ()
    children: list[FormField] = field(default_factory=list)
    error: str = ""

    @property
    def id(self) -> str:
        """The HTML id of the control."""
        return "sf-" + self.name.replace(".", "-")

    @property
    def text(self) -> str:
        """The control's current value as text (text, number and text-area controls)."""
        if self.value is None:
            return ""
        if self.kind == "lines":
            return "\n".join(str(v) for v in self.value)
        if self.kind == "yaml":
            return str(yaml.safe_dump(self.value, allow_unicode=True, sort_keys=False)).strip()
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        return str(self.value)


@dataclass(frozen=True, slots=True)
class Parsed:
    """What a posted generated form holds: the errors by field name, and what changed."""

    errors: Mapping[str, str]
    changes: tuple[tuple[tuple[str, ...], Any], ...]
    data: Mapping[str, Any]

    @property
    def ok(self) -> bool:
        """True when every value is valid."""
        return not self.errors


class SchemaForm:
    """The form of an object schema, showing `current` (the YAML's plain data)."""

    def __init__(
        self, schema: Mapping[str, Any], current: Mapping[str, Any] | None, prefix: str = "opt"
    ) -> None:
        self.schema = schema
        self.defs: Mapping[str, Any] = schema.get("$defs", {})
        self.current: dict[str, Any] = dict(current or {})
        self.prefix = prefix
        self.fields = self._fields(schema, (), self.current)

    # -- building ---------------------------------------------------------------------

    def resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        """`node` with a local `$ref` (`#/$defs/x`) followed."""
        seen = 0
        while "$ref" in node and seen < 20:
            ref = str(node["$ref"])
            name = ref.rsplit("/", 1)[-1]
            target = self.defs.get(name)
            if not ref.startswith("#/$defs/") or target is None:
                return {}
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            seen += 1
        return node

    def _object_variant(self, node: Mapping[str, Any]) -> Mapping[str, Any] | None:
        for key in ("oneOf", "anyOf"):
            for variant in node.get(key, ()):
                resolved = self.resolve(variant)
                if resolved.get("type") == "object" and resolved.get("properties"):
                    return resolved
        return None

    def _fields(
        self, schema: Mapping[str, Any], path: tuple[str, ...], current: Mapping[str, Any]
    ) -> list[FormField]:
        schema = self.resolve(schema)
        required = set(schema.get("required", ()))
        out = []
        for key, raw in schema.get("properties", {}).items():
            prop = self.resolve(raw)
            sub = (*path, key)
            value = current.get(key) if isinstance(current, Mapping) else None
            out.append(self._field(prop, sub, key in required, value))
        return out

    def _field(
        self, prop: Mapping[str, Any], path: tuple[str, ...], required: bool, value: Any
    ) -> FormField:
        name = ".".join((self.prefix, *path))
        label = str(prop.get("title") or path[-1].replace("_", " ").capitalize())
        made = FormField(name, path, label, str(prop.get("description", "")), required, "yaml")
        made.value = value
        kind = self.kind_of(prop)
        made.kind = kind
        if kind == "select":
            made.choices = tuple(str(c) for c in prop["enum"])
        elif kind == "checks":
            made.choices = tuple(str(c) for c in self.resolve(prop["items"])["enum"])
        elif kind == "fieldset":
            obj = prop if prop.get("properties") else self._object_variant(prop) or {}
            made.children = self._fields(obj, path, value if isinstance(value, Mapping) else {})
        return made

    def kind_of(self, prop: Mapping[str, Any]) -> str:
        """The control a property gets (see the module docstring)."""
        if "enum" in prop:
            return "select"
        kind = prop.get("type")
        if kind == "string":
            return "text"
        if kind in ("integer", "number"):
            return str(kind)
        if kind == "boolean":
            return "checkbox"
        if kind == "array":
            items = self.resolve(prop.get("items", {}))
            if "enum" in items:
                return "checks"
            if items.get("type") == "string":
                return "lines"
            return "yaml"
        if kind == "object" and prop.get("properties"):
            return "fieldset"
        if kind is None and self._object_variant(prop) is not None:
            return "fieldset"
        return "yaml"

    # -- reading a post -----------------------------------------------------------------

    def parse(self, form: MultiDict[str, str]) -> Parsed:
        """Read, check and diff the posted values (see the module docstring)."""
        errors: dict[str, str] = {}
        data = copy.deepcopy(self.current)
        changes: list[tuple[tuple[str, ...], Any]] = []
        for made in self._leaves(self.fields):
            try:
                value = self._read(made, form)
            except ValueError as exc:
                errors[made.name] = str(exc)
                continue
            before = _get(self.current, made.path)
            if value is UNSET:
                if before is not None:
                    changes.append((made.path, UNSET))
                    _delete(data, made.path)
            elif value != before:
                changes.append((made.path, value))
                _put(data, made.path, value)
        # values that could not be read keep their own error (setdefault)
        validator = jsonschema.Draft202012Validator(dict(self.schema))
        for error in validator.iter_errors(data):
            where = [str(p) for p in error.absolute_path]
            missing = _missing_property(error)
            if missing:
                where.append(missing)
            errors.setdefault(self._nearest(tuple(where)), error.message)
        for made in self._leaves(self.fields):
            made.error = errors.get(made.name, "")
            if made.name in form or made.kind in ("checkbox", "checks"):
                made.value = _get(data, made.path)
        return Parsed(errors, tuple(changes), data)

    def _nearest(self, path: tuple[str, ...]) -> str:
        names = {f.path: f.name for f in self._leaves(self.fields)}
        for depth in range(len(path), 0, -1):
            if path[:depth] in names:
                return names[path[:depth]]
        return self.prefix

    def _leaves(self, fields: list[FormField]) -> list[FormField]:
        out = []
        for made in fields:
            out.extend(self._leaves(made.children) if made.kind == "fieldset" else [made])
        return out

    def _read(self, made: FormField, form: MultiDict[str, str]) -> Any:
        if made.kind == "checkbox":
            checked = form.get(made.name) == "true"
            before = _get(self.current, made.path)
            return checked if checked or before is not None else UNSET
        if made.kind == "checks":
            picked = [c for c in made.choices if c in form.getlist(made.name)]
            return picked or UNSET
        raw = form.get(made.name, "").strip()
        if not raw:
            return UNSET
        if made.kind == "integer":
            try:
                return int(raw)
            except ValueError:
                raise ValueError("must be a whole number") from None
        if made.kind == "number":
            try:
                number = float(raw)
            except ValueError:
                raise ValueError("must be a number") from None
            return int(number) if number.is_integer() and "." not in raw else number
        if made.kind == "lines":
            return [line.strip() for line in raw.splitlines() if line.strip()]
        if made.kind == "yaml":
            try:
                return yaml.safe_load(raw)
            except yaml.YAMLError as exc:
                raise ValueError(f"is not valid YAML: {exc}") from None
        return raw


def _missing_property(error: jsonschema.ValidationError) -> str | None:
    if error.validator == "required" and isinstance(error.instance, Mapping):
        wanted: Any = error.validator_value
        for name in wanted:
            if name not in error.instance:
                return str(name)
    return None


def _get(data: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        if not isinstance(data, Mapping) or step not in data:
            return None
        data = data[step]
    return data


def _put(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for step in path[:-1]:
        data = data.setdefault(step, {})
    data[path[-1]] = value


def _delete(data: dict[str, Any], path: tuple[str, ...]) -> None:
    for step in path[:-1]:
        data = data.get(step, {})
    if isinstance(data, dict):
        data.pop(path[-1], None)


def object_schema(properties: Mapping[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """An object schema of `properties` (as field types declare their options)."""
    return {"type": "object", "properties": dict(properties), "required": list(required)}
