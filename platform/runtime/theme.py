"""Theme: CSS custom properties from the definition, custom CSS and the logo as own files.

Custom CSS is served as `text/css` from its own URL (never inlined, so the CSP needs no
`unsafe-inline`) after a second safety pass; the validator already refuses `@import`,
`expression(`, `javascript:` and `</style`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from flask import Response, abort

from portalis.engine.data.permissions import Actor
from portalis.engine.definition.css import unsafe_css
from portalis.engine.definition.model import Theme

from .registry import RuntimePortal

_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def sanitize_css(css: str) -> str:
    """Drop every rule line that carries a dangerous construct (defence in depth)."""
    if unsafe_css(css, serving=True) is None:
        return css
    # a construct may span lines (comments, escapes): drop every line that is unsafe alone,
    # then refuse the whole sheet if the rest still is
    kept = "\n".join(
        "/* removed by Portalis */" if unsafe_css(line, serving=True) else line
        for line in css.splitlines()
    )
    return (
        kept
        if unsafe_css(kept, serving=True) is None
        else "/* custom CSS removed by Portalis: unsafe */"
    )


def theme_variables(theme: Theme) -> str:
    """`:root { --p-primary: … }` from the theme's colors."""
    pairs = {
        "--p-primary": theme.primary_color,
        "--p-accent": theme.accent_color,
        "--p-bg": theme.background_color,
        "--p-text": theme.text_color,
    }
    lines = [
        f"  {name}: {value};" for name, value in pairs.items() if value and _COLOR.match(value)
    ]
    if theme.radius:
        lines.append(f"  --p-radius: {theme.radius};")
    if theme.font and re.fullmatch(r"[A-Za-z0-9 ,'\"-]+", theme.font):
        lines.append(f"  --p-font: {theme.font};")
    return ":root {\n" + "\n".join(lines) + "\n}\n"


def theme_css(portal: RuntimePortal, actor: Actor) -> Any:
    """The portal's theme stylesheet (variables + sanitized custom CSS), cached per version."""
    key = ("theme.css",)
    if key not in portal.cache:
        model = portal.compiled.model
        text = theme_variables(model.theme)
        if model.theme.css and model.theme.css in portal.compiled.bundle.files:
            text += "\n" + sanitize_css(portal.compiled.bundle.files[model.theme.css]) + "\n"
        portal.cache[key] = text
    body: str = portal.cache[key]
    response = Response(body, mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=300"
    response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
    return response


def logo(portal: RuntimePortal, actor: Actor) -> Any:
    """The portal's SVG logo, served so that scripts inside it can never run."""
    path = portal.compiled.model.theme.logo
    if not path or path not in portal.compiled.bundle.files:
        abort(404)
    response = Response(portal.compiled.bundle.files[path], mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    )
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


VIEWS = {"sys:theme_css": theme_css, "sys:logo": logo}
