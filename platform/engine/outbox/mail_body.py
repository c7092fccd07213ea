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
from ..formatting import format_date, format_datetime, format_fixed, format_money

_URL = re.compile(r"https?://[^\s<>\"']+")
_TRAILING = ".,;:!?)]}"


def display_value(value: Any, locale: str | None = None) -> Any:
    """A value as templates show it: text for money, dates and decimals, tags joined, empty
    text for nothing; choices stay their value, numbers and booleans as is.

    In `locale` money, dates, timestamps (UTC) and decimals read as the web pages show them
    to that reader (`79,00 €`, `31.10.2026` in German); without one they are ISO and exact
    (`79.00 EUR`, `2026-10-31`).
    """
    if value is None:
        return ""
    if isinstance(value, Money):
        if locale is not None:
            return format_money(value.amount, value.currency, locale)
        return str(value)
    if isinstance(value, datetime):
        stamp = aware(value)
        assert stamp is not None
        if locale is not None:
            return format_datetime(stamp, locale)
        return stamp.replace(microsecond=0).isoformat()
    if isinstance(value, date):
        return format_date(value, locale) if locale is not None else value.isoformat()
    if isinstance(value, Decimal):
        if locale is not None and value.is_finite():
            # every stored digit, the reader's separators: 12.50 → 12,50
            places = max(0, -int(value.as_tuple().exponent))
            return format_fixed(value, places, locale)
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
