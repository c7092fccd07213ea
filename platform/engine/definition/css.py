"""Safety check of custom CSS: decode escapes and drop comments before looking for danger.

`@imp\\ort`, `@\\69mport` and `expres/**/sion(` are what a browser sees as `@import` and
`expression(`; the check therefore runs on the text as the browser would read it.
"""

from __future__ import annotations

import re

#: Refused by the validator: never legitimate in a portal's custom CSS.
_FORBIDDEN = re.compile(
    r"(@import|expression\s*\(|javascript:|behavior\s*:|-moz-binding|</style)",
    re.IGNORECASE,
)
#: Also dropped when serving: any URL with a scheme other than inline images (the page's
#: CSP blocks them too; this keeps the served sheet free of them).
_SERVE_FORBIDDEN = re.compile(
    _FORBIDDEN.pattern + r"|url\s*\(\s*['\"]?\s*(?!data:image/)[a-z][a-z0-9+.-]*:",
    re.IGNORECASE,
)
_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})\s?|\\(.)", re.DOTALL)
_COMMENT = re.compile(r"/\*.*?(\*/|$)", re.DOTALL)


def _decode(match: re.Match[str]) -> str:
    if match.group(1) is not None:
        code = int(match.group(1), 16)
        return chr(code) if 0 < code <= 0x10FFFF else "\ufffd"
    return match.group(2)


def normalize_css(text: str) -> str:
    """The CSS as a browser tokenizes it: comments removed, escapes decoded."""
    return _ESCAPE.sub(_decode, _COMMENT.sub("", text))


def unsafe_css(text: str, *, serving: bool = False) -> str | None:
    """The first dangerous construct in `text` (after normalizing), or None.

    `serving` also flags external URLs, which the validator accepts but the runtime drops.
    """
    pattern = _SERVE_FORBIDDEN if serving else _FORBIDDEN
    match = pattern.search(normalize_css(text))
    return match.group(0) if match else None
