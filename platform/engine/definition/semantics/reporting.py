"""Semantic checks of `exchange_rates:` and of the metrics that convert money with it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...problems import JsonPath
from ..exchange_rates import RATE_FIELD_TYPES
from ..fieldtypes.money import known_currency
from .base import Ctx, suggest


def check_reporting(ctx: Ctx) -> None:
    """The rate table's entity and fields, and every metric's reporting currency."""
    declared = ctx.data.get("exchange_rates")
    if isinstance(declared, dict):
        _check_declaration(ctx, declared)
    for path, code in _metric_currencies(ctx):
        if not known_currency(code):
            ctx.add(
                "currency-unknown",
                f"{code!r} is not an ISO 4217 currency code",
                path,
                "use a three-letter code such as EUR, USD, GBP or CHF",
            )
        elif not isinstance(declared, dict):
            ctx.add(
                "metric-currency",
                f"converting money into {code} needs exchange rates",
                path,
                "declare exchange_rates: {entity: …, currency: …, rate: …, date: …} at the "
                "root, or remove currency: to show one figure per currency",
            )


def _check_declaration(ctx: Ctx, declared: dict[str, Any]) -> None:
    base: JsonPath = ("exchange_rates",)
    entity = str(declared["entity"])
    code = declared.get("base")
    if isinstance(code, str) and not known_currency(code):
        ctx.add(
            "currency-unknown",
            f"{code!r} is not an ISO 4217 currency code",
            (*base, "base"),
            "use a three-letter code such as EUR, USD, GBP or CHF",
        )
    if entity not in ctx.entities:
        ctx.add(
            "ref-unknown-entity",
            f"unknown entity {entity!r}",
            (*base, "entity"),
            suggest(entity, ctx.entities),
        )
        return
    fields = ctx.fields_of(entity)
    for role, types in RATE_FIELD_TYPES.items():
        fname = str(declared[role])
        spec = fields.get(fname)
        fitting = [n for n, f in fields.items() if f.get("type") in types]
        if spec is None:
            ctx.add(
                "ref-unknown-field",
                f"{entity} has no field {fname!r}",
                (*base, role),
                suggest(fname, fitting or fields),
            )
        elif spec.get("type") not in types or spec.get("stored") is False:
            ctx.add(
                "exchange-rates-field",
                f"exchange_rates.{role} must name a stored {' or '.join(types)} field; "
                f"{entity}.{fname} is {spec.get('type')}",
                (*base, role),
                f"fitting fields of {entity}: {', '.join(fitting)}"
                if fitting
                else f"add a {types[0]} field to {entity}",
            )


def _metric_currencies(ctx: Ctx) -> Iterator[tuple[JsonPath, str]]:
    """(path, code) of every metric's `currency:`."""
    for page, spec in (ctx.data.get("pages") or {}).items():
        for i, block in enumerate(spec.get("blocks") or []):
            kind, options = next(iter(block.items()))
            if kind != "metrics" or not isinstance(options, list):
                continue
            for j, metric in enumerate(options):
                if isinstance(metric, dict) and isinstance(metric.get("currency"), str):
                    yield ("pages", page, "blocks", i, kind, j, "currency"), metric["currency"]
