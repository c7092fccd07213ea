"""Round-trip trees as the edits see them: where a path leads, what a text means (key order
included), and the errors an impossible edit raises."""

from __future__ import annotations

import re
from typing import Any

from ruamel.yaml.comments import CommentedSeq
from ruamel.yaml.error import YAMLError

from ...problems import JsonPath, PortalisError
from .style import Indent, load_text, make_yaml, to_plain

Key = str | int


class EditError(PortalisError):
    """An edit that cannot be made: a missing node, a wrong kind of node, a name taken."""

    code = "edit-invalid"

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


def ordered(node: Any) -> Any:
    """Plain data in which mappings compare with their key order (moves are about order)."""
    plain = to_plain(node)

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return [(k, walk(v)) for k, v in value.items()]
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return walk(plain)


def reads(text: str, indent: Indent) -> Any:
    """What `text` means, key order included (a sentinel equal to nothing when invalid)."""
    try:
        return ordered(load_text(make_yaml(indent), text))
    except (YAMLError, ValueError):
        return object()


def node_at(root: Any, path: JsonPath) -> Any:
    node = root
    for step in path:
        node = node[step]
    return node


def seq_index(seq: CommentedSeq, step: Key) -> int:
    if not isinstance(step, int):
        raise EditError(f"list positions are numbers, not {step!r}")
    return step % len(seq) if seq else step


def dotted(path: JsonPath) -> str:
    return ".".join(str(p) for p in path)


_SAFE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def plain_key(key: str) -> str:
    if not _SAFE_KEY.match(key) or key in ("true", "false", "null", "yes", "no", "on", "off"):
        raise EditError(
            f"{key!r} is not a valid name",
            hint="names start with a letter and hold letters, digits, _ and -",
        )
    return key
