"""The `rating` field type: a whole number from 1 to `max` (default 5), optionally with a
label per level (`labels: [Poor, Fair, Good, Very good, Excellent]`).

Engine-level (imports `portalis.api` only): the options' schema, the check the schema cannot
state (one label per level), storage in a small integer column, `clean` for form text, JSON
and seed values, and the JSON Schema the REST API documents. Its HTML input is in `inputs`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from portalis.api import CheckContext, Field, FieldType, FieldValueError, Label, Problem

#: The highest rating when the definition says nothing.
DEFAULT_MAX: Final = 5
_DIGITS: Final = re.compile(r"[0-9]{1,2}")


@dataclass(frozen=True, slots=True)
class RatingConfig:
    """Options of a rating field: the highest level and the levels' labels (lowest first;
    empty: the numbers speak for themselves)."""

    max: int = DEFAULT_MAX
    labels: tuple[Label, ...] = ()

    def level_label(self, level: int, locale: str, default_locale: str = "en") -> str:
        """`"4 – Good"` (or `"4"` without labels) in `locale`."""
        if 1 <= level <= len(self.labels):
            return f"{level} – {self.labels[level - 1].get(locale, default_locale)}"
        return str(level)


def config_of(field: Field) -> RatingConfig:
    """The field's config (the default for a hand-built field without one)."""
    return field.config if isinstance(field.config, RatingConfig) else RatingConfig()


class RatingType(FieldType):
    """A rating from 1 to `max`, stored as a small integer; lists may filter and sort on it."""

    name = "rating"
    description = "A rating from 1 to max (default 5), optionally with a label per level."
    options_schema = {
        "max": {
            "type": "integer",
            "minimum": 2,
            "maximum": 10,
            "description": "The highest rating (2–10, default 5); ratings start at 1.",
        },
        "labels": {
            "type": "array",
            "items": {"$ref": "#/$defs/label"},
            "description": "One label per level, lowest first (as many as max).",
        },
    }
    filterable = True

    def make_config(self, options: Mapping[str, Any], *, currency: str) -> RatingConfig:
        """The config from validated options."""
        top = options.get("max", DEFAULT_MAX)
        labels = tuple(Label.of(text) for text in options.get("labels") or ())
        return RatingConfig(max=top if isinstance(top, int) else DEFAULT_MAX, labels=labels)

    def check(self, options: Mapping[str, Any], ctx: CheckContext) -> Iterator[Problem]:
        """`labels`, when given, name every level: exactly `max` of them."""
        labels = options.get("labels")
        top = options.get("max", DEFAULT_MAX)
        if isinstance(labels, list) and isinstance(top, int) and len(labels) != top:
            yield ctx.problem(
                "field-option",
                f"labels has {len(labels)} entries, but ratings run from 1 to {top}",
                (*ctx.path, "labels"),
                f"give one label per level ({top}), lowest first, or change max",
            )

    def column_type(self, field: Field) -> sa.types.TypeEngine[Any]:
        """SMALLINT."""
        return sa.SmallInteger()

    def clean(self, field: Field, raw: Any) -> int | None:
        """An int from an int or digits (form text); empty input is None; 1..max."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if isinstance(raw, bool):
            raise FieldValueError("type", "must be a whole number")
        if isinstance(raw, str) and _DIGITS.fullmatch(raw.strip()):
            value = int(raw.strip())
        elif isinstance(raw, int):
            value = raw
        else:
            raise FieldValueError("type", "must be a whole number")
        top = config_of(field).max
        if not 1 <= value <= top:
            raise FieldValueError("range", "must be a rating from 1 to {max}", max=top)
        return value

    def to_json(self, field: Field, value: Any) -> Any:
        """The rating as a JSON number (None when unset)."""
        return None if value is None else int(value)

    def json_schema(self, field: Field) -> dict[str, Any]:
        """An integer from 1 to max."""
        return {"type": "integer", "minimum": 1, "maximum": config_of(field).max}
