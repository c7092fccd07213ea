"""Render the definition reference (Markdown) from the composed JSON Schema.

Everything here is derived from the schema, the field-type registry and the problem codes, so
the reference cannot drift from what the validator accepts. `docgen` writes the result.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..definition.fields import FieldType, FieldTypeRegistry
from ..definition.schema.compose import field_type_def
from ..problems import CODES
from .examples import FIELD_TYPE_NOTES, example_lines

Schema = Mapping[str, Any]

_REF_PREFIX = "#/$defs/"
_FIELD_TYPE_PREFIX = field_type_def("")
_EXPRESSION_DEF = "expression"
# Keys under which a schema node nests other schema nodes (walked to find $defs in use).
_NESTED_ONE = ("items", "additionalProperties", "propertyNames", "if", "then", "else", "not")
_NESTED_MANY = ("oneOf", "anyOf", "allOf", "prefixItems")
_NESTED_MAP = ("properties", "patternProperties")


def ref_name(node: Schema) -> str | None:
    """The `$defs` name a node refers to, if it is a local `$ref`."""
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
        return ref.removeprefix(_REF_PREFIX)
    return None


def field_type_anchor(name: str) -> str:
    """The Markdown anchor of a field type's section."""
    return f"field-type-{name}"


def _cell(text: str) -> str:
    return " ".join(escape_text(text).replace("|", "\\|").split())


def escape_text(text: str) -> str:
    """Escape `<` outside code spans, so `/<portal>/` is not taken for an HTML tag."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("<", "&lt;")
    return "`".join(parts)


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _children(node: Schema) -> Iterator[Schema]:
    for key in _NESTED_ONE:
        child = node.get(key)
        if isinstance(child, Mapping):
            yield child
    for key in _NESTED_MANY:
        for child in node.get(key, ()):
            if isinstance(child, Mapping):
                yield child
    for key in _NESTED_MAP:
        for child in node.get(key, {}).values():
            if isinstance(child, Mapping):
                yield child


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table (cells escaped and flattened to one line)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


class SchemaDoc:
    """Renders the parts of one composed schema: types, key tables and sections."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.defs: Mapping[str, Schema] = schema.get("$defs", {})
        self.sections = self._section_order()

    # -- classification ----------------------------------------------------------------
    def has_section(self, name: str) -> bool:
        """Whether a `$defs` entry is documented as its own object section."""
        node = self.defs.get(name)
        if node is None or name.startswith(_FIELD_TYPE_PREFIX):
            return False
        if name.startswith("block_") or "properties" in node:
            return True
        return any("properties" in alt for alt in node.get("oneOf", ()))

    def value_types(self) -> list[str]:
        """`$defs` entries that are plain values (documented in one table), in schema order."""
        return [
            n for n in self.defs if not n.startswith(_FIELD_TYPE_PREFIX) and not self.has_section(n)
        ]

    def _section_order(self) -> list[str]:
        # Depth-first from the root keys: sections follow the order a reader meets them.
        order: list[str] = []
        seen: set[str] = set()

        def visit(node: Schema) -> None:
            name = ref_name(node)
            if name is not None and name not in seen and name in self.defs:
                seen.add(name)
                if self.has_section(name):
                    order.append(name)
                visit(self.defs[name])
            for child in _children(node):
                visit(child)

        visit(self.schema)
        order += [n for n in self.defs if n not in seen and self.has_section(n)]
        return order

    def expression_keys(self) -> list[str]:
        """Every key whose value is an expression, sorted."""
        keys: set[str] = set()

        def visit(node: Schema) -> None:
            for key, child in node.get("properties", {}).items():
                if isinstance(child, Mapping) and ref_name(child) == _EXPRESSION_DEF:
                    keys.add(key)
            for child in _children(node):
                visit(child)

        visit(self.schema)
        for node in self.defs.values():
            visit(node)
        return sorted(keys)

    # -- types -------------------------------------------------------------------------
    def link(self, name: str) -> str:
        """A link to a `$defs` entry's section, or its readable name for a value type."""
        if name.startswith(_FIELD_TYPE_PREFIX):
            ftype = name.removeprefix(_FIELD_TYPE_PREFIX)
            return f"[{ftype} options](#{field_type_anchor(ftype)})"
        if self.has_section(name):
            return f"[{name}](#{name})"
        return name.replace("_", " ")

    def type_text(self, node: Schema) -> str:
        """A readable type: `string`, `list of role name`, `one of: all, own, {parent}`."""
        name = ref_name(node)
        if name is not None:
            target = self.defs.get(name, {})
            if not self.has_section(name) and target.get("type") == "array":
                return self.type_text(target)
            return self.link(name)
        if "const" in node:
            return f"`{_scalar(node['const'])}`"
        if "enum" in node:
            return "one of: " + ", ".join(_scalar(v) for v in node["enum"])
        alternatives = node.get("oneOf") or node.get("anyOf")
        if alternatives:
            return self._alternatives(alternatives)
        kind = node.get("type")
        if isinstance(kind, list):
            names = [str(k) for k in kind]
            return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
        if kind == "array":
            items = node.get("items")
            return "list of " + self.type_text(items) if isinstance(items, Mapping) else "list"
        if kind == "object" or "properties" in node:
            return self._object_text(node)
        return str(kind) if kind else "any"

    def _alternatives(self, alternatives: Sequence[Schema]) -> str:
        parts: list[str] = []
        listed = False
        for alt in alternatives:
            if "enum" in alt and "$ref" not in alt:
                parts += [_scalar(v) for v in alt["enum"]]
                listed = True
            elif "properties" in alt and "$ref" not in alt:
                parts.append("{" + ", ".join(alt["properties"]) + "}")
                listed = True
            else:
                parts.append(self.type_text(alt))
        if listed:
            return "one of: " + ", ".join(parts)
        return " or ".join(parts)

    def _object_text(self, node: Schema) -> str:
        if "properties" in node:
            return "mapping"
        value = node.get("additionalProperties")
        if not isinstance(value, Mapping):
            patterned = list(node.get("patternProperties", {}).values())
            value = patterned[0] if patterned else None
        if isinstance(value, Mapping):
            return f"map of {self._key_text(node)} → {self.type_text(value)}"
        return "mapping"

    def _key_text(self, node: Schema) -> str:
        names = node.get("propertyNames")
        pattern = names.get("pattern") if isinstance(names, Mapping) else None
        if pattern is not None and pattern == self.defs.get("name", {}).get("pattern"):
            return "name"
        return "string"

    # -- descriptions --------------------------------------------------------------------
    def description(self, node: Schema) -> str:
        """The node's description with its constraints; a referenced definition's otherwise."""
        text = str(node.get("description", ""))
        name = ref_name(node)
        # A value type's description (e.g. of `name`) would only repeat on every row.
        if not text and name is not None and self.has_section(name):
            text = str(self.defs.get(name, {}).get("description", ""))
        extra = constraints(node)
        return " ".join(part for part in (text, extra) if part)

    def key_rows(self, node: Schema, prefix: str = "") -> list[list[str]]:
        """Rows (key, type, required, description) of an object node; nested mappings dotted."""
        rows: list[list[str]] = []
        required = set(node.get("required", ()))
        for key, child in node.get("properties", {}).items():
            full = f"{prefix}{key}"
            mark = "yes" if key in required else "no"
            rows.append([f"`{full}`", self.type_text(child), mark, self.description(child)])
            if "properties" in child and "$ref" not in child:
                rows += self.key_rows(child, prefix=f"{full}.")
        return rows

    def key_table(self, node: Schema) -> list[str]:
        """The keys of an object node as a Markdown table."""
        return table(("Key", "Type", "Required", "Description"), self.key_rows(node))

    # -- sections ------------------------------------------------------------------------
    def section(self, name: str) -> list[str]:
        """The Markdown section of one `$defs` object."""
        node = self.defs[name]
        lines = [f"### `{name}`", ""]
        if node.get("description"):
            lines += [escape_text(str(node["description"])), ""]
        if "properties" in node:
            lines += [*self.key_table(node), ""]
        elif "oneOf" in node:
            lines += ["One of:", ""]
            lines += [f"- {self._alternative_line(alt)}" for alt in node["oneOf"]]
            lines.append("")
        else:
            lines += [f"Value: {self.type_text(node)}.", ""]
        branches = self._branches(node)
        if branches:
            lines += ["Keys that depend on the type:", "", *branches, ""]
        return [*lines, *example_lines(name)]

    def _alternative_line(self, alt: Schema) -> str:
        if "properties" in alt:
            keys = ", ".join(
                f"{key}: {self.type_text(child)}" for key, child in alt["properties"].items()
            )
            text = "{" + keys + "}"
        else:
            text = self.type_text(alt)
        detail = self.description(alt)
        return escape_text(f"{text} — {detail}" if detail else text)

    def _branches(self, node: Schema) -> list[str]:
        lines: list[str] = []
        for branch in node.get("allOf", ()):
            condition = branch.get("if", {}).get("properties", {})
            target = ref_name(branch.get("then", {}))
            for key, test in condition.items():
                if "const" in test and target is not None:
                    lines.append(f"- `{key}: {_scalar(test['const'])}` → {self.link(target)}")
        return lines


def constraints(node: Schema) -> str:
    """The value constraints of a node, as a short sentence ('' when there are none)."""
    parts: list[str] = []
    if "pattern" in node:
        parts.append(f"Pattern `{node['pattern']}`.")
    lo, hi = node.get("minLength"), node.get("maxLength")
    if lo is not None and hi is not None:
        parts.append(f"{lo} to {hi} characters.")
    elif hi is not None:
        parts.append(f"At most {hi} characters.")
    elif lo is not None and lo > 1:
        parts.append(f"At least {lo} characters.")
    lo, hi = node.get("minimum"), node.get("maximum")
    if lo is not None and hi is not None:
        parts.append(f"From {lo} to {hi}.")
    elif lo is not None:
        parts.append(f"At least {lo}.")
    elif hi is not None:
        parts.append(f"At most {hi}.")
    lo, hi = node.get("minItems"), node.get("maxItems")
    if lo:
        parts.append(f"At least {lo} item{'s' if lo > 1 else ''}.")
    if hi is not None:
        parts.append(f"At most {hi} items.")
    if node.get("uniqueItems"):
        parts.append("No duplicates.")
    return " ".join(parts)


def field_type_section(doc: SchemaDoc, ftype: FieldType) -> list[str]:
    """The section of one field type: description, behaviour flags and options table."""
    flags = ", ".join(
        f"{flag}: {'yes' if getattr(ftype, flag) else 'no'}"
        for flag in ("sortable", "filterable", "searchable")
    )
    lines = [f"### Field type: `{ftype.name}`", "", escape_text(ftype.description) or "-", ""]
    if ftype.name in FIELD_TYPE_NOTES:
        lines += [FIELD_TYPE_NOTES[ftype.name], ""]
    lines += [f"In lists: {flags}.", ""]
    examples = example_lines(field_type_def(ftype.name))
    if not ftype.options_schema:
        return [*lines, "No options beyond the [common field keys](#field).", "", *examples]
    required = set(ftype.required_options)
    rows = [
        [
            f"`{key}`",
            doc.type_text(option),
            "yes" if key in required else "no",
            doc.description(option),
        ]
        for key, option in ftype.options_schema.items()
    ]
    return [*lines, *table(("Option", "Type", "Required", "Description"), rows), "", *examples]


def field_types_part(doc: SchemaDoc, registry: FieldTypeRegistry) -> list[str]:
    """The "Field types" part: a summary table, then one section per registered type."""
    lines = [
        "## Field types",
        "",
        "A field's `type` selects one of these types; the type's options sit next to the",
        "[common field keys](#field) in the field's mapping. Plugins add types through the",
        "`portalis_field_types` hook (see plugins.md).",
        "",
    ]
    rows = [
        [f"[`{name}`](#{field_type_anchor(name)})", ftype.description]
        for name, ftype in registry.items()
    ]
    lines += [*table(("Type", "Description"), rows), ""]
    for _, ftype in registry.items():
        lines += field_type_section(doc, ftype)
    return lines


def problem_codes_part() -> list[str]:
    """The "Problem codes" part: every stable code with its meaning."""
    lines = [
        "## Problem codes",
        "",
        "`portalis validate` prints each problem as `file:line:col: CODE message (path) — hint`.",
        "Codes are stable: they never change meaning once published.",
        "",
    ]
    rows = [[f"`{code}`", meaning] for code, meaning in CODES.items()]
    return [*lines, *table(("Code", "Meaning"), rows), ""]
