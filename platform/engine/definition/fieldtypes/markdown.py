"""The `markdown` field type: multi-line text written in Markdown (CommonMark with tables and
strikethrough), stored as its source.

The engine keeps the source only; the runtime renders it to sanitised HTML (links get
`rel="nofollow noopener"`, images only from the portal's own origin, raw HTML never passes)
and shows a plain-text excerpt in lists, so the stored value is never trusted as markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from .text import TEXT_MAX, TextConfig, TextType

if TYPE_CHECKING:
    from ..model import Field

#: Characters of plain text a list cell or a card shows by default.
EXCERPT_DEFAULT: Final = 160


@dataclass(frozen=True, slots=True)
class MarkdownConfig(TextConfig):
    """Options of a markdown field (`max_length` as for text)."""

    excerpt: int = EXCERPT_DEFAULT


class MarkdownType(TextType):
    """Rich text as Markdown source, such as a help article or a product description."""

    name = "markdown"
    description = (
        "Rich text written in Markdown (headings, lists, links, tables, code), stored as its "
        "source and shown sanitised: raw HTML never passes, links get "
        '`rel="nofollow noopener"`, images load only from the portal\'s own origin; lists '
        "show a plain-text excerpt."
    )
    options_schema = {
        "max_length": {
            "type": "integer",
            "minimum": 1,
            "maximum": TEXT_MAX,
            "default": 100_000,
            "description": "Longest allowed source, in characters (markup included).",
        },
        "excerpt": {
            "type": "integer",
            "minimum": 20,
            "maximum": 1000,
            "default": EXCERPT_DEFAULT,
            "description": "Characters of plain text (markup removed) that lists show of the "
            "value, cut at a word with an ellipsis.",
        },
    }

    def make_config(self, options: Mapping[str, Any], *, currency: str) -> MarkdownConfig:
        """The config from validated options."""
        return MarkdownConfig(
            max_length=int(options.get("max_length", 100_000)),
            excerpt=int(options.get("excerpt", EXCERPT_DEFAULT)),
        )

    def json_schema(self, field: Field) -> dict[str, Any]:
        """A string of at most `max_length` characters, marked as Markdown."""
        return {**super().json_schema(field), "contentMediaType": "text/markdown"}
