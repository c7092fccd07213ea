"""Choice field types: choice (one of a list) and tags (a set of short labels)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa

from ...problems import Problem
from ..fields import CheckContext, FieldValueError
from ..values import Label
from ._base import LABEL_SCHEMA, BuiltinType, config_of, is_blank, require_text

if TYPE_CHECKING:
    from ..model import Field

CHOICE_MAX: Final = 100
TAG_MAX: Final = 50
#: Inputs with more items than this are refused before each item is looked at.
_TAGS_INPUT_MAX: Final = 1000
#: Characters a choice value may not hold: controls, surrogates (never storable), and leading
#: or trailing whitespace (input is stripped, so such a value could never be chosen).
_VALUE_FORBIDDEN: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]|^\s|\s$")
#: Tags also refuse the comma (the separator of tag text) and the two characters JSON escapes
#: inside strings, which keeps the "contains tag" filter exact (see `TagsType.filter_clause`).
_TAG_FORBIDDEN: Final = re.compile(r'[",\\\x00-\x1f\x7f-\x9f\ud800-\udfff]')
_TAG_VALUE_FORBIDDEN: Final = re.compile(rf"{_TAG_FORBIDDEN.pattern}|^\s|\s$")


def _choices_schema(
    description: str, max_length: int, *, renamable: bool = False
) -> dict[str, Any]:
    value = {"type": "string", "minLength": 1, "maxLength": max_length}
    item: dict[str, Any] = {"value": value, "label": LABEL_SCHEMA}
    if renamable:
        item["renamed_from"] = {
            **value,
            "description": "The option's previous value: deploying moves the records that "
            "still hold it to this value (a renamed workflow state keeps its records).",
        }
    return {
        "type": "array",
        "minItems": 1,
        "maxItems": 500,
        "description": description,
        "items": {
            "oneOf": [
                {"type": "string", "minLength": 1, "maxLength": max_length},
                {
                    "type": "object",
                    "properties": item,
                    "required": ["value"],
                    "additionalProperties": False,
                },
            ]
        },
    }


@dataclass(frozen=True, slots=True)
class Choice:
    """One allowed value and its label; `renamed_from` is the value it had before a rename."""

    value: str
    label: Label
    renamed_from: str | None = None


def _humanize(value: str) -> str:
    text = value.replace("_", " ")
    return text[:1].upper() + text[1:]


def parse_choices(options: Any) -> tuple[Choice, ...]:
    """Choices from an `options` list of strings or {value, label} maps (invalid items skipped)."""
    out: list[Choice] = []
    for item in options if isinstance(options, list | tuple) else ():
        if isinstance(item, str):
            out.append(Choice(item, Label.of(_humanize(item))))
        elif isinstance(item, Mapping) and isinstance(item.get("value"), str):
            value = item["value"]
            label = item.get("label")
            text = label if isinstance(label, str | Mapping) else _humanize(value)
            old = item.get("renamed_from")
            out.append(Choice(value, Label.of(text), old if isinstance(old, str) else None))
    return tuple(out)


def _check_choices(
    options: Any, ctx: CheckContext, forbidden: re.Pattern[str], what: str
) -> Iterator[Problem]:
    seen: set[str] = set()
    for index, choice in enumerate(parse_choices(options)):
        path = (*ctx.path, "options", index)
        if choice.value in seen:
            yield ctx.problem(
                "field-option",
                f"option {choice.value!r} is listed twice",
                path,
                "remove the duplicate",
            )
        elif forbidden.search(choice.value):
            yield ctx.problem("field-option", f"option {choice.value!r} {what}", path, "")
        seen.add(choice.value)


def _check_renames(options: Any, ctx: CheckContext) -> Iterator[Problem]:
    """`renamed_from` names a value no option still has, and each old value once."""
    choices = parse_choices(options)
    values = {c.value for c in choices}
    renamed: dict[str, str] = {}
    for index, choice in enumerate(choices):
        old = choice.renamed_from
        if old is None:
            continue
        path = (*ctx.path, "options", index, "renamed_from")
        if old in values:
            yield ctx.problem(
                "option-rename",
                f"renamed_from {old!r} is still an option of the field",
                path,
                "remove the old option when renaming it, or drop renamed_from",
            )
        elif old in renamed:
            yield ctx.problem(
                "option-rename",
                f"{old!r} is renamed twice: to {renamed[old]!r} and to {choice.value!r}",
                path,
                "records can move to one value only; keep renamed_from on one option",
            )
        elif _VALUE_FORBIDDEN.search(old):
            yield ctx.problem(
                "option-rename",
                f"renamed_from {old!r} could never have been stored",
                path,
                "give the old value exactly as it was, without surrounding spaces",
            )
        renamed.setdefault(old, choice.value)


def _column_width(choices: Sequence[Choice]) -> int:
    # At least 32, so adding a slightly longer option later needs no column change.
    return max([32, *(len(c.value) for c in choices)])


@dataclass(frozen=True, slots=True)
class ChoiceConfig:
    """The options of a choice field, in order, and the set of their values."""

    choices: tuple[Choice, ...] = ()
    values: frozenset[str] = frozenset()

    @property
    def renamed(self) -> dict[str, str]:
        """Old value → new value, from the options' `renamed_from`."""
        return {c.renamed_from: c.value for c in self.choices if c.renamed_from is not None}

    def label_for(self, value: str) -> Label:
        """The label of `value` (the value itself when it is not an option)."""
        for choice in self.choices:
            if choice.value == value:
                return choice.label
        return Label.of(value)


_DEFAULT_CHOICE: Final = ChoiceConfig()


class ChoiceType(BuiltinType):
    """One value out of a fixed list, such as a status or a priority."""

    name = "choice"
    description = "One value from a fixed list of options (strings or {value, label})."
    options_schema = {
        "options": _choices_schema(
            "The allowed values, in display order.", CHOICE_MAX, renamable=True
        ),
    }
    required_options = ("options",)
    filterable = True

    def make_config(self, options: Mapping[str, Any], *, currency: str) -> ChoiceConfig:
        """The config from validated options."""
        choices = parse_choices(options.get("options"))
        return ChoiceConfig(choices, frozenset(c.value for c in choices))

    def check(self, options: Mapping[str, Any], ctx: CheckContext) -> Iterator[Problem]:
        """Refuse duplicate values, values that could never be entered and renames that
        clash with an option or move one old value twice."""
        yield from _check_choices(
            options.get("options"),
            ctx,
            _VALUE_FORBIDDEN,
            "has control characters or surrounding spaces",
        )
        yield from _check_renames(options.get("options"), ctx)

    def column_type(self, field: Field) -> sa.types.TypeEngine[Any]:
        """VARCHAR wide enough for the longest value."""
        return sa.String(_column_width(config_of(field, _DEFAULT_CHOICE).choices))

    def clean(self, field: Field, raw: Any) -> str | None:
        """The value, if it is one of the options."""
        if is_blank(raw):
            return None
        value = require_text(raw).strip()
        config = config_of(field, _DEFAULT_CHOICE)
        if value not in config.values:
            raise FieldValueError(
                "choice",
                "must be one of: {choices}",
                choices=", ".join(c.value for c in config.choices),
            )
        return value

    def json_schema(self, field: Field) -> dict[str, Any]:
        """A string enum."""
        return {
            "type": "string",
            "enum": [c.value for c in config_of(field, _DEFAULT_CHOICE).choices],
        }


@dataclass(frozen=True, slots=True)
class TagsConfig:
    """Options of a tags field; with no `choices` any tag is allowed."""

    choices: tuple[Choice, ...] = ()
    values: frozenset[str] = frozenset()
    max_items: int = 20

    @property
    def restricted(self) -> bool:
        """True when only the listed tags are allowed."""
        return bool(self.choices)


_DEFAULT_TAGS: Final = TagsConfig()


class TagsType(BuiltinType):
    """A set of short labels, stored as a sorted JSON list."""

    name = "tags"
    description = "A set of short tags (sorted, unique), optionally limited to listed values."
    options_schema = {
        "options": _choices_schema("The allowed tags; any tag when absent.", TAG_MAX),
        "max_items": {
            "type": "integer",
            "minimum": 1,
            "maximum": 100,
            "default": 20,
            "description": "Most tags one record may have.",
        },
    }
    sortable = False
    filterable = True
    searchable = True

    def make_config(self, options: Mapping[str, Any], *, currency: str) -> TagsConfig:
        """The config from validated options."""
        choices = parse_choices(options.get("options"))
        return TagsConfig(
            choices, frozenset(c.value for c in choices), int(options.get("max_items", 20))
        )

    def check(self, options: Mapping[str, Any], ctx: CheckContext) -> Iterator[Problem]:
        """Refuse duplicate allowed tags and tags that could never be entered."""
        return _check_choices(
            options.get("options"),
            ctx,
            _TAG_VALUE_FORBIDDEN,
            "has a comma, a quote, a backslash, control characters or surrounding spaces",
        )

    def column_type(self, field: Field) -> sa.types.TypeEngine[Any]:
        """JSON; no value is SQL NULL, not JSON null, so IS NULL finds untagged rows."""
        return sa.JSON(none_as_null=True)

    def clean(self, field: Field, raw: Any) -> list[str] | None:
        """A sorted list of unique tags from a list or comma-separated text."""
        if is_blank(raw):
            return None
        if isinstance(raw, str):
            items: Sequence[Any] = raw.split(",")
        elif isinstance(raw, list | tuple):
            items = raw
        else:
            raise FieldValueError("type", "must be a list of tags")
        config = config_of(field, _DEFAULT_TAGS)
        if len(items) > _TAGS_INPUT_MAX:
            raise FieldValueError("too-many", "must have at most {max} tags", max=config.max_items)
        tags = {_clean_tag(item, config) for item in items}
        tags.discard("")
        if len(tags) > config.max_items:
            raise FieldValueError("too-many", "must have at most {max} tags", max=config.max_items)
        return sorted(tags) or None

    def to_storage(self, field: Field, value: Any) -> dict[str, Any]:
        """The list, or NULL."""
        return {field.name: list(value) if value else None}

    def from_storage(self, field: Field, row: Mapping[str, Any]) -> list[str] | None:
        """The sorted list of tags, or None."""
        value = row.get(field.name)
        if not isinstance(value, list) or not value:
            return None
        return sorted(str(tag) for tag in value)

    def filter_clause(
        self, field: Field, table: sa.Table, value: Any
    ) -> sa.ColumnElement[bool] | None:
        """Rows that have every tag of `value` (a cleaned list).

        Portable and exact: the JSON text is searched for the quoted tag with REPLACE, which
        (unlike LIKE on SQLite) is case-sensitive and has no wildcards on both databases.
        Tags hold no quote, backslash or comma, so `"tag"` can only match a whole element.
        Both the ASCII-escaped and the raw UTF-8 spelling are tried, whichever way the JSON
        serializer writes non-ASCII text.
        """
        text = sa.cast(table.c[field.name], sa.Text)
        clauses: list[sa.ColumnElement[bool]] = []
        for tag in value if isinstance(value, list | tuple) else [value]:
            needles = sorted({json.dumps(str(tag)), json.dumps(str(tag), ensure_ascii=False)})
            clauses.append(sa.or_(*(sa.func.replace(text, n, "") != text for n in needles)))
        return sa.and_(*clauses) if clauses else None

    def search_columns(self, field: Field, table: sa.Table) -> list[sa.ColumnElement[Any]]:
        """The JSON text of the tags."""
        return [sa.cast(table.c[field.name], sa.Text)]

    def json_schema(self, field: Field) -> dict[str, Any]:
        """An array of unique strings (an enum when restricted)."""
        config = config_of(field, _DEFAULT_TAGS)
        item: dict[str, Any] = {"type": "string", "maxLength": TAG_MAX}
        if config.restricted:
            item["enum"] = [c.value for c in config.choices]
        return {"type": "array", "items": item, "uniqueItems": True, "maxItems": config.max_items}


def _clean_tag(item: Any, config: TagsConfig) -> str:
    tag = require_text(item).strip()
    if len(tag) > TAG_MAX:
        raise FieldValueError("too-long", "a tag must be at most {max} characters", max=TAG_MAX)
    if _TAG_FORBIDDEN.search(tag):
        raise FieldValueError(
            "format", "a tag must not contain commas, quotes, backslashes or control characters"
        )
    if tag and config.restricted and tag not in config.values:
        raise FieldValueError(
            "choice",
            "tags must be among: {choices}",
            choices=", ".join(c.value for c in config.choices),
        )
    return tag
