"""Text field types: string (one line, optional pattern) and text (multi-line)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa

from ...problems import Problem
from ..fields import CheckContext, FieldValueError
from ._base import (
    BuiltinType,
    check_line,
    check_text,
    config_of,
    is_blank,
    max_length,
    option_problem,
    require_text,
)
from .regexsafety import LinearPattern, PatternError, compile_pattern

if TYPE_CHECKING:
    from ..model import Field

STRING_MAX: Final = 10_000
TEXT_MAX: Final = 1_000_000
PATTERN_MAX: Final = 500


@dataclass(frozen=True, slots=True)
class StringConfig:
    """Options of a string field; `pattern` must match the whole value."""

    max_length: int = 255
    min_length: int = 0
    pattern: LinearPattern | None = None


@dataclass(frozen=True, slots=True)
class TextConfig:
    """Options of a text field."""

    max_length: int = 100_000


_DEFAULT_STRING: Final = StringConfig()
_DEFAULT_TEXT: Final = TextConfig()


class StringType(BuiltinType):
    """One line of text, such as a subject or a name."""

    name = "string"
    description = "A single line of text with an optional length range and pattern."
    options_schema = {
        "max_length": {
            "type": "integer",
            "minimum": 1,
            "maximum": STRING_MAX,
            "default": 255,
            "description": "Longest allowed value, in characters (also the column size).",
        },
        "min_length": {
            "type": "integer",
            "minimum": 0,
            "maximum": STRING_MAX,
            "description": "Shortest allowed value, in characters.",
        },
        "pattern": {
            "type": "string",
            "minLength": 1,
            "maxLength": PATTERN_MAX,
            "description": "A regular expression (RE2 syntax, matched in linear time) the whole "
            "value must match.",
        },
    }
    searchable = True

    def make_config(self, options: Mapping[str, Any], *, currency: str) -> StringConfig:
        """The config from validated options (`pattern` compiled once here)."""
        pattern = options.get("pattern")
        return StringConfig(
            max_length=int(options.get("max_length", 255)),
            min_length=int(options.get("min_length", 0)),
            pattern=compile_pattern(pattern) if isinstance(pattern, str) else None,
        )

    def check(self, options: Mapping[str, Any], ctx: CheckContext) -> Iterator[Problem]:
        """Refuse a length range that admits nothing and patterns RE2 cannot run."""
        low, high = options.get("min_length", 0), options.get("max_length", 255)
        if isinstance(low, int) and isinstance(high, int) and low > high:
            yield option_problem(
                ctx,
                "field-option",
                f"min_length {low} is greater than max_length {high}",
                "min_length",
            )
        pattern = options.get("pattern")
        if isinstance(pattern, str):
            yield from _check_pattern(pattern, ctx)

    def column_type(self, field: Field) -> sa.types.TypeEngine[Any]:
        """VARCHAR of `max_length`."""
        return sa.String(config_of(field, _DEFAULT_STRING).max_length)

    def clean(self, field: Field, raw: Any) -> str | None:
        """Stripped text within the length range, matching the pattern."""
        if is_blank(raw):
            return None
        config = config_of(field, _DEFAULT_STRING)
        value = check_line(max_length(require_text(raw).strip(), config.max_length))
        if len(value) < config.min_length:
            raise FieldValueError(
                "too-short", "must be at least {min} characters", min=config.min_length
            )
        # RE2 matches in time linear in the value, which the length check above bounds.
        if config.pattern is not None and not config.pattern.fullmatch(value):
            raise FieldValueError("pattern", "does not have the required form")
        return value

    def json_schema(self, field: Field) -> dict[str, Any]:
        """A string with the field's length range (and pattern, anchored)."""
        config = config_of(field, _DEFAULT_STRING)
        schema: dict[str, Any] = {"type": "string", "maxLength": config.max_length}
        if config.min_length:
            schema["minLength"] = config.min_length
        if config.pattern is not None:
            schema["pattern"] = f"^(?:{config.pattern.pattern})$"
        return schema


def _check_pattern(pattern: str, ctx: CheckContext) -> Iterator[Problem]:
    if len(pattern) > PATTERN_MAX:
        return  # the schema pass reports the length; analysing megabytes helps no one
    try:
        compile_pattern(pattern)
    except PatternError as exc:
        if exc.construct:
            yield option_problem(
                ctx,
                "pattern-unsupported",
                f"pattern uses {exc.construct}, which the linear-time matcher (RE2) does not "
                f"support ({exc})",
                "pattern",
                f"{exc.hint}; backreferences, lookaround, atomic groups and possessive "
                "quantifiers are not supported",
            )
            return
        yield option_problem(
            ctx,
            "field-option",
            f"pattern is not a valid regular expression: {exc}",
            "pattern",
            "check brackets, parentheses and escapes (RE2 regular expression syntax)",
        )


class TextType(BuiltinType):
    """Multi-line text, such as a description or a message body."""

    name = "text"
    description = "Multi-line text (line breaks kept, normalized to \\n)."
    options_schema = {
        "max_length": {
            "type": "integer",
            "minimum": 1,
            "maximum": TEXT_MAX,
            "default": 100_000,
            "description": "Longest allowed value, in characters.",
        },
    }
    sortable = False
    searchable = True

    def make_config(self, options: Mapping[str, Any], *, currency: str) -> TextConfig:
        """The config from validated options."""
        return TextConfig(max_length=int(options.get("max_length", 100_000)))

    def column_type(self, field: Field) -> sa.types.TypeEngine[Any]:
        """TEXT."""
        return sa.Text()

    def clean(self, field: Field, raw: Any) -> str | None:
        """Text with \\n line breaks, surrounding whitespace removed."""
        if is_blank(raw):
            return None
        # Browsers submit textareas with CRLF; store one form so length and diffs agree.
        value = require_text(raw).replace("\r\n", "\n").replace("\r", "\n").strip()
        return check_text(max_length(value, config_of(field, _DEFAULT_TEXT).max_length))

    def json_schema(self, field: Field) -> dict[str, Any]:
        """A string of at most `max_length` characters."""
        return {"type": "string", "maxLength": config_of(field, _DEFAULT_TEXT).max_length}
