"""The record store: the only door to portal data. Every call takes an actor.

Reads put the policy's row filter into the SQL WHERE and mask fields the actor may not read;
writes (in `writes`) clean input, enforce rules and grants and check `version`. A list page
costs one statement: its rows, the titles of the records they reference and, when asked for,
a bounded count.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from typing import Any

import sqlalchemy as sa

from ..definition.model import SYSTEM_COLUMNS, Entity, PortalModel
from .computed import compute_virtual, queryable
from .db import begin_write
from .errors import Forbidden, NotFound
from .list_plans import ABSENT, Absent, ListPlans, build_plan, plan_key
from .metric_reads import MetricReads
from .permissions import Actor, Policy
from .query import _int_id, _maybe_int
from .record_rows import Related, masked_records, wanted_virtual
from .ref_titles import read_titles
from .related import page_related
from .rows import Page, Record
from .sql_compute import sql_columns
from .tables import USER_AUTH_COLUMNS, TableSet

#: Counts stop here; pages show "10,000+" instead of scanning millions of rows.
COUNT_LIMIT = 10_000
MAX_PAGE_SIZE = 200


class ReadStore(MetricReads):
    """Reads of one compiled portal's records, always through the policy (writes: `store`)."""

    def __init__(
        self, model: PortalModel, tables: TableSet, policy: Policy, engine: sa.Engine
    ) -> None:
        self.model = model
        self.tables = tables
        self.policy = policy
        self.engine = engine
        # per entity: (name, field, first column, loader) — read once per row of every list
        self._loaders = {
            e.name: tuple((n, f, f.columns[0], f.kind.from_storage) for n, f in e.fields.items())
            for e in model.entities.values()
        }
        # compiled once per store: the SQL of every `stored: sql` field, for this database
        self.computed_sql = {
            e.name: sql_columns(model.entities, e, tables.__getitem__, engine.dialect.name)
            for e in model.entities.values()
        }
        self._aliases: dict[tuple[str, str], sa.FromClause] = {}
        self._plans = ListPlans()

    # -- helpers ------------------------------------------------------------------------
    def columns(
        self, entity: Entity, fields: Sequence[str] | None = None
    ) -> list[sa.ColumnElement[Any]]:
        """Selectable columns (never the user table's authentication columns).

        With `fields`, only the system columns and those fields' columns (a list page needs
        its six columns, not every column of a wide entity). A virtual field among them needs
        every column: its expression may read any field. A `stored: sql` field is selected
        as its expression, labelled with its name.
        """
        table = self.tables[entity.name]
        computed = self.computed_sql[entity.name]
        virtual = (n for n in fields or () if n in entity.fields and not queryable(entity, n))
        if fields is None or any(n not in computed for n in virtual):
            return [
                *(c for c in table.c if c.name not in USER_AUTH_COLUMNS),
                *(sql.label(n) for n, sql in computed.items()),
            ]
        wanted = set(SYSTEM_COLUMNS)
        for name in fields:
            field = entity.fields.get(name)
            if field is not None:
                wanted.update(field.columns)
        return [
            *(c for c in table.c if c.name in wanted),
            *(sql.label(n) for n, sql in computed.items() if n in wanted),
        ]

    def to_values(
        self, entity: Entity, row: Mapping[Any, Any], mask: frozenset[str]
    ) -> dict[str, Any]:
        """System columns plus the masked fields of a row, as Python values."""
        values = {name: row[name] for name in SYSTEM_COLUMNS}
        for name, field, column, load in self._loaders[entity.name]:
            if name in mask and column in row:
                values[name] = load(field, row)
        return values

    def raw_values(self, entity: Entity, row: Mapping[Any, Any]) -> dict[str, Any]:
        """Every field of a row (for permission checks and expressions, never for output)."""
        return self.to_values(entity, row, frozenset(entity.fields))

    def lookup(self, conn: sa.Connection) -> Any:
        """A parent lookup for `Policy.can` that reads through `conn`."""

        def _lookup(entity_name: str, record_id: Any) -> Mapping[str, Any] | None:
            entity = self.model.entities.get(entity_name)
            if entity is None:
                return None
            table = self.tables[entity_name]
            row = (
                conn.execute(sa.select(*self.columns(entity)).where(table.c.id == record_id))
                .mappings()
                .first()
            )
            return None if row is None else self.raw_values(entity, row)

        return _lookup

    # -- reads --------------------------------------------------------------------------
    def list(
        self,
        actor: Actor,
        entity_name: str,
        *,
        filters: Mapping[str, Any] | None = None,
        search: str | None = None,
        search_fields: Sequence[str] | None = None,
        sort: str | None = None,
        page: int = 1,
        page_size: int = 25,
        parent: tuple[str, int] | None = None,
        count: bool = True,
        count_limit: int = COUNT_LIMIT,
        conn: sa.Connection | None = None,
        fields: Sequence[str] | None = None,
        titles: Sequence[str] = (),
        full_text: bool = True,
    ) -> Page:
        """A page of records the actor may read, filtered, searched and sorted.

        `search` uses the entity's full-text index when it has one (ranked, by word);
        `full_text=False` asks for a substring of the search fields instead (type-ahead).

        `fields` limits the fields loaded (default: every field the actor may read).
        `titles` names reference columns (and `created_by`) whose referenced records' titles
        are joined into the same query (`Page.titles`; see `ref_titles` for the rules and
        for the columns left to `titles()`).
        """
        entity = self.entity(entity_name)
        page = max(1, int(page))
        page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
        key = plan_key(
            actor, entity.name, filters, search, search_fields, parent,
            sort, page, page_size, count, count_limit, fields, titles, full_text,
        )  # fmt: skip
        plan = self._plans.get(key) if key is not None else ABSENT
        if isinstance(plan, Absent):
            plan = build_plan(
                self, actor, entity, filters, search, search_fields, parent, sort, page,
                page_size, count, count_limit, fields, titles, full_text,
            )  # fmt: skip
            if key is not None:
                self._plans.put(key, plan)
        if plan is None:
            return Page((), 0, True, page, page_size, False)
        query, table, where, joins = plan.query, plan.table, plan.where, plan.joins
        flags, mask = list(plan.flags), plan.mask
        with self._read(conn) as c:
            rows = c.execute(query).mappings().all()
            total, exact = (0, True)
            if count and rows:
                total, exact = _bounded(int(rows[0]["_total"]), count_limit)
            elif count and page > 1:  # a page past the end: no row carried the count
                total, exact = self._count(c, table, where, count_limit)
            related = page_related(
                c, self.model, self.tables, entity, rows[:page_size], mask, fields
            )
        # one mask for every row: which fields a row yields is known once, not per row
        if mask and rows:
            records = masked_records(
                actor,
                entity,
                rows[:page_size],
                mask,
                fields,
                self._selected(entity, mask, rows[0].keys()),
                related,
            )
        else:
            records = tuple(
                self._record(actor, entity, row, flags, mask, fields, related)
                for row in rows[:page_size]
            )
        if not count:
            total = (page - 1) * page_size + len(records)
        joined = read_titles(joins, rows, records) if joins else {}
        return Page(records, total, exact, page, page_size, len(rows) > page_size, joined)

    def count(
        self,
        actor: Actor,
        entity_name: str,
        *,
        filters: Mapping[str, Any] | None = None,
        search: str | None = None,
        limit: int = COUNT_LIMIT,
    ) -> tuple[int, bool]:
        """How many records the actor may read (bounded): (count, exact)."""
        entity = self.entity(entity_name)
        where = self.where(actor, entity, filters, search, None, None)
        if where is None:
            return 0, True
        with self._read(None) as c:
            return self._count(c, self.tables[entity.name], where, limit)

    def get(
        self,
        actor: Actor,
        entity_name: str,
        record_id: Any,
        *,
        action: str = "read",
        conn: sa.Connection | None = None,
    ) -> Record:
        """One record the actor may `action`; NotFound when it is invisible to them."""
        entity = self.entity(entity_name)
        rid = _int_id(record_id)
        table = self.tables[entity.name]
        flags = self._flags(actor, entity)
        query = sa.select(
            *self.columns(entity), *(f.label(f"_g{i}") for i, (_, f) in enumerate(flags))
        ).where(table.c.id == rid, self.policy.row_filter(actor, entity.name, "read"))
        with self._read(conn) as c:
            row = c.execute(query).mappings().first()
            if row is None:
                raise NotFound(f"{entity.name} #{record_id} not found")
            if action != "read":
                allowed = c.execute(
                    sa.select(table.c.id).where(
                        table.c.id == rid, self.policy.row_filter(actor, entity.name, action)
                    )
                ).first()
                if allowed is None:
                    raise Forbidden(
                        f"not allowed to {action} this {entity.name}",
                        self.policy.explain(
                            actor,
                            action,
                            entity.name,
                            self.raw_values(entity, row),
                            lookup=self.lookup(c),
                        ),
                    )
            related = page_related(c, self.model, self.tables, entity, [row])
        return self._record(actor, entity, row, flags, related=related)

    def titles(
        self, actor: Actor, entity_name: str, ids: Sequence[Any], *, names_only: bool = False
    ) -> dict[int, str]:
        """Display titles of referenced records the actor may read (one query).

        With `names_only` (authors shown next to content the actor can read) titles are
        resolved without the read filter; only the title field leaves the store.
        """
        entity = self.entity(entity_name)
        wanted = sorted({i for i in (_maybe_int(x) for x in ids) if i is not None})
        if not wanted:
            return {}
        table = self.tables[entity.name]
        title = entity.title_field
        if title and not queryable(entity, title):
            return self._computed_titles(actor, entity, wanted, names_only)
        title_col: sa.ColumnElement[Any] = table.c[title] if title else table.c.id
        if title and not names_only:
            title_col = self._where_readable(actor, entity, title, title_col)
        query = sa.select(table.c.id, title_col.label("title")).where(table.c.id.in_(wanted))
        if not names_only:
            query = query.where(self.policy.row_filter(actor, entity.name, "read"))
        with self._read(None) as c:
            return {
                row.id: entity.title_of({title or "id": row.title, "id": row.id})
                for row in c.execute(query)
            }

    def _computed_titles(
        self, actor: Actor, entity: Entity, ids: builtins.list[int], names_only: bool
    ) -> dict[int, str]:
        """Titles from a virtual title field (computed per record, as the actor reads it)."""
        table = self.tables[entity.name]
        if names_only:
            query = sa.select(*self.columns(entity)).where(table.c.id.in_(ids))
            with self._read(None) as c:
                rows = c.execute(query).mappings().all()
            out = {}
            for row in rows:
                values = self.raw_values(entity, row)
                values.update(compute_virtual(entity, values, actor))
                out[int(row["id"])] = entity.title_of(values)
            return out
        flags = self._flags(actor, entity)
        query = sa.select(
            *self.columns(entity), *(f.label(f"_g{i}") for i, (_, f) in enumerate(flags))
        ).where(table.c.id.in_(ids), self.policy.row_filter(actor, entity.name, "read"))
        with self._read(None) as c:
            rows = c.execute(query).mappings().all()
        return {
            int(row["id"]): entity.title_of(self._record(actor, entity, row, flags).values)
            for row in rows
        }

    def autocomplete(
        self, actor: Actor, entity_name: str, text: str, *, limit: int = 20
    ) -> builtins.list[tuple[int, str]]:
        """(id, title) pairs of readable records matching `text`, for ref pickers."""
        entity = self.entity(entity_name)
        title = entity.title_field
        page = self.list(
            actor,
            entity_name,
            search=text or None,
            full_text=False,  # what is typed so far: a substring, not whole words
            page_size=min(limit, 50),
            count=False,
            sort=title if title and queryable(entity, title) else "id",
        )
        return [(r.id, entity.title_of(r.values)) for r in page.records]

    # -- internals ----------------------------------------------------------------------
    def _flags(
        self, actor: Actor, entity: Entity
    ) -> builtins.list[tuple[Any, sa.ColumnElement[Any]]]:
        if not self.policy.masks_differ(actor, entity.name, "read"):
            return []
        return self.policy.grant_flags(actor, entity.name, "read")

    def _record(
        self,
        actor: Actor,
        entity: Entity,
        row: Mapping[Any, Any],
        flags: builtins.list[tuple[Any, sa.ColumnElement[Any]]],
        mask: frozenset[str] | None = None,
        fields: Sequence[str] | None = None,
        related: Related | None = None,
    ) -> Record:
        if flags:
            grants = [g for i, (g, _) in enumerate(flags) if row[f"_g{i}"]]
            mask = self.policy.fields_of_grants(entity.name, grants)
        elif mask is None:
            mask = self.policy.field_mask(actor, entity.name, "read")
        values = self.to_values(entity, row, mask)
        return self._computed(actor, entity, values, mask, fields, related)

    def _selected(
        self, entity: Entity, mask: frozenset[str], keys: Any
    ) -> tuple[tuple[str, Any, Any], ...]:
        """(name, field, loader) of the masked fields whose column a row of `keys` has — what
        `to_values` reads from each row."""
        return tuple(
            (name, field, load)
            for name, field, column, load in self._loaders[entity.name]
            if name in mask and column in keys
        )

    def _computed(
        self,
        actor: Actor,
        entity: Entity,
        values: dict[str, Any],
        mask: frozenset[str],
        fields: Sequence[str] | None,
        related: Related | None = None,
    ) -> Record:
        wanted = wanted_virtual(entity, mask, fields)
        if wanted:
            # computed from the fields this actor may read on this row, never from hidden ones
            extra = related(values) if related is not None else None
            computed = compute_virtual(entity, values, actor, extra)
            values.update({n: computed[n] for n in wanted if n in computed})
        return Record(entity.name, values)

    def _count(
        self, conn: sa.Connection, table: sa.Table, where: sa.ColumnElement[bool], limit: int
    ) -> tuple[int, bool]:
        inner = sa.select(table.c.id).where(where).limit(limit + 1).subquery()
        return _bounded(
            int(conn.execute(sa.select(sa.func.count()).select_from(inner)).scalar_one()), limit
        )

    def _read(self, conn: sa.Connection | None) -> Any:
        # a caller's connection is lent, not closed
        return nullcontext(conn) if conn is not None else self.engine.connect()

    def write(self) -> Any:
        """A write transaction (BEGIN IMMEDIATE on SQLite)."""
        return begin_write(self.engine)


def _bounded(counted: int, limit: int) -> tuple[int, bool]:
    """(total, exact) of a count that stopped after `limit` + 1 rows."""
    return (limit, False) if counted > limit else (counted, True)
