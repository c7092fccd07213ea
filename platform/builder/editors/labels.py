"""Every localized label of a definition, found by the definition schema.

The schema's `$defs/label` is "one string for every locale, or a map locale → string"; a
property whose schema is that definition (through `$ref`s, e.g. `block_markdown`) or has the
same shape (a choice option's `label`: a string or a map of strings) is a label. `label_keys`
collects those property names from the composed schema (plugin sections included), and
`find_labels` walks the merged definition for them: entity and field labels, choice option
labels, page titles and Markdown, navigation and role labels, workflow state and transition
labels, notification messages, form submit labels, the portal's title and description.

Names of things (a field called `title`, an entity called `description`) are keys of the
mappings that hold named things, never labels; a value only counts when it has a label's
shape: a string, or a map whose keys are locale codes and whose values are strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

JsonPath = tuple[str | int, ...]

_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
#: Mappings whose keys are names the definition gives to things, not properties.
_NAMED = frozenset({"entities", "fields", "pages", "workflows", "states", "transitions", "roles"})
#: Areas of the grid, by the definition's top-level key (others are "portal").
AREAS: tuple[str, ...] = (
    "portal",
    "entities",
    "pages",
    "navigation",
    "roles",
    "workflows",
    "notifications",
)


@dataclass(frozen=True, slots=True)
class Label:
    """One label: where it is, its texts by locale, and whether it is one plain string."""

    path: JsonPath
    texts: Mapping[str, str]
    plain: bool

    @property
    def area(self) -> str:
        """The grid's group: the top-level section the label belongs to."""
        head = str(self.path[0]) if self.path else "portal"
        return head if head in AREAS else "portal"

    @property
    def key(self) -> str:
        """The label's path as one string (the form's cell names use it)."""
        return ".".join(str(step) for step in self.path)

    def text(self, locale: str) -> str:
        """The text shown in `locale` (a plain string shows in every locale)."""
        if self.plain:
            return self.texts.get("", "")
        return self.texts.get(locale, "")

    def missing(self, locale: str, locales: tuple[str, ...]) -> bool:
        """True when `locale` has no text of its own (a plain string is the default
        locale's text, missing in the others)."""
        if self.plain:
            return bool(locales) and locale != locales[0]
        return not self.texts.get(locale)


def _is_label_schema(node: Any, defs: Mapping[str, Any], seen: tuple[str, ...] = ()) -> bool:
    if not isinstance(node, Mapping):
        return False
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        return name == "label" or (
            name not in seen and _is_label_schema(defs.get(name), defs, (*seen, name))
        )
    variants = node.get("oneOf") or node.get("anyOf")
    if isinstance(variants, list) and len(variants) == 2:
        types = sorted(str(v.get("type")) for v in variants if isinstance(v, Mapping))
        strings = [v for v in variants if isinstance(v, Mapping) and v.get("type") == "object"]
        return types == ["object", "string"] and all(
            (v.get("additionalProperties") or {}).get("type") == "string"
            or any(p.get("type") == "string" for p in (v.get("patternProperties") or {}).values())
            for v in strings
        )
    return False


def label_keys(schema: Mapping[str, Any]) -> frozenset[str]:
    """The property names the schema declares as labels, anywhere in it."""
    defs = schema.get("$defs") or {}
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for name, prop in (node.get("properties") or {}).items():
                if _is_label_schema(prop, defs):
                    found.add(str(name))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return frozenset(found)


def _label_shaped(value: Any) -> bool:
    if isinstance(value, str):
        return True
    return (
        isinstance(value, dict)
        and bool(value)
        and all(isinstance(k, str) and _LOCALE.match(k) for k in value)
        and all(isinstance(v, str) for v in value.values())
    )


def find_labels(data: Any, keys: frozenset[str]) -> list[Label]:
    """Every label of the merged definition `data`, in definition order."""
    return list(_walk(data, (), keys, named=False))


def _walk(node: Any, path: JsonPath, keys: frozenset[str], *, named: bool) -> Iterator[Label]:
    if isinstance(node, dict):
        for key, value in node.items():
            child = (*path, str(key))
            if not named and key in keys and _label_shaped(value):
                if isinstance(value, str):
                    yield Label(child, {"": value}, plain=True)
                else:
                    yield Label(child, {str(k): str(v) for k, v in value.items()}, plain=False)
            else:
                yield from _walk(value, child, keys, named=not named and key in _NAMED)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, (*path, index), keys, named=False)
