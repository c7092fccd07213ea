"""The blocks of a page in the pages editor: every registered block type, its options as a
generated form, and the operations that add, move, remove and change blocks.

The block types are the definition sections at place `block` (the built-in list, detail,
form, markdown and metrics, and every plugin's), so a plugin's block gets its editor from its
own schema with no builder code: an object schema with properties becomes `SchemaForm`
fields; any other schema (metrics is a list, markdown a label) becomes one YAML field for
the whole value. A new block starts as the section's `example` (else its required keys).
The operations find a block by index *and* type when they run, so a stale form (someone
moved the blocks meanwhile) fails with a message instead of changing the wrong block.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from portalis.engine.definition.loader import load
from portalis.engine.definition.sections import DefinitionSection
from portalis.engine.definition.yamledit import BundleEdit, EditError
from portalis.runtime.context import state

from ..editing import Operation
from ..schema_form import UNSET, SchemaForm


def block_sections() -> Mapping[str, DefinitionSection]:
    """Every registered block type, by name (plugin blocks included)."""
    return state().checker.sections.at("block")


def blocks_path(page: str) -> tuple[str, ...]:
    """The definition path of a page's block list."""
    return ("pages", page, "blocks")


def block_type(block: Any) -> str | None:
    """The type of a written block (its one key), None when it is no block."""
    if isinstance(block, dict) and len(block) == 1:
        return str(next(iter(block)))
    return None


@dataclass(frozen=True, slots=True)
class BlockForm:
    """A block's generated options form; `whole` when the form has one field for the value."""

    form: SchemaForm
    whole: bool

    def changes(
        self, changes: tuple[tuple[tuple[str, ...], Any], ...]
    ) -> list[tuple[tuple[str, ...], Any]]:
        """(path under the block's value, value) of a parsed form's changes."""
        return [(path[1:] if self.whole else path, value) for path, value in changes]


def block_form(section: DefinitionSection, value: Any, prefix: str) -> BlockForm:
    """The options form of a block of type `section` showing `value`."""
    defs = state().checker.schema["$defs"]
    form = SchemaForm({**section.schema, "$defs": defs}, {}, prefix)
    own = form.resolve(section.schema)
    if own.get("type") == "object" and own.get("properties"):
        current = value if isinstance(value, dict) else {}
        return BlockForm(SchemaForm({**section.schema, "$defs": defs}, current, prefix), False)
    schema = {
        "type": "object",
        "properties": {section.name: {**section.schema, "title": section.title}},
        "required": [section.name],
        "$defs": defs,
    }
    return BlockForm(SchemaForm(schema, {section.name: value}, prefix), True)


def new_block_value(section: DefinitionSection) -> Any:
    """A new block's value: the section's example, else its required keys with empty values."""
    if section.example:
        try:
            return yaml.safe_load(section.example)
        except yaml.YAMLError:
            pass
    schema = section.schema
    if schema.get("type") == "array":
        return []
    empty = {"array": [], "object": {}, "boolean": False, "integer": 0, "number": 0}
    props = schema.get("properties", {})
    return {
        key: empty.get(str(props.get(key, {}).get("type")), "")
        for key in schema.get("required", ())
    }


def _blocks(edit: BundleEdit, page: str) -> list[Any]:
    found = (load(edit.result().bundle)[0].data.get("pages") or {}).get(page) or {}
    if not isinstance(found, dict):
        raise EditError(f"the definition has no page {page} any more")
    return list(found.get("blocks") or [])


def _checked(edit: BundleEdit, page: str, index: int, kind: str) -> list[Any]:
    blocks = _blocks(edit, page)
    if not 0 <= index < len(blocks) or block_type(blocks[index]) != kind:
        raise EditError(f"block {index + 1} of page {page} is no {kind} block any more")
    return blocks


def add_op(page: str, section: DefinitionSection) -> Operation:
    """Append a new block of type `section` to the page."""
    value = {section.name: new_block_value(section)}

    def run(edit: BundleEdit) -> None:
        if _blocks(edit, page):
            edit.append(blocks_path(page), value)
        else:
            edit.set(blocks_path(page), [value])

    return run


def move_op(page: str, index: int, kind: str, delta: int) -> Operation:
    """Move block `index` (of type `kind`) by `delta` places."""

    def run(edit: BundleEdit) -> None:
        blocks = _checked(edit, page, index, kind)
        target = max(0, min(len(blocks) - 1, index + delta))
        if target != index:
            edit.move_item((*blocks_path(page), index), target)

    return run


def remove_op(page: str, index: int, kind: str) -> Operation:
    """Take block `index` (of type `kind`) off the page."""

    def run(edit: BundleEdit) -> None:
        _checked(edit, page, index, kind)
        edit.delete((*blocks_path(page), index))

    return run


def options_op(
    page: str, index: int, kind: str, changes: list[tuple[tuple[str, ...], Any]]
) -> Operation:
    """Write the changed options of block `index`: set each changed value, delete cleared
    ones; the whole value when the form has one field for it."""

    def run(edit: BundleEdit) -> None:
        _checked(edit, page, index, kind)
        base: tuple[str | int, ...] = (*blocks_path(page), index, kind)
        for path, value in changes:
            if value is UNSET:
                edit.delete((*base, *path))
            else:
                edit.set((*base, *path), value)

    return run
