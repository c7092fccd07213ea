"""The `markdown` block: localized text rendered with markdown-it-py and sanitized by nh3.

Raw HTML in the source is not interpreted; the rendered HTML passes an allow-list (headings,
paragraphs, lists, emphasis, code, quotes, rules, tables, links and images). Links keep only
http, https, mailto and relative targets and get `rel="noopener"`; images only https and
relative sources. The result is cached per (page, block, locale) on the portal version.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

import nh3
from flask import render_template
from markupsafe import Markup

from portalis.engine.definition.block_configs import MarkdownBlock

from ..richtext import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, LINK_SCHEMES, markdown_parser
from ..templating import label
from .base import BlockContext, BlockType


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    """Images only from https or relative URLs (no http, data: or mailto:)."""
    if tag == "img" and attribute == "src":
        if value.startswith("//"):
            return None
        scheme = urlsplit(value).scheme.lower()
        return value if scheme in ("", "https") else None
    return value


@functools.cache
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(LINK_SCHEMES),
        link_rel="noopener",
        attribute_filter=_attribute_filter,
        strip_comments=True,
    )


def render_markdown(text: str) -> str:
    """Markdown → sanitized HTML."""
    return str(_cleaner().clean(markdown_parser().render(text)))


class MarkdownBlockType(BlockType):
    """Renders `markdown` blocks."""

    name = "markdown"

    def render(self, ctx: BlockContext) -> Markup:
        """The localized, sanitized text (rendered once per page, block and locale)."""
        cfg: MarkdownBlock = ctx.block.config
        key = ("markdown", ctx.page.name, ctx.block.index, ctx.locale)
        html = ctx.portal.cache.get(key)
        if html is None:
            body = render_markdown(label(cfg.text))
            html = render_template("blocks/markdown.html", block=ctx.block, body=Markup(body))
            ctx.portal.cache[key] = html
        return Markup(html)
