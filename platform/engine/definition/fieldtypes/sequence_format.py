"""The `format` of a sequence field: literal text with `{seq}`, `{year}`, `{month}`, `{day}`.

`INV-{year}-{seq:05d}` numbers the 7th invoice of 2026 `INV-2026-00007`. A token may carry an
integer spec (`05d`: at least 5 digits, zero-padded; `5d`: space-padded; `d`: as it is);
`{{` and `}}` are literal braces. `{month}` and `{day}` are two digits unless a spec says
otherwise, so numbers of one width sort in order.

A format is parsed once, when the definition is compiled, into `FormatPart`s; a number is
rendered from them with `format(int, spec)` on a spec checked here, never with `str.format`
on definition text (no attribute or item lookups can hide in a format).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from difflib import get_close_matches
from typing import Final

#: Tokens and the spec each one gets when the format gives none.
TOKEN_DEFAULTS: Final[dict[str, str]] = {"seq": "d", "year": "d", "month": "02d", "day": "02d"}
#: Most characters a token's value has without padding (a BIGINT has 19 digits).
_NATURAL_WIDTH: Final[dict[str, int]] = {"seq": 19, "year": 4, "month": 2, "day": 2}
#: A spec: optional zero flag, a width of 1 to 20, optional `d`.
_SPEC: Final = re.compile(r"(?P<zero>0?)(?P<width>[1-9][0-9]?)?d?")
MAX_WIDTH: Final = 20
#: Longest number a format may produce: the size of the column.
MAX_NUMBER_LENGTH: Final = 100
TOKEN_LIST: Final = "{seq} (the running number), {year}, {month} and {day}"


class FormatError(ValueError):
    """A format that cannot number anything; `hint` says how to fix it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True, slots=True)
class Token:
    """A token of a format: its name and the checked `format()` spec of its value."""

    name: str
    spec: str

    @property
    def width(self) -> int:
        """The most characters the value takes (its padding, or its natural width)."""
        match = _SPEC.fullmatch(self.spec)
        padded = int(match["width"]) if match and match["width"] else 0
        return max(padded, _NATURAL_WIDTH[self.name])


FormatPart = str | Token


@dataclass(frozen=True, slots=True)
class SequenceFormat:
    """A parsed format: literal text and tokens, in order."""

    parts: tuple[FormatPart, ...]

    @property
    def tokens(self) -> frozenset[str]:
        """Names of the tokens the format uses."""
        return frozenset(p.name for p in self.parts if isinstance(p, Token))

    @property
    def max_length(self) -> int:
        """The longest number this format can produce."""
        return sum(p.width if isinstance(p, Token) else len(p) for p in self.parts)

    def render(self, number: int, day: date) -> str:
        """The number `number`, created on `day`, as text."""
        values = {"seq": number, "year": day.year, "month": day.month, "day": day.day}
        return "".join(
            format(values[p.name], p.spec) if isinstance(p, Token) else p for p in self.parts
        )


def parse_format(text: str) -> SequenceFormat:
    """Parse and check a format; FormatError names the first mistake (with its position)."""
    parts: list[FormatPart] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char in "{}" and text[i + 1 : i + 2] == char:
            literal.append(char)  # `{{` or `}}`: a literal brace
            i += 2
            continue
        if char == "}":
            raise FormatError(
                f"'}}' at character {i + 1} has no opening '{{'", "write }} for a literal }"
            )
        if char != "{":
            literal.append(char)
            i += 1
            continue
        end = _closing(text, i)
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(_token(text[i + 1 : end], i))
        i = end + 1
    if literal:
        parts.append("".join(literal))
    result = SequenceFormat(tuple(parts))
    _check_whole(result)
    return result


def _closing(text: str, start: int) -> int:
    """The position of the `}` closing the token that opens at `start`."""
    for j in range(start + 1, len(text)):
        if text[j] == "}":
            return j
        if text[j] == "{":
            break
    raise FormatError(
        f"'{{' at character {start + 1} is not closed",
        "close the token with }, or write {{ for a literal {",
    )


def _token(body: str, start: int) -> Token:
    name, colon, spec = body.partition(":")
    if name not in TOKEN_DEFAULTS:
        close = get_close_matches(name, TOKEN_DEFAULTS, n=1)
        guess = f"did you mean {{{close[0]}}}? " if close else ""
        raise FormatError(
            f"unknown token {{{body}}} at character {start + 1}",
            f"{guess}the tokens are {TOKEN_LIST}; write {{{{ and }}}} for literal braces",
        )
    if not colon:
        return Token(name, TOKEN_DEFAULTS[name])
    match = _SPEC.fullmatch(spec)
    if not spec or match is None or int(match["width"] or 0) > MAX_WIDTH:
        raise FormatError(
            f"{{{body}}} at character {start + 1} has an invalid spec {spec!r}",
            f"use a width of 1 to {MAX_WIDTH} digits: {{{name}:05d}} pads with zeros to 5 "
            f"digits, or leave the spec out ({{{name}}})",
        )
    return Token(name, f"{match['zero']}{match['width'] or ''}d")


def _check_whole(result: SequenceFormat) -> None:
    counts = [p.name for p in result.parts if isinstance(p, Token)].count("seq")
    if counts == 0:
        raise FormatError(
            "the format has no {seq}",
            "add {seq} where the running number goes, such as INV-{year}-{seq:05d}",
        )
    if counts > 1:
        raise FormatError("the format has {seq} more than once", "keep one {seq}")
    if result.max_length > MAX_NUMBER_LENGTH:
        raise FormatError(
            f"numbers of this format can be {result.max_length} characters long, "
            f"more than the {MAX_NUMBER_LENGTH} a number may have",
            "shorten the literal text or the widths",
        )
