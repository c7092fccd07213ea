"""The sequence field type: gap-free numbers such as `INV-2026-00042`, assigned on create.

The record store numbers a record in the transaction that creates it (`data.sequences`): a
write that fails or rolls back uses no number, and two creates never get the same one. The
value is text in a unique column; nobody writes it (forms and the API treat it like a
computed field, seed files may not give it), and lists show, search and sort it like a
string.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Final, Literal

import sqlalchemy as sa

from ...problems import Problem
from ..fields import CheckContext
from ._base import (
    BuiltinType,
    check_line,
    is_blank,
    max_length,
    option_problem,
    require_text,
)
from .sequence_format import (
    MAX_NUMBER_LENGTH,
    FormatError,
    SequenceFormat,
    Token,
    parse_format,
)

if TYPE_CHECKING:
    from ..model import Field

Reset = Literal["never", "yearly", "monthly"]

#: Largest `start`: far below a BIGINT, so the counter never overflows in practice.
MAX_START: Final = 10**15
#: Tokens each reset needs in the format, or a number would repeat in the next period.
RESET_TOKENS: Final[dict[str, tuple[str, ...]]] = {
    "never": (),
    "yearly": ("year",),
    "monthly": ("year", "month"),
}
#: A format that fits each reset, for hints.
_EXAMPLES: Final = {"yearly": "INV-{year}-{seq:05d}", "monthly": "DN-{year}{month}-{seq:04d}"}
#: Keys of a field a sequence field cannot have, and why (the value is assigned on create).
_REFUSED_KEYS: Final[dict[str, tuple[str, str]]] = {
    "required": ("cannot be required", "remove required: every new record gets a number"),
    "default": ("has no default", "remove default; start: sets the first number"),
    "compute": ("cannot be computed", "use a separate field for a computed value"),
    "rollup": ("cannot be a rollup", "use a separate field for the rollup"),
    "visible_when": ("is always numbered", "remove visible_when"),
    "required_when": ("is always numbered", "remove required_when"),
}


@dataclass(frozen=True, slots=True)
class SequenceConfig:
    """Options of a sequence field: the parsed format, when the count restarts, and the
    first number of each period."""

    format: SequenceFormat = SequenceFormat((Token("seq", "d"),))
    reset: Reset = "never"
    start: int = 1

    def period(self, day: date) -> str:
        """The counter a record created on `day` draws from: `all`, `2026` or `2026-03`."""
        if self.reset == "yearly":
            return f"{day.year:04d}"
        if self.reset == "monthly":
            return f"{day.year:04d}-{day.month:02d}"
        return "all"


_DEFAULT: Final = SequenceConfig()


class SequenceType(BuiltinType):
    """A number the record store assigns when a record is created (never typed in)."""

    name = "sequence"
    description = (
        "A gap-free number assigned when a record is created, such as INV-2026-00042; "
        "read-only and unique."
    )
    options_schema = {
        "format": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_NUMBER_LENGTH,
            "description": "Text with `{seq}` (the running number, exactly once) and "
            "optionally `{year}`, `{month}`, `{day}` of the creation date (UTC); a token may "
            "carry a width such as `{seq:05d}` (zero-padded to 5 digits); `{month}` and "
            "`{day}` are two digits by default; `{{` and `}}` are literal braces.",
        },
        "reset": {
            "type": "string",
            "enum": ["never", "yearly", "monthly"],
            "default": "never",
            "description": "When numbering starts again from `start`: never, at each new "
            "year, or at each new month (the format must then show the year, or the year "
            "and month).",
        },
        "start": {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_START,
            "default": 1,
            "description": "The first number (of each period). Raising it later makes the "
            "next number at least this; lowering it never repeats a number.",
        },
    }
    required_options = ("format",)
    searchable = True
    assigned = True

    def make_config(self, options: Mapping[str, Any], *, currency: str) -> SequenceConfig:
        """The config from validated options (the format parsed once here)."""
        try:
            parsed = parse_format(str(options.get("format") or "{seq}"))
        except FormatError:
            parsed = _DEFAULT.format  # reported by `check`; the model is not used then
        reset = options.get("reset", "never")
        return SequenceConfig(
            format=parsed,
            reset=reset if reset in RESET_TOKENS else "never",
            start=int(options.get("start", 1)),
        )

    def check(self, options: Mapping[str, Any], ctx: CheckContext) -> Iterator[Problem]:
        """Refuse formats that cannot number, resets that would repeat numbers and the
        field keys a number assigned on create cannot have."""
        spec = ctx.entities.get(ctx.entity, {}).get(str(ctx.path[-1])) or {}
        for key, (what, hint) in _REFUSED_KEYS.items():
            if key in spec and not (key == "required" and spec[key] is False):
                yield option_problem(ctx, "field-option", f"a sequence field {what}", key, hint)
        if spec.get("unique") is False:
            yield option_problem(
                ctx,
                "field-option",
                "sequence numbers are always unique",
                "unique",
                "remove unique: false",
            )
        text = options.get("format")
        if not isinstance(text, str):
            return  # the schema pass reports a missing or non-text format
        try:
            parsed = parse_format(text)
        except FormatError as exc:
            yield option_problem(ctx, "sequence-format", f"format: {exc}", "format", exc.hint)
            return
        reset = options.get("reset", "never")
        missing = [t for t in RESET_TOKENS.get(str(reset), ()) if t not in parsed.tokens]
        if missing:
            shown = " and ".join(f"{{{t}}}" for t in missing)
            yield option_problem(
                ctx,
                "sequence-reset",
                f"reset: {reset} but the format has no {shown}: numbers would repeat "
                f"every {'year' if reset == 'yearly' else 'month'}",
                "reset",
                f"add {shown} to the format ({_EXAMPLES[str(reset)]}), or use reset: never",
            )

    def column_type(self, field: Field) -> sa.types.TypeEngine[Any]:
        """VARCHAR(100), whatever the format: a new format never narrows the column."""
        return sa.String(MAX_NUMBER_LENGTH)

    def clean(self, field: Field, raw: Any) -> str | None:
        """A number as text (for conditions and lookups; nobody writes the field)."""
        if is_blank(raw):
            return None
        return check_line(max_length(require_text(raw).strip(), MAX_NUMBER_LENGTH))

    def json_schema(self, field: Field) -> dict[str, Any]:
        """A string as long as the column allows (numbers of an earlier format stay valid)."""
        return {"type": "string", "maxLength": MAX_NUMBER_LENGTH}
