r"""Definition patterns, matched by RE2 in time linear in the input.

A string field's `pattern` runs against user input on every write. Python's `re` backtracks, so
a pattern such as `a*a*a*a*a*a*a*a*b` holds a worker (and the GIL) for seconds on a 46-character
value, and no static check finds every such shape. RE2 (`google-re2`) builds an automaton instead:
every pattern runs in time linear in the value, whatever its shape. The price is RE2's syntax, which
has no backreferences, lookaround, atomic groups or possessive quantifiers; a definition using them
gets a `pattern-unsupported` problem at validate time that names the construct.

RE2's `\d`, `\w`, `\s` and `\b` are ASCII-only; `\p{L}` (any letter) and `\p{N}` cover Unicode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

import re2

# What RE2 refuses and Python accepts, keyed by the start of RE2's error message and the
# construct it names: (what the construct is, what to write instead).
_CONSTRUCTS: Final[tuple[tuple[str, str, str], ...]] = (
    ("invalid perl operator: (?=", "lookahead (?=...)", "match the text itself"),
    ("invalid perl operator: (?!", "negative lookahead (?!...)", "use a character class"),
    ("invalid perl operator: (?<=", "lookbehind (?<=...)", "match the text itself"),
    ("invalid perl operator: (?<!", "negative lookbehind (?<!...)", "use a character class"),
    ("invalid perl operator: (?>", "atomic groups (?>...)", "use a plain group (...)"),
    ("invalid perl operator: (?P", "backreferences (?P=name)", "repeat the group's pattern"),
    ("invalid perl operator: (?(", "conditional groups (?(...)...)", "use an alternation a|b"),
    ("invalid perl operator: (?#", "comments (?#...)", "remove the comment"),
    ("invalid perl operator: (?", "this inline flag", "only (?i), (?m), (?s) and (?U) work"),
    ("invalid escape sequence: \\Z", "\\Z", "write \\z for the end of the text"),
    ("invalid escape sequence: \\u", "\\u escapes", "write \\x{00e9} or the character itself"),
    ("invalid escape sequence: \\U", "\\U escapes", "write \\x{1F600} or the character itself"),
    ("invalid escape sequence: \\", "backreferences \\1", "repeat the group's pattern"),
    ("bad repetition operator: ", "possessive quantifiers such as a++", "write a+"),
    ("invalid repetition size", "repetition counts above 1000", "use smaller counts"),
    ("pattern too large", "a pattern this large", "use smaller repetition counts"),
)


@dataclass(frozen=True, slots=True)
class LinearPattern:
    """A compiled definition pattern; `fullmatch` runs in time linear in the value."""

    pattern: str
    _compiled: Any = field(compare=False, repr=False)

    def fullmatch(self, value: str) -> bool:
        """Whether the whole of `value` matches (the value must be valid Unicode text)."""
        return self._compiled.fullmatch(value) is not None


class PatternError(ValueError):
    """RE2 refused a pattern; `construct` and `hint` are set when Python's `re` would accept it."""

    def __init__(self, message: str, construct: str = "", hint: str = "") -> None:
        super().__init__(message)
        self.construct = construct
        self.hint = hint


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # the caller reports the error; RE2 would also print it to stderr
    return options


def compile_pattern(pattern: str) -> LinearPattern:
    """Compile `pattern` with RE2, or raise `PatternError` saying why it cannot be used."""
    try:
        compiled = re2.compile(pattern, _options())
    except re2.error as exc:
        raise _explain(pattern, exc) from None
    return LinearPattern(pattern, compiled)


def _explain(pattern: str, exc: Exception) -> PatternError:
    arg = exc.args[0] if exc.args else exc
    message = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
    try:
        re.compile(pattern)  # Python's syntax decides "invalid" versus "not supported"
    except (re.error, RecursionError, OverflowError):
        return PatternError(message)
    for prefix, construct, hint in _CONSTRUCTS:
        if message.startswith(prefix):
            return PatternError(message, construct, hint)
    return PatternError(message, "this construct", "see the RE2 syntax reference")
