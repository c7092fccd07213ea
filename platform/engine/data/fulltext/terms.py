"""Words of a text as the full-text index sees them: lower-cased runs of letters and digits,
stop words of the language left out, each reduced to its Snowball stem.

PostgreSQL stems with its own Snowball dictionaries and stop-word lists (`english`, `german`,
`french`, `spanish`; `simple` keeps words as they are); SQLite's FTS5 only knows the English
Porter stemmer, so on SQLite the index holds the stems computed here, with the same Snowball
algorithms and the same stop-word lists (copied from PostgreSQL's, under `stopwords/`), and
both databases match the same words.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from importlib import resources

import snowballstemmer

#: Words of one search beyond this are ignored.
MAX_QUERY_WORDS = 8

#: Name of the SQL function SQLite connections get (`db.create_engine`): the indexed stems.
SQL_FUNCTION = "portalis_search_terms"

_WORD = re.compile(r"[^\W_]+")
_STEMMED = frozenset({"english", "german", "french", "spanish"})
_local = threading.local()  # Snowball stemmers keep state while stemming: one per thread


@cache
def stop_words(language: str) -> frozenset[str]:
    """The language's stop words (none for `simple`)."""
    if language not in _STEMMED:
        return frozenset()
    text = resources.files(__package__ + ".stopwords").joinpath(f"{language}.txt")
    return frozenset(w.strip() for w in text.read_text(encoding="utf-8").split() if w.strip())


def _stemmer(language: str) -> snowballstemmer.Stemmer | None:
    if language not in _STEMMED:
        return None
    stemmers: dict[str, snowballstemmer.Stemmer] = _local.__dict__.setdefault("stemmers", {})
    if language not in stemmers:
        stemmers[language] = snowballstemmer.stemmer(language)
    return stemmers[language]


def words(language: str, text: str) -> list[str]:
    """The lower-cased words of `text` that are not stop words, in order."""
    stop = stop_words(language)
    return [w for w in _WORD.findall(text.lower()) if w not in stop]


def stem(language: str, word: str) -> str:
    """The stem of a lower-cased `word` (itself for `simple`)."""
    stemmer = _stemmer(language)
    return word if stemmer is None else str(stemmer.stemWord(word))


def stems(language: str, text: str | None) -> str:
    """The indexed form of `text`: its stems, space-separated (SQLite's index column)."""
    if not text:
        return ""
    stemmer = _stemmer(language)
    found = words(language, str(text))
    return " ".join(found if stemmer is None else stemmer.stemWords(found))


def query_words(language: str, text: str) -> tuple[str, ...]:
    """The words a search looks for: distinct, stop words left out, at most `MAX_QUERY_WORDS`."""
    return tuple(dict.fromkeys(words(language, text)))[:MAX_QUERY_WORDS]
