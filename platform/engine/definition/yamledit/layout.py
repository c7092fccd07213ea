"""Where the entries of a block mapping or block sequence sit in a file's lines.

An entry spans its *leading comments* (comment lines right above it, not separated by a blank
line), its first line and its content (every deeper line, block scalars included). Blank lines
and comments between two entries that are not leading comments of the next form the *gap*.
Edits that add, remove or move entries cut and paste these spans, so the rest of the file
stays byte for byte as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq


@dataclass(frozen=True, slots=True)
class Span:
    """Lines of one entry: [lead, end) with its first line at `line` and column `col`."""

    lead: int
    line: int
    end: int
    col: int


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_comment(line: str) -> bool:
    return line.lstrip(" ").startswith("#")


def _is_blank(line: str) -> bool:
    return not line.strip()


def is_block(node: Any) -> bool:
    """True for a block (not flow) mapping or sequence."""
    return isinstance(node, (CommentedMap, CommentedSeq)) and not node.fa.flow_style()


def anchors(lines: list[str], node: CommentedMap | CommentedSeq) -> list[tuple[int, int]]:
    """(line, column) of each entry's first line: its key, or its dash."""
    out: list[tuple[int, int]] = []
    if isinstance(node, CommentedMap):
        for key in node:
            line, col = node.lc.key(key)
            out.append((line, col))
        return out
    for index in range(len(node)):
        line, col = node.lc.item(index)
        dash = lines[line].rfind("-", 0, col + 1 if col < len(lines[line]) else None)
        out.append((line, dash if dash >= 0 else col))
    return out


def spans(lines: list[str], node: CommentedMap | CommentedSeq) -> list[Span]:
    """The span of every entry of the block collection `node`."""
    sequence = isinstance(node, CommentedSeq)
    result: list[Span] = []
    for line, col in anchors(lines, node):
        lead = line
        while lead > 0 and _is_comment(lines[lead - 1]) and _indent(lines[lead - 1]) <= col:
            lead -= 1
        boundary = line + 1
        while boundary < len(lines):
            text = lines[boundary]
            if not _is_blank(text) and not _is_comment(text):
                indent = _indent(text)
                zero_offset_item = not sequence and indent == col and text[indent:].startswith("-")
                if indent < col or (indent == col and not zero_offset_item):
                    break
                if text.startswith(("---", "...")):
                    break
            boundary += 1
        end = boundary
        while end > line + 1 and (
            _is_blank(lines[end - 1])
            or (_is_comment(lines[end - 1]) and _indent(lines[end - 1]) <= col)
        ):
            end -= 1
        result.append(Span(lead, line, end, col))
    return result


def separator(lines: list[str], found: list[Span]) -> list[str]:
    """The blank lines that part entries (one, when the entries are spaced; else none)."""
    for previous, current in zip(found, found[1:], strict=False):
        if any(_is_blank(text) for text in lines[previous.end : current.lead]):
            return ["\n"]
    return []


def reindent(block: list[str], shift: int) -> list[str]:
    """Lines moved `shift` columns right (left when negative); blank lines stay blank."""
    if shift >= 0:
        return [(" " * shift + text) if text.strip() else text for text in block]
    return [text[min(-shift, _indent(text)) :] if text.strip() else text for text in block]
