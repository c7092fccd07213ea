"""The aggregate reads of the record store (`ReadStore` inherits them): figures for
dashboards, through the same WHERE and field masks as every list (`aggregates`), and money
converted into a reporting currency (`exchange`)."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ..definition.fieldtypes.money import Money
from ..definition.model import Entity
from .aggregates import AggregateSpec, Part, aggregate_select, finish, read_parts
from .errors import BadQuery, NotFound
from .exchange import Converted, RateBook, convert, rate_book, rates_select
from .permissions import Actor
from .query import RecordQuery
from .rollup_sql import currency_of


class MetricReads(RecordQuery):
    """count/sum/avg/min/max over what an actor may read (one SELECT per figure)."""

    engine: sa.Engine

    def entity(self, name: str) -> Entity:
        """The entity `name` or NotFound."""
        entity = self.model.entities.get(name)
        if entity is None:
            raise NotFound(f"no entity {name!r}")
        return entity

    def _read(self, conn: sa.Connection | None) -> Any:
        raise NotImplementedError

    def aggregate(
        self,
        actor: Actor,
        entity_name: str,
        *,
        function: str = "count",
        field: str | None = None,
        group_by: str | None = None,
        bucket: str | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> builtins.list[tuple[Any, Any]]:
        """count/sum/avg/min/max of `field` over the readable records matching `where`,
        optionally grouped by `group_by` (by its time buckets with `bucket`): [(group or None,
        value)], in group order. Money comes back as one `Money` per group and currency."""
        spec = AggregateSpec(function, field, group_by, bucket, where)
        entity = self.entity(entity_name)
        parts = self._aggregate_parts(actor, entity, spec)
        return finish(parts, spec, entity, self._currency(entity, field))

    def aggregate_in(
        self,
        actor: Actor,
        entity_name: str,
        currency: str,
        *,
        function: str = "sum",
        field: str,
        group_by: str | None = None,
        bucket: str | None = None,
        where: Mapping[str, Any] | None = None,
        today: date | None = None,
    ) -> Converted:
        """A money aggregate converted into `currency` with the portal's exchange rates, at
        each bucket's first day (else `today`): one SELECT for the figures and, when another
        currency is involved, one for the rates."""
        declared = self.model.exchange_rates
        if declared is None:
            raise BadQuery("no exchange_rates are declared")
        spec = AggregateSpec(function, field, group_by, bucket, where)
        entity = self.entity(entity_name)
        money = entity.fields.get(field)
        if money is None or money.type != "money":
            raise BadQuery(f"{field!r} is not money")
        parts = self._aggregate_parts(actor, entity, spec)
        on = today or date.today()

        def day_of(group: Any) -> date:
            return group if bucket is not None and isinstance(group, date) else on

        foreign = {p.currency for p in parts if p.currency not in (None, currency)}
        book = RateBook(declared.base)
        if foreign:
            wanted = {*foreign, currency} - {declared.base}
            query = rates_select(
                self, actor, declared, wanted, max(map(day_of, {p.group for p in parts}))
            )
            if query is not None:
                with self._read(None) as c:
                    book = rate_book(declared.base, c.execute(query))
        result = convert(parts, function, currency, book, day_of)
        if group_by is None and not result.rows:
            empty = Money(Decimal(0), currency) if function == "sum" else None
            return Converted([(None, empty)], result.missing)
        return result

    def _aggregate_parts(
        self, actor: Actor, entity: Entity, spec: AggregateSpec
    ) -> builtins.list[Part]:
        query = aggregate_select(self, actor, entity, self.engine.dialect.name, spec)
        with self._read(None) as c:
            return read_parts(c.execute(query), spec)

    def _currency(self, entity: Entity, field: str | None) -> str:
        spec = entity.fields.get(field or "")
        return currency_of(spec) if spec is not None else self.model.currency
