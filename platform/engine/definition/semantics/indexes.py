"""Semantic checks of an entity's declared `indexes:` (lists of field or system column names,
`-name` descending): every name has an indexable column, no index repeats a column or another
index, and none is longer than an index usefully gets."""

from __future__ import annotations

from typing import Any

from ...problems import JsonPath, Severity
from ..model import SYSTEM_COLUMNS
from .base import Ctx, suggest

#: Columns of one declared index: the equality filters, the sort key and a tie-break fit.
MAX_INDEX_COLUMNS = 6


def check_indexes(ctx: Ctx, entity: str, raw: dict[str, Any], base: JsonPath) -> None:
    """Report unknown, unindexable and repeated columns and repeated or too long indexes;
    an index that begins another one is a warning."""
    fields = raw.get("fields") or {}
    seen: list[tuple[int, tuple[tuple[str, bool], ...]]] = []
    for i, spec in enumerate(raw.get("indexes") or []):
        path: JsonPath = (*base, "indexes", i)
        names = [str(item).lstrip("-") for item in spec]
        if not all(_indexable(ctx, entity, fields, n, (*path, j)) for j, n in enumerate(names)):
            continue
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            ctx.add(
                "index-invalid",
                f"index lists {', '.join(repeated)} more than once",
                path,
                "name each column once",
            )
            continue
        if len(names) > MAX_INDEX_COLUMNS:
            ctx.add(
                "index-invalid",
                f"index has {len(names)} columns, more than {MAX_INDEX_COLUMNS}",
                path,
                "keep the columns a query compares with = first, then its sort key; "
                "columns after those are not used to find rows",
            )
            continue
        if names[0] == "id":
            ctx.add(
                "index-invalid",
                "an index that starts with id is never needed: id is the primary key",
                path,
                "put the columns queries compare with = first",
                severity=Severity.WARNING,
            )
            continue
        key = tuple((n, str(item).startswith("-")) for n, item in zip(names, spec))
        _check_repeat(ctx, key, seen, path)
        seen.append((i, key))


def _indexable(ctx: Ctx, entity: str, fields: dict[str, Any], name: str, path: JsonPath) -> bool:
    if name in SYSTEM_COLUMNS:
        return True
    indexable = [n for n, f in fields.items() if _type_sortable(ctx, f) and _stored(f)]
    spec = fields.get(name)
    if not isinstance(spec, dict):
        ctx.add(
            "ref-unknown-field",
            f"{entity} has no field {name!r}",
            path,
            suggest(name, [*indexable, *SYSTEM_COLUMNS]),
        )
        return False
    if not _stored(spec):
        ctx.add(
            "virtual-not-queryable",
            f"field {name!r} is computed on read (stored: false) and has no column to index",
            path,
            "store the computed value (stored: true) or index the fields it is computed from",
        )
        return False
    if not _type_sortable(ctx, spec):
        ctx.add(
            "field-capability",
            f"field {name!r} ({spec.get('type')}) cannot be indexed",
            path,
            "indexable fields: " + ", ".join([*indexable, *SYSTEM_COLUMNS]),
        )
        return False
    return True


def _type_sortable(ctx: Ctx, spec: Any) -> bool:
    # A type whose values sort has a plain column a B-tree index can order; text, files, JSON
    # and tags do not (and PostgreSQL has no B-tree for JSON at all).
    kind = ctx.registry.get(str(spec.get("type"))) if isinstance(spec, dict) else None
    return kind is None or kind.sortable  # an unknown type is reported by the schema pass


def _stored(spec: Any) -> bool:
    return not (isinstance(spec, dict) and spec.get("stored") in (False, "sql"))


def _check_repeat(
    ctx: Ctx,
    key: tuple[tuple[str, bool], ...],
    seen: list[tuple[int, tuple[tuple[str, bool], ...]]],
    path: JsonPath,
) -> None:
    flipped = tuple((n, not d) for n, d in key)
    for j, other in seen:
        if other in (key, flipped):
            ctx.add(
                "index-invalid",
                f"index repeats indexes[{j}]"
                + (" read backwards" if other == flipped and other != key else ""),
                path,
                "remove one of them: an index serves its order in both directions",
            )
            return
        shorter, longer = (key, other) if len(key) < len(other) else (other, key)
        head = longer[: len(shorter)]
        if head in (shorter, tuple((n, not d) for n, d in shorter)):
            ctx.add(
                "index-invalid",
                f"index and indexes[{j}] start alike: the longer one serves both",
                path,
                "keep only the longer index",
                severity=Severity.WARNING,
            )
            return
