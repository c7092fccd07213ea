"""Which indexes an entity's table gets: single columns, list indexes derived from the
definition, and the entity's declared `indexes:`.

A list reads `WHERE <row filter> [AND <parent ref> = ?] ORDER BY <sort>, id` (`RecordQuery`
and `ReadStore.list`). An index whose leading columns are the equality columns of that WHERE,
followed by the sort column and `id` in the query's directions, hands the rows over already in
order: the database reads the first page and stops, instead of sorting every visible row.

The equality columns come from the list block (`parent:` ref) and from the entity's read
grants: `account` scopes filter on the account ref, `own` on `created_by`, `parent` scopes on
the parent ref and `where` scopes on their fields (`self` selects one row and `all` nothing).
One index is derived per distinct set of leading columns; an index that is a prefix of another
(the same directions, or all reversed) is left out, because the longer one serves its queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..definition.block_configs import ListBlock
from ..definition.model import SYSTEM_COLUMNS, Entity, PortalModel

#: The list query's tie-break after the sort key (`ORDER BY <sort>, id`): always ascending.
TIE_BREAK_DESCENDING = False


@dataclass(frozen=True, slots=True)
class IndexKey:
    """The ordered key columns of a non-unique index and whether each one descends."""

    columns: tuple[str, ...]
    descending: tuple[bool, ...]

    @classmethod
    def ascending(cls, *columns: str) -> IndexKey:
        """An index over `columns`, all ascending."""
        return cls(columns, (False,) * len(columns))

    def name_parts(self) -> tuple[str, ...]:
        """Column names as they appear in the index name (`updated_at_desc` when descending)."""
        return tuple(c + ("_desc" if d else "") for c, d in zip(self.columns, self.descending))

    def serves(self, other: IndexKey) -> bool:
        """True when this index answers every query `other` answers: `other` is a prefix of it,
        read forwards or backwards."""
        n = len(other.columns)
        if n > len(self.columns) or self.columns[:n] != other.columns:
            return False
        head = self.descending[:n]
        return head == other.descending or head == tuple(not d for d in other.descending)


def entity_index_keys(model: PortalModel, entity: Entity, single: Iterable[str]) -> list[IndexKey]:
    """The non-unique indexes of `entity`'s table: the `single` columns, the derived list
    indexes and the declared ones, without duplicates or prefixes of another."""
    keys = [
        *(IndexKey.ascending(c) for c in single),
        *derived_keys(model, entity),
        *(declared_key(entity, spec) for spec in entity.indexes),
    ]
    unique = list(dict.fromkeys(keys))
    return [k for k in unique if not any(o != k and o.serves(k) for o in unique)]


def declared_key(entity: Entity, spec: Sequence[str]) -> IndexKey:
    """The key of a declared index (`[account, -updated_at]`; `-` descends)."""
    columns = tuple(_column(entity, item.lstrip("-")) for item in spec)
    return IndexKey(columns, tuple(item.startswith("-") for item in spec))


def derived_keys(model: PortalModel, entity: Entity) -> list[IndexKey]:
    """One index per list block of `entity` and distinct set of equality columns."""
    out: list[IndexKey] = []
    for page in model.pages.values():
        for block in page.blocks:
            cfg = block.config
            if isinstance(cfg, ListBlock) and cfg.entity == entity.name:
                out.extend(_list_keys(entity, cfg))
    return list(dict.fromkeys(out))


def _list_keys(entity: Entity, cfg: ListBlock) -> list[IndexKey]:
    descending = cfg.sort.startswith("-")
    sort_name = cfg.sort.lstrip("-")
    field = entity.fields.get(sort_name)
    if sort_name in SYSTEM_COLUMNS:
        sort_column = sort_name
    elif field is not None and field.stored and field.kind.sortable:
        sort_column = field.columns[0]
    else:
        return []
    leads = [(_column(entity, cfg.parent),)] if cfg.parent else _grant_leads(entity)
    keys = []
    for lead in leads:
        columns = [*lead, sort_column]
        directions = [*(False for _ in lead), descending]
        if sort_column != "id":
            columns.append("id")
            directions.append(TIE_BREAK_DESCENDING)
        if columns != ["id"]:  # the primary key is already an index
            keys.append(IndexKey(tuple(columns), tuple(directions)))
    return keys


def _grant_leads(entity: Entity) -> list[tuple[str, ...]]:
    """The equality columns each read grant's row filter puts in front of the sort."""
    leads: list[tuple[str, ...]] = []
    for grant in entity.grants:
        if "read" not in grant.actions:
            continue
        scope = grant.scope
        if scope.kind in ("account", "parent") and scope.field and scope.field != "id":
            leads.append((_column(entity, scope.field),))
        elif scope.kind == "own":
            leads.append(("created_by",))
        elif scope.kind == "where" and scope.where:
            leads.append(tuple(dict.fromkeys(_column(entity, name) for name, _ in scope.where)))
        elif scope.kind == "all":
            leads.append(())
    return list(dict.fromkeys(leads))


def _column(entity: Entity, name: str) -> str:
    """The column a field is indexed by (its first column), or the system column itself."""
    field = entity.fields.get(name)
    return field.columns[0] if field is not None else name
