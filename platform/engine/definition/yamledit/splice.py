"""Carry an edit made on a re-serialised document back onto the file's own text.

ruamel.yaml keeps comments, order and quoting, but it writes some things its own way (a flow
mapping spread over several lines comes out on one). `splice(original, before, after)` is a
three-way merge with `before` (the unedited document as ruamel.yaml writes it) as the base:
the lines the edit changed (`before` → `after`) are applied to `original`, and every other
line keeps the file's own writing. Where the edit touches a line ruamel.yaml would write
differently, that one region takes ruamel.yaml's writing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher


@dataclass(frozen=True, slots=True)
class _Chunk:
    start: int  # range [start, end) of the base replaced by `lines`
    end: int
    lines: tuple[str, ...]
    edit: bool  # True: from the edit; False: the file's own writing


def _chunks(base: Sequence[str], other: Sequence[str], *, edit: bool) -> list[_Chunk]:
    matcher = SequenceMatcher(None, base, other, autojunk=False)
    return [
        _Chunk(i1, i2, tuple(other[j1:j2]), edit)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def _overlap(a: _Chunk, b: _Chunk) -> bool:
    if a.start == a.end and b.start == b.end:
        return a.start == b.start
    if a.start == a.end:
        return b.start < a.start < b.end
    if b.start == b.end:
        return a.start < b.start < a.end
    return a.start < b.end and b.start < a.end


def splice(original: str, before: str, after: str) -> str:
    """`original` with the change from `before` to `after` applied (see the module doc)."""
    if before == after:
        return original
    if before == original:
        return after
    base = before.splitlines(keepends=True)
    chunks = _chunks(base, original.splitlines(keepends=True), edit=False)
    chunks += _chunks(base, after.splitlines(keepends=True), edit=True)
    chunks.sort(key=lambda c: (c.start, c.end, not c.edit))
    groups: list[list[_Chunk]] = []
    for chunk in chunks:
        if groups and any(_overlap(chunk, other) for other in groups[-1]):
            groups[-1].append(chunk)
        else:
            groups.append([chunk])
    out: list[str] = []
    pos = 0
    for group in groups:
        start = min(c.start for c in group)
        end = max(c.end for c in group)
        out.extend(base[pos:start])
        kinds = {c.edit for c in group}
        if kinds == {False} or kinds == {True}:
            for chunk in group:
                out.extend(chunk.lines)
        else:
            out.extend(_edited(base, [c for c in group if c.edit], start, end))
        pos = end
    out.extend(base[pos:])
    return "".join(out)


def _edited(base: Sequence[str], edits: list[_Chunk], start: int, end: int) -> list[str]:
    """Base lines [start, end) with the edit's chunks applied (ruamel.yaml's writing)."""
    lines: list[str] = []
    pos = start
    for chunk in sorted(edits, key=lambda c: (c.start, c.end)):
        lines.extend(base[pos : chunk.start])
        lines.extend(chunk.lines)
        pos = chunk.end
    lines.extend(base[pos:end])
    return lines
