"""Cells of an imported CSV file as the values the record store takes.

A European file writes `1.234,50` and `07.12.2026`; an exported one `1234.50` and
`2026-12-07`. Each cell is read in the importing person's locale first, then in the machine
format, and handed to the store as the canonical text its field type cleans (so the store's
own checks — range, length, options, required — decide, with the same field errors a form
shows). What cannot be read at all becomes a `FieldMessage` here. References are resolved by
`RefResolver` through the record store with the actor's read rights: a record they may not
read is "not found", like one that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from babel import dates, numbers

from ..definition.fields import FieldValueError
from ..definition.model import Entity, Field
from .errors import FieldMessage
from .permissions import Actor

_TRUE = frozenset({"1", "true", "yes", "y", "x", "ja", "j", "oui", "sí", "si", "vrai", "wahr"})
_FALSE = frozenset({"0", "false", "no", "n", "nein", "non", "faux", "falsch"})
_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY", "₣": "CHF"}
_CODE = re.compile(r"\b([A-Z]{3})\b")
_SPACES = re.compile(r"[\s\u00a0\u202f']+")


def number_text(text: str, locale: str) -> str | None:
    """`text` as a plain decimal ("1234.50"): the locale's format (strict grouping), else
    the machine format; None when it is neither."""
    compact = _SPACES.sub("", text)
    try:
        return str(numbers.parse_decimal(compact, locale=locale, strict=True))
    except (numbers.NumberFormatError, ValueError):
        pass
    try:
        return str(Decimal(compact))
    except InvalidOperation:
        return None


def date_value(text: str, locale: str) -> date | None:
    """An ISO date, else one in the locale's short format (`07.12.2026`, `07/12/2026`)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        value = dates.parse_date(text, locale=locale)
    except (ValueError, IndexError, dates.ParseError):
        return None
    return value if value.year >= 1000 else None


def datetime_value(text: str, locale: str) -> datetime | None:
    """An ISO date and time, else a locale date followed by `HH:MM[:SS]`."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    day, _, clock = text.strip().partition(" ")
    when = date_value(day, locale)
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", clock.strip())
    if when is None or match is None:
        return None
    hour, minute, second = (int(g or 0) for g in match.groups())
    try:
        return datetime(when.year, when.month, when.day, hour, minute, second)
    except ValueError:
        return None


def cell_value(field: Field, text: str, locale: str) -> Any:
    """The cell as the store's input for `field`, or a FieldMessage when it cannot be read.
    Empty cells are None (the field's default or required check applies)."""
    text = text.strip()
    if not text:
        return None
    kind = field.type
    if kind in ("int", "decimal"):
        plain = number_text(text, locale)
        return plain if plain is not None else FieldMessage("type", "must be a number")
    if kind == "money":
        return _money(text, locale)
    if kind == "date":
        value = date_value(text, locale)
        return value.isoformat() if value else FieldMessage("type", "must be a date")
    if kind == "datetime":
        moment = datetime_value(text, locale)
        return moment.isoformat() if moment else FieldMessage("type", "must be a date and time")
    if kind == "bool":
        word = text.casefold()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        return FieldMessage("type", "must be yes or no")
    if kind == "choice":
        return choice_value(field, text)
    if kind == "tags":
        return [t.strip() for t in re.split(r"[,;|]", text) if t.strip()]
    return text


def _money(text: str, locale: str) -> Any:
    currency = ""
    for symbol, code in _SYMBOLS.items():
        if symbol in text:
            currency, text = code, text.replace(symbol, " ")
    found = _CODE.search(text)
    if found is not None:
        currency, text = found.group(1), _CODE.sub(" ", text)
    plain = number_text(text, locale)
    if plain is None:
        return FieldMessage("type", "must be an amount")
    return f"{plain} {currency}" if currency else plain


def choice_value(field: Field, text: str) -> str:
    """The option whose value or label (any language) is `text`, ignoring case; else the
    text itself (the store refuses it with the field's own message)."""
    wanted = text.casefold()
    for choice in getattr(field.config, "choices", ()):
        if choice.value.casefold() == wanted:
            return str(choice.value)
        if any(t.casefold() == wanted for t in choice.label.texts.values()):
            return str(choice.value)
    return text


class RefResolver:
    """Finds referenced records by a key field (or title) as the actor may read them; each
    distinct name is looked up once per import."""

    def __init__(self, store: Any, actor: Actor, keys: Mapping[str, str]) -> None:
        self.store = store
        self.actor = actor
        self.keys = dict(keys)
        self._found: dict[tuple[str, str], int | FieldMessage] = {}

    def key_of(self, field: Field) -> str | None:
        """The target field a file names `field`'s records by; None: by id."""
        if field.name in self.keys:
            return self.keys[field.name]
        target: Entity = self.store.entity(str(field.config.to))
        return target.title_field

    def resolve(self, field: Field, text: str) -> int | FieldMessage:
        """The id of the one readable record named `text`, or why there is none."""
        target = str(field.config.to)
        key = self.key_of(field)
        cache = (field.name, text)
        if cache in self._found:
            return self._found[cache]
        result: int | FieldMessage
        if key is None:
            result = int(text) if text.isdigit() else FieldMessage("ref", "record not found")
        else:
            ids = self._ids(target, key, text)
            if len(ids) == 1:
                result = ids[0]
            elif not ids:
                result = FieldMessage("ref", "no record named {value}", {"value": text[:80]})
            else:
                result = FieldMessage(
                    "ref", "more than one record is named {value}", {"value": text[:80]}
                )
        self._found[cache] = result
        return result

    def _ids(self, target: str, key: str, text: str) -> list[int]:
        """Ids (at most two) of the records of `target` whose `key` is `text` and that the
        actor may read — with `key` among the fields they may read."""
        store, policy = self.store, self.store.policy
        entity: Entity = store.entity(target)
        field = entity.fields.get(key)
        if (
            field is None
            or not field.stored
            or key not in policy.field_mask(self.actor, target, "read")
        ):
            return []
        try:
            value = field.kind.clean(field, text)
        except FieldValueError:
            return []
        table = store.tables[target]
        where = policy.row_filter(self.actor, target, "read")
        query = sa.select(table.c.id).where(where, table.c[field.columns[0]] == value).limit(2)
        with store.reading() as conn:
            return [int(i) for i in conn.execute(query).scalars()]
