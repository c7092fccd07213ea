"""How a YAML file is written: its indentation, and the ruamel.yaml settings that keep it.

New values are rendered the way the starter definitions are written: short mappings and lists
of scalars in flow style (`{en: Ticket, de: Ticket}`, `[read, create]`), anything larger in
block style. Long strings are never folded (a very large width).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor, SafeConstructor
from ruamel.yaml.events import AliasEvent

from ..yamlsource import ALLOWED_TAGS

#: Wide enough that ruamel.yaml never folds a line of its own accord.
WIDTH = 1 << 20
#: A new collection of scalars up to this many characters is written in flow style.
FLOW_LIMIT = 100

#: The constructors the edit layer builds trees with: plain data only.
SAFE_CONSTRUCTORS = (RoundTripConstructor, SafeConstructor)
#: Only the parser runs (events; nothing is composed or constructed).
_EventLoader: Any = getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader)
_KEY_LINE = re.compile(r"^( *)([^\s#-][^:#]*|\"[^\"]*\"|'[^']*'):(\s|$)")
_DASH_LINE = re.compile(r"^( *)- ")


@dataclass(frozen=True, slots=True)
class Indent:
    """Block indentation: mapping step, sequence content step and the dash offset."""

    mapping: int = 2
    sequence: int = 4
    offset: int = 2


def detect_indent(text: str) -> Indent:
    """The indentation a file uses (the starter's when the file shows none)."""
    mapping: int | None = None
    offset: int | None = None
    previous_key: int | None = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        dash = _DASH_LINE.match(line)
        if dash and previous_key is not None and offset is None:
            offset = len(dash.group(1)) - previous_key
        key = _KEY_LINE.match(line)
        indent = len(line) - len(line.lstrip(" "))
        if key and not dash:
            if previous_key is not None and indent > previous_key and mapping is None:
                mapping = indent - previous_key
            previous_key = indent
        elif not dash:
            previous_key = None
        if mapping is not None and offset is not None:
            break
    mapping = mapping or 2
    offset = max(offset if offset is not None else 2, 0)
    return Indent(mapping, offset + 2, offset)


def make_yaml(indent: Indent, *, explicit_start: bool = False) -> YAML:
    """A round-trip ruamel.yaml instance that writes like the file it read."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = WIDTH
    yaml.indent(mapping=indent.mapping, sequence=indent.sequence, offset=indent.offset)
    yaml.explicit_start = explicit_start
    # `[{notify: ...}]` stays as written: without braces it would read `[notify: ...]`
    yaml.brace_single_entry_mapping_in_flow_sequence = True
    return yaml


def load_text(yaml: YAML, text: str) -> Any:
    """The round-trip tree of `text` (None for an empty file), refusing what plain data never
    needs: explicit tags other than the definition loader's (a tag is how YAML asks for objects
    to be built) and anchors or aliases (an alias can multiply a document when it is turned
    into plain data, and an edit could not keep it). Raises ValueError naming what it found;
    the text's YAML errors pass through."""
    if not text.strip():
        return None
    try:
        # libyaml's parser yields the same events as ruamel.yaml's for this check, about
        # twenty times faster; ruamel.yaml's own parse decides when libyaml refuses the text
        _refuse_unsafe(pyyaml.parse(text, Loader=_EventLoader), pyyaml.AliasEvent)
    except pyyaml.YAMLError:
        _refuse_unsafe(yaml.parse(text), AliasEvent)
    return round_trip_tree(yaml, text)


def round_trip_tree(yaml: YAML, text: str) -> Any:
    """The round-trip tree of a text already checked by `load_text` (None when empty):
    composed into nodes, then built by the instance's constructor, which must be one of the
    safe ones — ruamel.yaml's round-trip constructor builds mappings, sequences and scalars
    (with their comments), never an object a tag names. (Its unsafe `Constructor` extends
    `SafeConstructor` too, so the classes are named, not tested for a base.)"""
    if yaml.Constructor not in SAFE_CONSTRUCTORS:
        raise TypeError(f"{yaml.Constructor.__name__} is not a safe YAML constructor")
    node = yaml.compose(text) if text.strip() else None
    return None if node is None else yaml.constructor.construct_document(node)


def _refuse_unsafe(events: Iterable[Any], alias: type[Any]) -> None:
    for event in events:
        if isinstance(event, alias) or getattr(event, "anchor", None):
            raise ValueError("anchors and aliases (&name, *name) are not edited here")
        tag = getattr(event, "tag", None)
        if tag is not None and str(tag) not in ALLOWED_TAGS:
            raise ValueError(f"the explicit tag {tag!s} is not allowed in a definition")


def dump(yaml: YAML, data: Any) -> str:
    """`data` as YAML text."""
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def to_plain(node: Any) -> Any:
    """ruamel.yaml's round-trip objects as plain dicts, lists and scalars."""
    if isinstance(node, dict):
        return {str(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def from_plain(value: Any, *, item: bool = False) -> Any:
    """Plain data as ruamel.yaml nodes. Flow style for short lists of scalars and short
    mappings of scalars and such lists (as list items, of such mappings too); else block."""
    if isinstance(value, dict):
        node: CommentedMap | CommentedSeq = CommentedMap(
            (str(k), from_plain(v)) for k, v in value.items()
        )
        # a one-key list item is an idiom (`- set: {...}`, `- list: ...`): kept block
        limit = (0 if len(value) == 1 else 2) if item else 1
    elif isinstance(value, (list, tuple)):
        node = CommentedSeq(from_plain(v, item=True) for v in value)
        limit = 0
    else:
        return value
    node.fa.set_block_style()
    if node and _depth(node) <= limit and _children_flowable(node):
        node.fa.set_flow_style()
        flat = dump(make_yaml(Indent()), CommentedMap([("k", node)])).rstrip("\n")
        if "\n" in flat or len(flat) - 3 > FLOW_LIMIT:
            node.fa.set_block_style()
    return node


def _depth(node: Any) -> int:
    """Nesting of mappings (a list of scalars counts as a scalar)."""
    if isinstance(node, CommentedMap):
        return 1 + max((_depth(v) for v in node.values()), default=0)
    if isinstance(node, CommentedSeq):
        inner = max((_depth(v) for v in node), default=0)
        return 0 if inner == 0 else inner + 1
    return 0


def _children_flowable(node: CommentedMap | CommentedSeq) -> bool:
    children = node.values() if isinstance(node, CommentedMap) else node
    for child in children:
        if isinstance(child, (CommentedMap, CommentedSeq)):
            if not child.fa.flow_style():
                return False
        elif isinstance(child, str) and ("\n" in child or len(child) > FLOW_LIMIT):
            return False
    return True
