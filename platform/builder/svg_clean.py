"""A strict allow-list cleaner for SVG drawn by a tool (Graphviz) before it is put inline in
a builder page.

The SVG is parsed as XML (the prologue — declaration, DOCTYPE, comments — is cut off first,
so no DTD or entity is ever read) and rebuilt from scratch: only drawing elements of the SVG
namespace and presentation attributes survive. Everything else goes: `<script>`, `<style>`,
`<foreignObject>`, `<image>`, `<use>`, event attributes (`on*`), `href`/`xlink:*`, `style`,
ids, and any value with `url(`, `javascript:` or `expression(`. A link (`<a>`) is unwrapped:
its drawing stays, the link does not. The answer is text safe to mark as HTML markup.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html import escape

_SVG_NS = "{http://www.w3.org/2000/svg}"
#: Elements kept, with their children.
_ELEMENTS = frozenset(
    {"svg", "g", "title", "path", "polygon", "polyline", "ellipse", "circle", "rect", "line"}
    | {"text", "tspan"}
)
#: Elements dropped but whose children are kept.
_UNWRAPPED = frozenset({"a"})
_ATTRIBUTES = frozenset(
    {"width", "height", "viewBox", "x", "y", "cx", "cy", "rx", "ry", "r", "x1", "y1", "x2"}
    | {"y2", "points", "d", "transform", "fill", "stroke", "stroke-width", "stroke-dasharray"}
    | {"font-family", "font-size", "font-weight", "font-style", "text-anchor", "class"}
)
_BAD_VALUE = re.compile(r"url\s*\(|javascript:|expression\s*\(|[<>]", re.IGNORECASE)


class SvgError(ValueError):
    """The text is not an SVG document this cleaner can read."""


def clean_svg(text: str, *, label: str) -> str:
    """`text` (an SVG document) rebuilt with only the allowed elements and attributes, as an
    inline `<svg role="img" aria-label=label>` whose first child is a `<title>` of `label`."""
    start = text.find("<svg")
    if start < 0:
        raise SvgError("no <svg> element")
    try:
        root = ET.fromstring(text[start:])
    except ET.ParseError as exc:
        raise SvgError(f"not well-formed SVG: {exc}") from None
    if root.tag != _SVG_NS + "svg":
        raise SvgError("the root element is not <svg>")
    attrs = _attributes(root)
    head = "".join(f' {k}="{escape(v)}"' for k, v in attrs)
    inner = "".join(_children(root))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg"{head} role="img" '
        f'aria-label="{escape(label)}" focusable="false"><title>{escape(label)}</title>{inner}</svg>'
    )


def _attributes(node: ET.Element) -> list[tuple[str, str]]:
    return [
        (name, value)
        for name, value in node.attrib.items()
        if name in _ATTRIBUTES and not _BAD_VALUE.search(value)
    ]


def _children(node: ET.Element) -> list[str]:
    out = [escape(node.text or "", quote=False)] if node.text and node.text.strip() else []
    for child in node:
        out.extend(_element(child))
        if child.tail and child.tail.strip():
            out.append(escape(child.tail, quote=False))
    return out


def _element(node: ET.Element) -> list[str]:
    if not isinstance(node.tag, str) or not node.tag.startswith(_SVG_NS):
        return []  # comments, processing instructions, foreign namespaces
    tag = node.tag[len(_SVG_NS) :]
    if tag in _UNWRAPPED:
        return _children(node)
    if tag not in _ELEMENTS or tag == "svg":
        return []
    attrs = "".join(f' {k}="{escape(v)}"' for k, v in _attributes(node))
    return [f"<{tag}{attrs}>", *_children(node), f"</{tag}>"]
