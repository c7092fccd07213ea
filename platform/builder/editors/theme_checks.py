"""What the theme editor checks before it saves: colour contrast (WCAG 2.1) and uploaded
SVG logos.

The deploy path accepts a logo only as an SVG file of the bundle (bundles hold texts, so
raster images cannot be part of a definition) and serves it under a sandboxing CSP; custom
CSS goes through `engine.definition.css.unsafe_css`, the validator's own check. An upload
is refused here for the same reasons deploy would refuse it, plus what makes an SVG unsafe
or unreadable as a file: not UTF-8, not XML, no `<svg>` root, a DTD (entity expansion),
scripts, event handlers or external references.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree

from portalis.engine.definition.bundle import MAX_FILE_BYTES

_HEX = re.compile(r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
#: WCAG 2.1 AA: normal text needs 4.5:1.
AA_NORMAL = 4.5
_SVG_DANGER = re.compile(
    r"<\s*script|<\s*foreignObject|\son[a-z]+\s*=|javascript:|<!DOCTYPE|<!ENTITY"
    r"|(?:xlink:)?href\s*=\s*['\"]\s*(?!#|data:image/)[a-z][a-z0-9+.-]*:",
    re.IGNORECASE,
)


def rgb(color: str) -> tuple[int, int, int] | None:
    """The red, green and blue of `#rgb`/`#rrggbb` (None for anything else)."""
    found = _HEX.match(color.strip())
    if not found:
        return None
    digits = found.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def _luminance(color: tuple[int, int, int]) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else float(((c + 0.055) / 1.055) ** 2.4)

    r, g, b = (channel(v) for v in color)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(foreground: str, background: str) -> float | None:
    """The WCAG contrast ratio of two hex colours (1 to 21), None when one is no colour."""
    fg, bg = rgb(foreground), rgb(background)
    if fg is None or bg is None:
        return None
    light, dark = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def svg_problem(data: bytes) -> str | None:
    """Why `data` cannot be the portal's logo, or None when it is a plain SVG image."""
    if len(data) > MAX_FILE_BYTES:
        return f"the logo is larger than {MAX_FILE_BYTES:,} bytes"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "the logo must be an SVG file (UTF-8 text); raster images are not supported"
    danger = _SVG_DANGER.search(text)
    if danger:
        return f"the SVG contains {danger.group(0).strip()!r}"
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        return f"the logo is not a valid SVG file: {exc}"
    if root.tag not in ("svg", "{http://www.w3.org/2000/svg}svg"):
        return "the logo must be an SVG file (its root element is not <svg>)"
    return None
