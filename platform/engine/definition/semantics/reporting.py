"""Semantic checks of `exchange_rates:` and of the metrics that convert money with it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...problems import JsonPath
from ..exchange_rates import RATE_FIELD_TYPES
from ..fieldtypes.money import known_currency
from .base import Ctx, check_entity_ref, check_field_ref


def check_reporting(ctx: Ctx) -> None:
    """The rate table's entity and fields, and every metric's reporting currency."""
    declared = ctx.data.get("exchange_rates")
    if isinstance(declared, dict):
        _check_declaration(ctx, declared)
    for path, code in _metric_currencies(ctx):
        if _known(ctx, code, path) and not isinstance(declared, dict):
            ctx.add(
                "metric-currency",
                f"converting money into {code} needs exchange rates",
                path,
                "declare exchange_rates: {entity: …, currency: …, rate: …, date: …} at the "
                "root, or remove currency: to show one figure per currency",
            )


def _known(ctx: Ctx, code: str, path: JsonPath) -> bool:
    """True for an ISO 4217 code; else a `currency-unknown` problem at `path`."""
    if known_currency(code):
        return True
    ctx.add(
        "currency-unknown",
        f"{code!r} is not an ISO 4217 currency code",
        path,
        "use a three-letter code such as EUR, USD, GBP or CHF",
    )
    return False


def _check_declaration(ctx: Ctx, declared: dict[str, Any]) -> None:
    base: JsonPath = ("exchange_rates",)
    entity = str(declared["entity"])
    if isinstance(declared.get("base"), str):
        _known(ctx, declared["base"], (*base, "base"))
    if not check_entity_ref(ctx, entity, (*base, "entity")):
        return
    fields = ctx.fields_of(entity)
    for role, types in RATE_FIELD_TYPES.items():
        fname = str(declared[role])
        if not check_field_ref(ctx, entity, fname, (*base, role)):
            continue
        spec = fields[fname]
        if spec.get("type") not in types or spec.get("stored") in (False, "sql"):
            fitting = [n for n, f in fields.items() if f.get("type") in types]
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
