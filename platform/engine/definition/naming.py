"""SQL names derived from a definition: a portal's table prefix and each entity's table.

The validator checks these names against PostgreSQL's identifier limit before any table exists,
and the data layer builds its tables with them: one rule, used by both.
"""

from __future__ import annotations

#: PostgreSQL's identifier limit; table and index names must fit.
MAX_IDENTIFIER = 63


def table_prefix(slug: str) -> str:
    """`p_acme_support__` for portal `acme-support`."""
    return "p_" + slug.replace("-", "_") + "__"


def table_name(slug: str, entity: str) -> str:
    """The table name of an entity of a portal."""
    return table_prefix(slug) + entity
