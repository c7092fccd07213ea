"""The enrolment QR code: the otpauth URI as inline SVG (no image request, no inline style,
so the page's strict Content-Security-Policy holds)."""

from __future__ import annotations

import segno
from markupsafe import Markup

from portalis.web import gettext as _


def qr_svg(uri: str) -> Markup:
    """An SVG QR code of `uri` with a white quiet zone (readable in dark themes too)."""
    code = segno.make(uri, error="m")
    svg = code.svg_inline(
        scale=5, border=4, dark="#000", light="#fff", title=_("QR code for your authenticator app")
    )
    # segno escapes the title and emits only its own markup
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S704
