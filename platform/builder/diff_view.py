"""Unified diffs as lines a template renders accessibly: each line keeps its `+`/`-` sign
(shown, not only coloured) and its kind, so added lines become `<ins>` and removed ones
`<del>`, which assistive technology announces."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One line of a unified diff: kind is add, remove, hunk, header or context."""

    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class FileDiff:
    """The diff of one file."""

    path: str
    lines: tuple[DiffLine, ...]
    added: int
    removed: int


def diff_lines(text: str) -> tuple[DiffLine, ...]:
    """Classify the lines of a unified diff."""
    out = []
    for raw in text.splitlines():
        if raw.startswith(("+++", "---")):
            kind = "header"
        elif raw.startswith("@@"):
            kind = "hunk"
        elif raw.startswith("+"):
            kind = "add"
        elif raw.startswith("-"):
            kind = "remove"
        else:
            kind = "context"
        out.append(DiffLine(kind, raw))
    return tuple(out)


def file_diffs(diffs: Mapping[str, str]) -> list[FileDiff]:
    """path → unified diff as one `FileDiff` per file, by path."""
    found = []
    for path in sorted(diffs):
        lines = diff_lines(diffs[path])
        added = sum(1 for line in lines if line.kind == "add")
        removed = sum(1 for line in lines if line.kind == "remove")
        found.append(FileDiff(path, lines, added, removed))
    return found


def split_unified(text: str) -> dict[str, str]:
    """A multi-file unified diff (as `portalis diff` prints it) → path → its part."""
    parts: dict[str, list[str]] = {}
    current: list[str] | None = None
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            name = lines[i + 1][4:].strip()
            if name == "/dev/null":
                name = line[4:].strip()
            path = name.split("/", 1)[1] if "/" in name else name
            current = parts.setdefault(path, [])
        if current is not None:
            current.append(line)
    return {path: "".join(chunk) for path, chunk in parts.items()}
