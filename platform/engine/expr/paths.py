"""Field reads written as attributes: `record.status`, `record.product.list_price`,
`parent.status`, `before.status`.

Expressions see records as mappings (`record['status']`); the attribute form reads the same
key and is what definitions and the reference write. On `record` a chain of attributes reads a
field of a referenced record (loaded with the record as the key "product.list_price"); the
parent of a parent-state grant and the record before an update are bound without their
references, so only their own fields can be read that way.
"""

from __future__ import annotations

import ast
from typing import Final

#: The name bound to the record an expression is about.
RECORD: Final = "record"
#: Other names bound to a record's values as a mapping: the parent a parent-state grant checks,
#: and the record as it was before an update (automations).
MAPPING_NAMES: Final = frozenset({"parent", "before"})


def record_path(node: ast.expr) -> str | None:
    """ "a.b" for the attribute chain `record.a.b` on the name `record` (not `record.get`)."""
    read = field_read(node)
    return read[1] if read is not None and read[0] == RECORD else None


def field_read(node: ast.expr) -> tuple[str, str] | None:
    """(name, "a.b") for the attribute chain `name.a.b` on `record`, `parent` or `before`
    (not the mapping's own `get`); None for anything else."""
    attrs: list[str] = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or not attrs:
        return None
    if node.id != RECORD and node.id not in MAPPING_NAMES:
        return None
    if attrs == ["get"]:
        return None  # record.get('field'): the mapping's method
    return node.id, ".".join(reversed(attrs))
