"""The checks and compile step of the `metrics` block's options (one KPI per list item).

A metric names an entity, what it computes (`aggregate:` over `field:`), which records count
(`where:`), how they group (`group_by:` a field, or `{field, by}` periods of a date field),
how it shows (`chart:`, `display:`) and, for money, the currency it reports in (`currency:`,
checked against `exchange_rates:` by the root-level check in `semantics.reporting`).
"""

from __future__ import annotations

from typing import Any

from ..problems import JsonPath
from .block_configs import Metric, MetricsBlock
from .sections import SectionContext
from .semantics.derived import ORDERABLE, SUMMABLE
from .values import Label

#: Field types each aggregate takes (count takes none): the same as a rollup's.
AGGREGATABLE: dict[str, tuple[str, ...]] = {
    "sum": SUMMABLE,
    "avg": SUMMABLE,
    "min": ORDERABLE,
    "max": ORDERABLE,
}
#: Field types that group into time periods.
TEMPORAL = ("date", "datetime")


def check_metrics(metrics: list[dict[str, Any]], path: JsonPath, ctx: SectionContext) -> None:
    """Each metric's entity, aggregated field, filters and grouping."""
    for i, metric in enumerate(metrics):
        mpath: JsonPath = (*path, i)
        entity = str(metric.get("entity"))
        if not ctx.check_entity(entity, (*mpath, "entity")):
            continue
        _check_field(metric, entity, mpath, ctx)
        for key, value in (metric.get("where") or {}).items():
            wpath: JsonPath = (*mpath, "where", key)
            if not ctx.check_field(entity, key, wpath, need="filterable"):
                continue
            error = ctx.value_problem(entity, key, value)
            if error is not None:
                ctx.problem(
                    "block-option",
                    f"{value!r} is not a valid {entity}.{key}: {error}",
                    wpath,
                    "this metric would count no record",
                )
        _check_group(metric.get("group_by"), entity, (*mpath, "group_by"), ctx)


def _check_field(metric: dict[str, Any], entity: str, mpath: JsonPath, ctx: SectionContext) -> None:
    aggregate = str(metric.get("aggregate", "count"))
    fname = metric.get("field")
    if aggregate == "count":
        if metric.get("currency") is not None:
            ctx.problem(
                "block-option",
                "currency: converts money, and a count is a number",
                (*mpath, "currency"),
                "remove currency:, or sum a money field",
            )
        return
    if fname is None:
        ctx.problem("block-option", f"{aggregate} needs field:", mpath, "name the field to use")
        return
    if not ctx.check_field(entity, fname, (*mpath, "field")):
        return
    ftype = ctx.fields_of(entity)[fname].get("type")
    allowed = AGGREGATABLE[aggregate]
    if ftype not in allowed:
        ctx.problem(
            "block-option",
            f"cannot {_verb(aggregate)} {fname!r} ({ftype})",
            (*mpath, "field"),
            f"{aggregate} takes {', '.join(allowed)} fields",
        )
    elif metric.get("currency") is not None and ftype != "money":
        ctx.problem(
            "block-option",
            f"currency: converts money, and {fname!r} is {ftype}",
            (*mpath, "currency"),
            "remove currency:, or aggregate a money field",
        )


def _verb(aggregate: str) -> str:
    return {"avg": "average", "min": "take the minimum of", "max": "take the maximum of"}.get(
        aggregate, aggregate
    )


def _check_group(group: Any, entity: str, gpath: JsonPath, ctx: SectionContext) -> None:
    if isinstance(group, str):
        ctx.check_field(entity, group, gpath, need="filterable")
    elif isinstance(group, dict):
        fname = str(group["field"])
        if ctx.check_field(entity, fname, (*gpath, "field")):
            ftype = ctx.fields_of(entity)[fname].get("type")
            if ftype not in TEMPORAL:
                ctx.problem(
                    "block-option",
                    f"{fname!r} ({ftype}) has no periods to group by",
                    (*gpath, "field"),
                    "group a date or datetime field by period, or write group_by: "
                    f"{fname} to group by its values",
                )


def compile_metrics(metrics: list[dict[str, Any]]) -> MetricsBlock:
    """The runtime's `MetricsBlock` (a grouped metric charts as bars unless told otherwise)."""
    return MetricsBlock(tuple(_metric(m) for m in metrics))


def _metric(m: dict[str, Any]) -> Metric:
    group = m.get("group_by")
    field, bucket = (group["field"], group["by"]) if isinstance(group, dict) else (group, None)
    return Metric(
        label=Label.of(m["label"]),
        entity=m["entity"],
        aggregate=m.get("aggregate", "count"),
        field=m.get("field"),
        group_by=field,
        chart=m.get("chart", "bar" if group else "none"),
        where=tuple((m.get("where") or {}).items()),
        bucket=bucket,
        display=m.get("display", "card"),
        currency=m.get("currency"),
    )
