"""How a list query is built: filters, search terms and sort keys, each seeing a field only on
the rows where the actor may read it.

Where grants give one role different field sets on different rows, a hidden value must never
change which rows match, in which order they come or how they group: every condition on a
field is compiled as `(condition AND readable_clause)` and every sort or group key as the field
where readable, NULL elsewhere (`Policy.readable_clause`). `ReadStore` builds its reads on this.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..definition.fields import FieldValueError
from ..definition.model import SYSTEM_COLUMNS, Entity, PortalModel
from .computed import queryable
from .errors import BadQuery, NotFound
from .fulltext.match import TextMatch, text_match
from .permissions import Actor, Policy
from .tables import TableSet

#: Terms of one search beyond this are ignored (each term is one more OR over the columns).
MAX_SEARCH_TERMS = 8


@dataclass(frozen=True, slots=True)
class Between:
    """A filter value for a sortable one-column field (a date, datetime or number): values
    from `low` (included) up to `high` (excluded) — a week of slots is `Between(monday,
    next_monday)`. Either end may be None (open)."""

    low: Any = None
    high: Any = None


class RecordQuery:
    """WHERE and ORDER BY of record reads for an actor (the query half of `ReadStore`)."""

    model: PortalModel
    tables: TableSet
    policy: Policy
    engine: sa.Engine
    #: per entity, the SQL of its `stored: sql` fields (`sql_compute.sql_columns`)
    computed_sql: Mapping[str, Mapping[str, sa.ColumnElement[Any]]]

    def value_sql(self, entity: Entity, name: str) -> sa.ColumnElement[Any] | None:
        """What the database reads as field `name`: its (first) column, the SQL of a
        `stored: sql` field, or None for a virtual field (no value in the database)."""
        field = entity.fields[name]
        if field.sql:
            return self.computed_sql[entity.name][name]
        if not field.stored:
            return None
        return self.tables[entity.name].c[field.columns[0]]

    # -- query building -----------------------------------------------------------------
    def where(
        self,
        actor: Actor,
        entity: Entity,
        filters: Mapping[str, Any] | None,
        search: str | None,
        search_fields: Sequence[str] | None,
        parent: tuple[str, int] | None,
        *,
        full_text: bool = True,
    ) -> sa.ColumnElement[bool] | None:
        """The full WHERE of a list query, or None when the actor can read nothing (with
        `full_text` False, `search` is a substring even where the entity has an index)."""
        table = self.tables[entity.name]
        row_filter = self.policy.row_filter(actor, entity.name, "read")
        if isinstance(row_filter, sa.sql.elements.False_):
            return None
        mask = self.policy.field_mask(actor, entity.name, "read")
        parts: builtins.list[sa.ColumnElement[bool]] = [row_filter]
        for name, raw in (filters or {}).items():
            field = entity.fields.get(name)
            if isinstance(raw, Between) and field is not None and name in mask:
                parts.append(
                    self._readable_and(actor, entity, name, self._between(entity, name, raw))
                )
                continue
            if field is None or name not in mask or not field.kind.filterable:
                raise BadQuery(f"cannot filter by {name!r}")
            computed = self.value_sql(entity, name)
            if computed is None:
                raise BadQuery(f"cannot filter by {name!r}")
            try:
                value = field.kind.clean(field, raw)
            except FieldValueError as exc:
                raise BadQuery(f"bad filter value for {name!r}: {exc}") from exc
            if field.sql:  # the expression is the value: compare it as the field's type
                clause: sa.ColumnElement[bool] | None = (
                    computed.is_(None) if value is None else computed == value
                )
            elif value is None:
                clause = sa.or_(*(table.c[c].is_(None) for c in field.columns))
            else:
                clause = field.kind.filter_clause(field, table, value)
            if clause is not None:
                parts.append(self._readable_and(actor, entity, name, clause))
        if parent is not None:
            ref, parent_id = parent
            if ref not in entity.fields or entity.fields[ref].type != "ref":
                raise BadQuery(f"{ref!r} is not a reference")
            parts.append(self._readable_and(actor, entity, ref, table.c[ref] == _int_id(parent_id)))
        if full_text and search and search.strip() and entity.full_text is not None:
            found = self.full_text(actor, entity, search)
            parts.append(
                sa.false()
                if found is None
                else sa.and_(table.c.id.in_(sa.select(found.hits.c.id)), found.where)
            )
        elif search and search.strip():
            parts.append(self._search(actor, entity, table, search, search_fields, mask))
        return sa.and_(*parts)

    def full_text(
        self, actor: Actor, entity: Entity, text: str, *, any_word: bool = False
    ) -> TextMatch | None:
        """The full-text match of `text` in `entity`'s index for `actor` (`fulltext.match`;
        every word, or with `any_word` one of them); None when nothing can match."""
        index = self.tables.search.get(entity.name)
        if index is None:
            return None
        table = self.tables[entity.name]
        dialect = self.engine.dialect.name
        return text_match(
            self.policy, actor, entity, table, index, dialect, text, any_word=any_word
        )

    def _search(
        self,
        actor: Actor,
        entity: Entity,
        table: sa.Table,
        text: str,
        search_fields: Sequence[str] | None,
        mask: frozenset[str],
    ) -> sa.ColumnElement[bool]:
        names = [
            n for n in (search_fields or entity.search_fields) if n in mask and queryable(entity, n)
        ]
        columns = [
            (n, c)
            for n in names
            for c in entity.fields[n].kind.search_columns(entity.fields[n], table)
        ]
        if not columns:
            return sa.false()
        terms = text.lower().split()[:MAX_SEARCH_TERMS]
        clauses = []
        for term in terms:
            pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            # a term matches a field only on rows where that field is readable
            clauses.append(
                sa.or_(
                    *(
                        self._readable_and(
                            actor, entity, n, sa.func.lower(col).like(pattern, escape="\\")
                        )
                        for n, col in columns
                    )
                )
            )
        return sa.and_(*clauses)

    def order_by(
        self, actor: Actor, entity: Entity, sort: str | None
    ) -> builtins.list[sa.ColumnElement[Any]]:
        """ORDER BY for `sort` (`field` or `-field`); unknown or unreadable fields → BadQuery."""
        table = self.tables[entity.name]
        spec = (sort or "-updated_at").strip()
        descending = spec.startswith("-")
        name = spec.lstrip("-")
        if name in SYSTEM_COLUMNS:
            column: sa.ColumnElement[Any] = table.c[name]
        else:
            field = entity.fields.get(name)
            mask = self.policy.field_mask(actor, entity.name, "read")
            if field is None or name not in mask or not field.kind.sortable:
                raise BadQuery(f"cannot sort by {name!r}")
            if field.sql:
                value = self.computed_sql[entity.name][name]
            elif field.stored:
                value = field.kind.sort_column(field, table)
            else:
                raise BadQuery(f"cannot sort by {name!r}")
            # rows where the field is hidden sort as if it were empty
            column = self._where_readable(actor, entity, name, value)
        return [column.desc() if descending else column.asc()]

    def _between(self, entity: Entity, name: str, span: Between) -> sa.ColumnElement[bool]:
        """`low <= field < high` on a sortable field stored in one column."""
        field = entity.fields[name]
        if not field.kind.sortable or len(field.columns) != 1 or field.sql:
            raise BadQuery(f"cannot filter {name!r} by a range")
        column = self.tables[entity.name].c[field.columns[0]]
        parts: builtins.list[sa.ColumnElement[bool]] = []
        try:
            if span.low is not None:
                parts.append(column >= field.kind.clean(field, span.low))
            if span.high is not None:
                parts.append(column < field.kind.clean(field, span.high))
        except FieldValueError as exc:
            raise BadQuery(f"bad range for {name!r}: {exc}") from exc
        return sa.and_(sa.true(), *parts)

    # -- field readability per row ------------------------------------------------------
    def _readable_and(
        self, actor: Actor, entity: Entity, name: str, clause: sa.ColumnElement[bool]
    ) -> sa.ColumnElement[bool]:
        """`clause AND (field `name` is readable on the row)`."""
        readable = self.policy.readable_clause(actor, entity.name, name)
        return clause if isinstance(readable, sa.sql.elements.True_) else sa.and_(clause, readable)

    def _where_readable(
        self, actor: Actor, entity: Entity, name: str, value: sa.ColumnElement[Any]
    ) -> sa.ColumnElement[Any]:
        """`value` on rows where field `name` is readable, NULL elsewhere."""
        readable = self.policy.readable_clause(actor, entity.name, name)
        if isinstance(readable, sa.sql.elements.True_):
            return value
        return sa.case((readable, value), else_=sa.null())


def _int_id(value: Any) -> int:
    result = _maybe_int(value)
    if result is None:
        raise NotFound(f"invalid id {value!r}")
    return result


def _maybe_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        return int(value)
    return None
