"""Snippets of a hit: a window of a field's text around the first searched word, as segments
(text, matched) — the runtime escapes every segment and marks the matched ones, so stored
text is never trusted as HTML. Words match by stem, as the index does."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .terms import stem, stop_words

#: Characters of text a snippet shows around its first match.
SNIPPET_CHARS = 180

Snippet = tuple[tuple[str, bool], ...]

_WORD = re.compile(r"[^\W_]+")


def snippet(
    language: str, words: Iterable[str], text: str, width: int = SNIPPET_CHARS
) -> Snippet | None:
    """Segments of `text` around its first searched word (None when none is in it)."""
    wanted = {stem(language, w) for w in words}
    stop = stop_words(language)
    spans = [
        m.span()
        for m in _WORD.finditer(text)
        if m.group().lower() not in stop and stem(language, m.group().lower()) in wanted
    ]
    if not spans:
        return None
    first = spans[0][0]
    start = max(0, first - width // 3)
    if start:  # begin at a word
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < first else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > spans[0][1] else end
    segments: list[tuple[str, bool]] = []
    at = start
    if start:
        segments.append(("…", False))
    for s, e in spans:
        if s < start or e > end:
            continue
        if s > at:
            segments.append((text[at:s], False))
        segments.append((text[s:e], True))
        at = e
    if at < end:
        segments.append((text[at:end], False))
    if end < len(text):
        segments.append(("…", False))
    return tuple(segments)


def best_snippet(
    language: str, words: Iterable[str], values: Mapping[str, Any], fields: Iterable[str]
) -> Snippet | None:
    """The snippet of the first of `fields` (readable ones only) whose text has a searched word."""
    found = tuple(words)
    for name in fields:
        value = values.get(name)
        if isinstance(value, str) and value:
            result = snippet(language, found, value)
            if result is not None:
                return result
    return None
