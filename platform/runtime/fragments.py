"""Templates rendered once with holes, then filled per request.

A page's frame (the layout around the content, a list block around its rows) is the same
for every request with the same *shape*: portal version, locale, roles, URL and a few
yes/no facts such as "has a next page". `render_fragment` renders the real template once
per shape with a marker in place of each value that varies within the shape (the user's
name, the CSRF token, the rows, the pager links) and keeps the text split at the markers;
later requests of that shape join the kept pieces with their values. So the templates stay
the one source of the markup, and a request renders no template and translates no string.

A marker is a random token chosen per process, so no label of a definition can contain one
by accident; a rendering in which a marker was changed (a filter such as `upper` applied to
it) or that shows a hole nobody fills is not kept, and that shape is rendered normally. The fill escapes every value that is not already
`Markup`, exactly as the template's autoescaping would have.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Collection, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

#: Fragments kept per portal version at most (starts over when full: a bound, not an LRU,
#: because the shapes a portal's pages take are few and a start over costs one render each).
MAX_FRAGMENTS = 1024

_TOKEN = secrets.token_hex(8)
_MARK = re.compile("\x1f" + _TOKEN + r"(\w+)\x1f")


def hole(name: str) -> Markup:
    """The marker of the hole `name`, to pass to a template in place of its value."""
    return Markup(f"\x1f{_TOKEN}{name}\x1f")


@dataclass(frozen=True, slots=True)
class Fragment:
    """A rendered template split at its holes: text, hole name, text, hole name, … text."""

    parts: tuple[str, ...]

    def fill(self, values: Mapping[str, Any]) -> Markup:
        """The template's output with each hole's value (escaped unless it is markup)."""
        parts = self.parts
        out = [parts[0]]
        for i in range(1, len(parts), 2):
            out.append(escape(values[parts[i]]))
            out.append(parts[i + 1])
        return Markup("".join(out))


def split(text: str, names: Collection[str]) -> Fragment | None:
    """`text` split at its holes, or None when a marker was altered (a stray marker byte is
    left) or a hole is not one of `names`."""
    pieces = _MARK.split(str(text))
    if any("\x1f" in piece for piece in pieces[0::2]):
        return None
    if not set(pieces[1::2]) <= set(names):
        return None
    return Fragment(tuple(pieces))


class Fragments:
    """A bounded map of shapes to fragments (None: that shape is rendered normally)."""

    def __init__(self, limit: int = MAX_FRAGMENTS) -> None:
        self.limit = limit
        self._kept: dict[Hashable, Fragment | None] = {}

    def __len__(self) -> int:
        return len(self._kept)

    def get_or_render(
        self, key: Hashable, render: Callable[[], str], names: Collection[str]
    ) -> Fragment | None:
        """The fragment of `key`, rendered (once) by `render` with holes when not kept yet."""
        try:
            return self._kept[key]
        except KeyError:
            pass
        found = split(render(), names)
        if len(self._kept) >= self.limit:
            self._kept.clear()
        self._kept[key] = found
        return found


def fragments_of(cache: dict[Any, Any], name: str) -> Fragments:
    """The `Fragments` kept under `name` in a portal version's cache (made on first use)."""
    found: Fragments | None = cache.get(name)
    if found is None:
        found = cache.setdefault(name, Fragments())
    return found
