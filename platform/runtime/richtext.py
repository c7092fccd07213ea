"""Markdown values of records (`markdown` fields) as sanitised HTML and as plain-text excerpts.

The source is parsed by markdown-it-py with raw HTML off (tags in the source stay text) and
the HTML passes nh3 with the allow-list of the `markdown` block. Record content is written by
users, so it is held tighter than a definition's own text: links get `rel="nofollow noopener"`
and keep only http, https, mailto and relative targets; images load only from the portal's
own origin (relative paths, never `//host` or another scheme). Rendered HTML is kept in a
bounded per-version cache keyed by entity, id, field and record version: a record renders
once per version however often it is shown, and an update (a new version) renders afresh.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Final
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

#: Tags the sanitiser keeps: text structure, emphasis, code, quotes, tables, links, images.
ALLOWED_TAGS: Final = frozenset(
    {
        *(f"h{i}" for i in range(1, 7)),
        "p", "br", "a", "ul", "ol", "li", "em", "strong", "code", "pre", "blockquote", "hr",
        "table", "thead", "tbody", "tr", "th", "td", "img", "del", "s",
    }
)  # fmt: skip
#: Attributes kept per tag (`rel` of links is set by the sanitiser, never taken from input).
ALLOWED_ATTRIBUTES: Final = {
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "title"}),
    "th": frozenset({"align"}),
}
LINK_SCHEMES: Final = frozenset({"http", "https", "mailto"})
#: Rendered values kept per portal version (LRU beyond that).
CACHE_SIZE: Final = 2048
_CACHE_KEY: Final = ("richtext",)


@functools.cache
def markdown_parser() -> MarkdownIt:
    """CommonMark with tables and strikethrough; raw HTML in the source stays text."""
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
        ["table", "strikethrough"]
    )


def _same_origin_images(tag: str, attribute: str, value: str) -> str | None:
    """Image sources only on the portal's own origin: a relative path, no scheme, no `//`."""
    if tag == "img" and attribute == "src":
        if value.startswith(("//", "\\")) or urlsplit(value).scheme:
            return None
    return value


@functools.cache
def _record_cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(LINK_SCHEMES),
        link_rel="nofollow noopener",
        attribute_filter=_same_origin_images,
        strip_comments=True,
    )


def render_record_markdown(source: str) -> str:
    """The Markdown source of a record's value as sanitised HTML."""
    return str(_record_cleaner().clean(markdown_parser().render(source)))


def _inline_text(tokens: Iterable[Token]) -> Iterable[str]:
    for token in tokens:
        if token.type == "inline":
            for child in token.children or ():
                if child.type in ("text", "code_inline"):
                    yield child.content
                elif child.type in ("softbreak", "hardbreak"):
                    yield " "
            yield " "


def plain_excerpt(source: str, limit: int) -> str:
    """The text of a Markdown value without its markup, cut at a word to `limit` characters."""
    text = " ".join("".join(_inline_text(markdown_parser().parse(source))).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:") + "…"


class RenderedCache:
    """A bounded, thread-safe LRU of rendered values by (entity, id, field, version)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, int, str, int], Markup] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def html(self, entity: str, record_id: int, field: str, version: int, source: str) -> Markup:
        """The rendered value, rendering it only the first time this version is asked for."""
        key = (entity, record_id, field, version)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        # rendered outside the lock: two first requests may both render, never block each other
        html = Markup(render_record_markdown(source))
        with self._lock:
            self._items[key] = html
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return html


def rendered_cache(cache: dict[object, object]) -> RenderedCache:
    """The rendered-values cache held in a portal version's `cache` (made on first use)."""
    found = cache.get(_CACHE_KEY)
    if isinstance(found, RenderedCache):
        return found
    made = RenderedCache()
    kept = cache.setdefault(_CACHE_KEY, made)  # atomic: two first requests keep one cache
    return kept if isinstance(kept, RenderedCache) else made
