"""SQL names derived from a definition: a portal's table prefix and each entity's table.

The validator checks these names against PostgreSQL's identifier limit before any table exists,
and the data layer builds its tables with them: one rule, used by both.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

#: PostgreSQL's identifier limit; table and index names must fit.
MAX_IDENTIFIER = 63


def table_prefix(slug: str) -> str:
    """`p_acme_support__` for portal `acme-support`."""
    return "p_" + slug.replace("-", "_") + "__"


def table_name(slug: str, entity: str) -> str:
    """The table name of an entity of a portal."""
    return table_prefix(slug) + entity


#: Length of a long name's kept head; the rest is `_` and a 10-digit hash of the full name.
_HEAD = MAX_IDENTIFIER - 11


def constraint_name(kind: str, table: str, parts: Sequence[str], *, hashed: bool = False) -> str:
    """`<kind>_<table>__<part>_<part>…`: the deterministic name of an index (`ix`), unique
    constraint (`uq`) or foreign key (`fk`) Portalis makes.

    A name longer than PostgreSQL's identifier limit keeps its head and ends in a hash of the
    full name, so it stays unique, fits, and still starts with `<kind>_<table>__` as far as the
    head reaches. `hashed` ends a short name in the hash too (for two names spelled alike).
    """
    name = f"{kind}_{table}__{'_'.join(parts)}"
    if len(name) <= MAX_IDENTIFIER and not hashed:
        return name
    digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:10]
    return name[:_HEAD] + "_" + digest


def is_portalis_index(name: str, table: str) -> bool:
    """True when `name` is an index or unique constraint name Portalis makes for `table`.

    Portalis owns the `ix_<table>__` and `uq_<table>__` prefixes (see `constraint_name`); an
    index under any other name was made by someone else and deploys leave it alone.
    """
    for kind in ("ix", "uq"):
        head = f"{kind}_{table}__"
        if name.startswith(head):
            return True
        if (
            len(head) > _HEAD
            and len(name) == MAX_IDENTIFIER
            and name[:_HEAD] == head[:_HEAD]
            and _HASH_TAIL.fullmatch(name[_HEAD:]) is not None
        ):
            return True
    return False


_HASH_TAIL = re.compile(r"_[0-9a-f]{10}")
