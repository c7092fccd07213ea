"""The value types of the compiled model: read-only maps, localized labels, values.

A `Label` is a text per locale; a `Value` a literal or an expression evaluated when needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..expr.expressions import Expression


def frozen_map(data: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only mapping (insertion order kept)."""
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True, slots=True)
class Label:
    """A text per locale. `get` falls back to the default locale, then to any text."""

    texts: Mapping[str, str] = field(default_factory=frozen_map)

    @classmethod
    def of(cls, value: str | Mapping[str, str] | None, fallback: str = "") -> Label:
        """A label from a definition value (a string means: the same in every locale)."""
        if value is None:
            return cls(frozen_map({"*": fallback}))
        if isinstance(value, str):
            return cls(frozen_map({"*": value}))
        return cls(frozen_map(value))

    def get(self, locale: str, default_locale: str = "en") -> str:
        """The text for `locale`, else the default locale's, else the first one."""
        for key in (locale, locale.split("-")[0], "*", default_locale):
            if key in self.texts:
                return self.texts[key]
        return next(iter(self.texts.values()), "")

    def has(self, locale: str) -> bool:
        """True when the label has its own text for `locale` (or one for every locale)."""
        return locale in self.texts or "*" in self.texts


@dataclass(frozen=True, slots=True)
class Value:
    """A value in an action or default: a literal, or an expression evaluated when needed."""

    literal: Any = None
    expr: Expression | None = None
    source: str | None = None

    def resolve(self, **names: Any) -> Any:
        """The literal, or the expression's result for `names` (EvaluationError on failure)."""
        if self.expr is None:
            return self.literal
        return self.expr.evaluate(**names)
