"""How a notification reads in a mail: values as text and the HTML part of the message.

Template output is text; here it becomes the HTML alternative of a mail — escaped, paragraphs
kept, web links made clickable — so nothing a template renders reaches HTML unescaped.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ..data.system_tables import aware
from ..definition.fieldtypes import Money
from ..definition.fieldtypes.numbers import decimal_text

_URL = re.compile(r"https?://[^\s<>\"']+")
_TRAILING = ".,;:!?)]}"


def display_value(value: Any) -> Any:
    """A value as templates show it: text for money, dates and decimals (ISO, exact), tags
    joined, empty text for nothing; choices stay their value, numbers and booleans as is."""
    if value is None:
        return ""
    if isinstance(value, Money):
        return str(value)
    if isinstance(value, datetime):
        stamp = aware(value)
        assert stamp is not None
        return stamp.replace(microsecond=0).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return value


def mail_html(subject: str, body: str, locale: str) -> str:
    """The HTML part of a notification mail: the body text escaped, paragraphs kept and web
    links made clickable — template output never reaches the HTML unescaped."""
    paragraphs = [p for p in re.split(r"\n\s*\n", body.strip()) if p.strip()]
    rendered = "\n".join(
        "<p>" + "<br>\n".join(_linkify(line) for line in p.strip().splitlines()) + "</p>"
        for p in paragraphs
    )
    return (
        f'<!doctype html>\n<html lang="{html.escape(locale)}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(subject)}</title>\n</head>\n"
        '<body style="margin:0;padding:24px;background:#f5f6f8;'
        'font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1f2430">\n'
        '<div style="max-width:560px;margin:0 auto;padding:24px;background:#ffffff;'
        'border-radius:8px;line-height:1.5;font-size:15px">\n'
        f"{rendered}\n</div>\n</body>\n</html>\n"
    )


def _linkify(line: str) -> str:
    text = html.escape(line, quote=False)
    out: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        end = match.start() + len(url)
        out.append(text[last : match.start()])
        out.append(f'<a href="{url}" style="color:#0b5fff">{url}</a>')
        last = end
    out.append(text[last:])
    return "".join(out)
