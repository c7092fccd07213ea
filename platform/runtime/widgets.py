"""What record inputs share: stored values as input text, the options of a reference, the
currencies of a money field, and references typed as text.

The inputs themselves are WTForms fields (`portalis.runtime.forms`); these helpers know the
field types and the record store, not the HTML.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from babel.core import get_global
from babel.numbers import get_territory_currencies

from portalis.engine.data.errors import FieldMessage
from portalis.engine.data.permissions import Actor
from portalis.engine.data.store import RecordStore
from portalis.engine.definition.fieldtypes import Money
from portalis.engine.definition.model import Field

from .context import state
from .display import N_

#: A reference input is a <select> when the actor can read at most this many targets.
REF_SELECT_MAX = 200
#: Suffixes of the extra inputs of one field.
CURRENCY_SUFFIX = "__currency"
CLEAR_SUFFIX = "__clear"
KEPT_SUFFIX = "__kept"


@functools.cache
def currency_codes() -> tuple[str, ...]:
    """ISO 4217 codes in legal tender somewhere today, sorted."""
    today = date.today()
    codes: set[str] = set()
    for territory in get_global("territory_currencies"):
        codes.update(get_territory_currencies(territory, today, tender=True))
    return tuple(sorted(c for c in codes if len(c) == 3 and c.isalpha()))


def message_text(locale: str, message: FieldMessage | str) -> str:
    """A validation message translated and filled in."""
    if isinstance(message, str):
        return state().i18n.gettext(locale, message)
    template = state().i18n.catalog(locale).gettext(message.message)
    try:
        return template.format(**message.params)
    except (KeyError, IndexError, ValueError):
        return message.text()


def input_text(field_: Field, value: Any) -> str:
    """A stored value as the text an input shows."""
    if value is None:
        return ""
    if isinstance(value, Money):
        return format(value.amount, "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if field_.type == "tags" and isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if field_.type == "json":
        return json.dumps(value, ensure_ascii=False, indent=2)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def ref_options(
    store: RecordStore, actor: Actor, target: str, limit: int | None = None
) -> tuple[list[tuple[str, str]], bool]:
    """(id, title) pairs of records of `target` the actor may read, and whether that is all.

    Two queries (the rows and a count bounded at `limit`, default `REF_SELECT_MAX`) whatever
    the table's size.
    """
    limit = limit or REF_SELECT_MAX
    entity = store.entity(target)
    mask = store.policy.field_mask(actor, target, "read")
    sort = entity.title_field if entity.title_field in mask else "id"
    page = store.list(actor, target, sort=sort, page_size=limit, count_limit=limit)
    options = [(str(r.id), entity.title_of(r.values)) for r in page.records]
    return options, page.total_exact and not page.has_next


def megabytes(size: int) -> str:
    """A size in MB as a short number (`10`, `2.5`)."""
    number = size / (1024 * 1024)
    return f"{number:.0f}" if number >= 10 or number == int(number) else f"{number:.1f}"


# -- references typed as text ----------------------------------------------------------------
def resolve_ref(store: RecordStore, actor: Actor, target: str, raw: Any) -> Any:
    """A typed reference (an id, or a title that names exactly one readable record) → id.

    Raises ValueError when the text names no record or several.
    """
    text = str(raw or "").strip()
    if not text or text.isdigit():
        return text or None
    matches = store.autocomplete(actor, target, text[:100], limit=10)
    exact = [rid for rid, title in matches if title.casefold() == text.casefold()]
    if len(exact) == 1:
        return exact[0]
    if len(matches) == 1:
        return matches[0][0]
    if not matches:
        raise ValueError(N_("no matching record was found"))
    raise ValueError(N_("several records match; type more of the name or pick a suggestion"))
