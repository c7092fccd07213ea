"""An entity's `search:` key: a substring search over named fields (a list) or a ranked
full-text index (an object with `fields`), and the text-search language of a locale."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .model import Field, FullText

#: Text-search languages by locale (PostgreSQL configuration and Snowball stemmer names);
#: other locales match whole words (`simple`).
LANGUAGES = {"en": "english", "de": "german", "fr": "french", "es": "spanish"}

#: Field types a full-text index may hold: text in one column (Markdown as written: its
#: punctuation is no word, so the index holds the words a reader sees).
INDEXABLE_TYPES = frozenset({"string", "text", "markdown"})

#: PostgreSQL ranks with four weight classes, so at most four different weights.
MAX_WEIGHTS = 4


def language_of(locale: str) -> str:
    """`german` for `de` or `de-AT`; `simple` for a locale without a stemmer."""
    return LANGUAGES.get(locale.split("-")[0].split("_")[0].lower(), "simple")


def declared_weights(declared: Any) -> dict[str, int]:
    """The `fields` of a full-text `search:` as field → weight (a list weighs 1 each)."""
    fields = declared.get("fields") if isinstance(declared, Mapping) else None
    if isinstance(fields, Mapping):
        return {str(k): int(v) for k, v in fields.items()}
    if isinstance(fields, Sequence) and not isinstance(fields, str):
        return {str(name): 1 for name in fields}
    return {}


def entity_search(
    declared: Any, fields: Mapping[str, Field], locales: Sequence[str]
) -> tuple[tuple[str, ...], FullText | None]:
    """(the fields a substring search looks in, the full-text index or None) of an entity's
    `search:` (absent: every searchable field, by substring)."""
    if isinstance(declared, Mapping):
        weights = declared_weights(declared)
        full_text = FullText(tuple(weights.items()), language_of(str(locales[0])))
        return full_text.names(), full_text
    named = tuple(declared or ())
    return named or tuple(f.name for f in fields.values() if f.kind.searchable), None
