"""Edits inside flow collections (`{...}`, `[...]`) made on the file's text itself.

ruamel.yaml writes a flow collection its own way: on one line, whatever lines the file spread
it over. An edit of one value, or an entry added to or removed from a flow collection, is
therefore made on the characters of that value or entry: the composed node's marks say where
it starts and ends, and only those characters change. The value is written the way ruamel.yaml
writes it inside a flow collection; every other character of the file stays as it was. The
caller checks that the result means the edit and falls back to the tree otherwise.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.scalarstring import ScalarString

from ...problems import JsonPath
from .style import dump, from_plain

_Entry = tuple[Node | None, Node]  # (key node of a mapping entry, value node)


def _entries(node: Node) -> list[_Entry]:
    if isinstance(node, MappingNode):
        return [(key, value) for key, value in node.value]
    if isinstance(node, SequenceNode):
        return [(None, value) for value in node.value]
    return []


def _child(node: Node, step: str | int) -> Node | None:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value == str(step):
                return value  # type: ignore[no-any-return]
        return None
    if isinstance(node, SequenceNode) and isinstance(step, int):
        items = node.value
        return items[step] if -len(items) <= step < len(items) else None
    return None


def _node(yaml: YAML, text: str, path: JsonPath) -> Node | None:
    """The composed node at `path` (None when there is none or the text does not compose)."""
    try:
        node: Node | None = yaml.compose(text)
    except YAMLError:
        return None
    for step in path:
        if node is None:
            return None
        node = _child(node, step)
    return node


def _start(entry: _Entry) -> int:
    key, value = entry
    return int((key or value).start_mark.index)


def _end(entry: _Entry) -> int:
    return int(entry[1].end_mark.index)


def _flow(node: Any) -> Any:
    """`node` with every collection in it set to flow style (a flow collection holds no
    block collection)."""
    if isinstance(node, (CommentedMap, CommentedSeq)):
        node.fa.set_flow_style()
        for child in node.values() if isinstance(node, CommentedMap) else node:
            _flow(child)
    return node


def _written(yaml: YAML, holder: CommentedMap | CommentedSeq) -> str:
    """The inside of a one-entry flow collection as ruamel.yaml writes it."""
    text = dump(yaml, _flow(holder)).rstrip("\n")
    if text.endswith("..."):  # a document end marker some scalars get
        text = text[:-3].rstrip("\n")
    return text[1:-1]


def flow_value(yaml: YAML, value: Any, old: Any = None) -> str:
    """`value` written as a value inside a flow collection. A string replacing a quoted string
    keeps its quotes."""
    content = from_plain(value, item=True)
    if isinstance(old, ScalarString) and isinstance(value, str) and "\n" not in value:
        content = type(old)(value)
    return _written(yaml, CommentedSeq([content]))


def flow_entry(yaml: YAML, key: str | None, value: Any) -> str:
    """One entry of a flow collection: `key: value` of a mapping, or a sequence's item."""
    if key is None:
        return flow_value(yaml, value)
    return _written(yaml, CommentedMap([(key, from_plain(value))]))


def replace_value(yaml: YAML, text: str, path: JsonPath, written: str) -> str | None:
    """`text` with the value at `path` replaced by `written`."""
    node = _node(yaml, text, path)
    if node is None or not path:
        return None
    start, end = int(node.start_mark.index), int(node.end_mark.index)
    if start >= end:  # an empty (null) value has no characters to replace
        return None
    return text[:start] + written + text[end:]


def delete_entry(yaml: YAML, text: str, parent: JsonPath, index: int) -> str | None:
    """`text` without entry `index` of the flow collection at `parent` and the comma that
    parted it from its neighbour (None where a comment would go with it)."""
    node = _node(yaml, text, parent)
    if not isinstance(node, CollectionNode) or not node.flow_style:
        return None
    entries = _entries(node)
    if not 0 <= index < len(entries):
        return None
    if len(entries) == 1:
        start, end = int(node.start_mark.index), int(node.end_mark.index)
        empty = "{}" if isinstance(node, MappingNode) else "[]"
        return text[:start] + empty + text[end:]
    if index > 0:
        start, end = _end(entries[index - 1]), _end(entries[index])
    else:
        start, end = _start(entries[0]), _start(entries[1])
    own_start, own_end = _start(entries[index]), _end(entries[index])
    around = text[start:own_start] + text[own_end:end]
    if "#" in around:  # a comment between two entries stays where it is
        return None
    return text[:start] + text[end:]


def insert_entry(yaml: YAML, text: str, parent: JsonPath, index: int, written: str) -> str | None:
    """`text` with `written` (a `flow_entry`) at position `index` of the flow collection at
    `parent`: before the entry now there, or after the last one."""
    node = _node(yaml, text, parent)
    if not isinstance(node, CollectionNode) or not node.flow_style:
        return None
    entries = _entries(node)
    if not entries:
        start, end = int(node.start_mark.index), int(node.end_mark.index)
        opening, closing = ("{", "}") if isinstance(node, MappingNode) else ("[", "]")
        return text[:start] + opening + written + closing + text[end:]
    if index < len(entries):
        at = _start(entries[index])
        return text[:at] + written + ", " + text[at:]
    at = _end(entries[-1])
    return text[:at] + ", " + written + text[at:]
