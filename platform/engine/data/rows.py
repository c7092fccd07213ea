"""What reads return: a `Record` (values the actor may see, with its id and version) and a
`Page` of records with a bounded total (and the titles of the records they reference, when
the list query joined them).

Both are frozen: a block, an expression or an API view reads them and can change nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Record:
    """A record as the actor may see it: readable fields plus system columns."""

    entity: str
    values: Mapping[str, Any]

    @property
    def id(self) -> int:
        """The primary key."""
        return int(self.values["id"])

    @property
    def version(self) -> int:
        """The optimistic-locking version."""
        return int(self.values["version"])

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:
        """The value of `key`, or `default` when absent or masked."""
        return self.values.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.values

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: records, a bounded total and paging facts."""

    records: tuple[Record, ...]
    total: int
    total_exact: bool
    page: int
    page_size: int
    has_next: bool
    #: titles of referenced records joined into the list query: column → id → title
    titles: Mapping[str, Mapping[int, str]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        """Number of pages (from the bounded total)."""
        return max(1, -(-self.total // self.page_size))
