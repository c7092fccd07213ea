"""Semantic checks of derived values: rollups, virtual (`stored: false`) fields and expression
defaults, plus the roles of detail-block history panels.

A rollup is kept exact by SQL aggregates over the child table, and a virtual field has no column
at all, so both are checked against every place where the database has to read a field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...problems import JsonPath
from ..fields import FieldValueError
from ..model import SYSTEM_COLUMNS, Field
from ..values import Label
from .base import Ctx, suggest
from .search import searched_fields

#: Field types a rollup can add up; min/max also order dates.
SUMMABLE = ("int", "decimal", "money")
ORDERABLE = (*SUMMABLE, "date", "datetime")
#: The field types that can hold an aggregate of a child field of the given type.
_RESULT_TYPES = {
    "int": ("int", "decimal"),
    "decimal": ("decimal",),
    "money": ("money",),
    "date": ("date",),
    "datetime": ("datetime",),
}


def is_derived(spec: Any) -> bool:
    """True when a raw field's value is computed (compute or rollup), never written."""
    return isinstance(spec, dict) and ("compute" in spec or "rollup" in spec)


def is_virtual(spec: Any) -> bool:
    """True for a raw field declared `stored: false` or `stored: sql` (no column)."""
    return isinstance(spec, dict) and spec.get("stored") in (False, "sql")


def is_sql(spec: Any) -> bool:
    """True for a raw field declared `stored: sql` (computed by the database in each read)."""
    return isinstance(spec, dict) and spec.get("stored") == "sql"


#: What the database can do with a `stored: sql` field: it is selected like a column.
SQL_USES = frozenset(
    {"a filter", "the sort", "a metric's field", "a metric's group", "a metric's filter"}
)


def literal_problem(ctx: Ctx, fname: str, spec: dict[str, Any], value: Any) -> str | None:
    """Why `value` is not a valid value of the raw field `spec` (None when it is, or when the
    field's own options are broken: those are reported by the field's checks)."""
    ftype = ctx.registry.get(str(spec.get("type")))
    if ftype is None:
        return None
    if value is None:
        return "a required field cannot be emptied" if spec.get("required") else None
    options = {k: v for k, v in spec.items() if k in ftype.options_schema}
    try:
        config = ftype.make_config(options, currency=str(ctx.data.get("currency") or "EUR"))
        ftype.clean(Field(fname, ftype.name, Label.of(fname), ftype, config), value)
    except FieldValueError as exc:
        return str(exc)
    except Exception:  # invalid options are reported by the field's own checks
        return None
    return None


def check_derived_fields(ctx: Ctx) -> None:
    """Rollups, virtual fields, expression defaults and history roles of every entity."""
    for name, entity in ctx.entities.items():
        for fname, spec in (entity.get("fields") or {}).items():
            fpath: JsonPath = ("entities", name, "fields", fname)
            _check_exclusive(ctx, spec, fpath)
            if "rollup" in spec:
                _check_rollup(ctx, name, fname, spec, fpath)
            if is_virtual(spec):
                for key in ("unique", "indexed", "required"):
                    if spec.get(key) is True:
                        ctx.add(
                            "virtual-not-queryable",
                            f"a virtual field cannot be {key}",
                            (*fpath, key),
                            f"remove stored: {'sql' if is_sql(spec) else 'false'} to keep the "
                            "value in a column",
                        )
    _check_virtual_uses(ctx)
    _check_rollup_cycles(ctx)


def _check_exclusive(ctx: Ctx, spec: dict[str, Any], fpath: JsonPath) -> None:
    if "compute" in spec and "rollup" in spec:
        ctx.add(
            "field-derived",
            "a field is either computed or rolled up, not both",
            (*fpath, "rollup"),
            "keep compute: for a value of this record, rollup: for an aggregate of children",
        )
    default = spec.get("default")
    if is_derived(spec) and isinstance(default, dict) and set(default) == {"expr"}:
        ctx.add(
            "field-derived",
            "a computed field cannot have an expression default: its value is always derived",
            (*fpath, "default"),
            "remove default:, or drop compute:/rollup: to let the default start the value",
        )


# -- rollups ------------------------------------------------------------------------------
def _check_rollup(ctx: Ctx, entity: str, fname: str, spec: dict[str, Any], fpath: JsonPath) -> None:
    aggregate = spec["rollup"]
    child, _, child_field = str(spec["of"]).partition(".")
    if child not in ctx.entities:
        ctx.add(
            "ref-unknown-entity",
            f"unknown entity {child!r}",
            (*fpath, "of"),
            suggest(child, ctx.entities),
        )
        return
    children = ctx.fields_of(child)
    _check_via(ctx, entity, child, spec["via"], (*fpath, "via"))
    for key, value in (spec.get("where") or {}).items():
        wpath: JsonPath = (*fpath, "where", key)
        if key not in children:
            ctx.add(
                "rollup-where",
                f"{child} has no field {key!r}",
                wpath,
                suggest(key, children),
                key=True,
            )
        elif is_virtual(children[key]):
            ctx.add(
                "virtual-not-queryable",
                f"{child}.{key} is virtual and cannot narrow a rollup",
                wpath,
                key=True,
            )
        elif (error := literal_problem(ctx, key, children[key], value)) is not None:
            ctx.add(
                "rollup-where",
                f"{value!r} is not a valid {child}.{key}: {error}",
                wpath,
                "this rollup would count no child",
            )
    source_type = _rollup_source(ctx, aggregate, child, child_field, (*fpath, "of"))
    if source_type is not None:
        _check_result_type(ctx, aggregate, spec, source_type, child, child_field, fpath)


def _check_via(ctx: Ctx, entity: str, child: str, via: str, path: JsonPath) -> None:
    spec = ctx.fields_of(child).get(via)
    if isinstance(spec, dict) and spec.get("type") == "ref" and spec.get("to") == entity:
        if is_virtual(spec):
            ctx.add("virtual-not-queryable", f"{child}.{via} is virtual", path)
        return
    refs = [
        n
        for n, f in ctx.fields_of(child).items()
        if f.get("type") == "ref" and f.get("to") == entity
    ]
    ctx.add(
        "rollup-via",
        f"via {via!r} is not a ref field of {child} pointing to {entity}",
        path,
        suggest(via, refs) if refs else f"add a field {{type: ref, to: {entity}}} to {child}",
    )


def _rollup_source(
    ctx: Ctx, aggregate: str, child: str, child_field: str, path: JsonPath
) -> str | None:
    """The type aggregated (`count` for a count), or None after reporting a problem."""
    children = ctx.fields_of(child)
    if not child_field:
        if aggregate == "count":
            return "count"
        ctx.add(
            "rollup-type",
            f"a {aggregate} needs the child field to aggregate",
            path,
            f"write of: {child}.<field>",
        )
        return None
    if child_field not in children:
        ctx.add(
            "ref-unknown-field",
            f"{child} has no field {child_field!r}",
            path,
            suggest(child_field, children),
        )
        return None
    spec = children[child_field]
    if is_virtual(spec):
        ctx.add(
            "virtual-not-queryable",
            f"{child}.{child_field} is virtual and cannot be aggregated",
            path,
            "aggregate a stored field",
        )
        return None
    if aggregate == "count":
        return "count"
    ftype = str(spec.get("type"))
    allowed = SUMMABLE if aggregate == "sum" else ORDERABLE
    if ftype not in allowed:
        ctx.add(
            "rollup-type",
            f"cannot {aggregate} {child}.{child_field} ({ftype})",
            path,
            f"{aggregate} works on {', '.join(allowed)} fields",
        )
        return None
    return ftype


def _check_result_type(
    ctx: Ctx,
    aggregate: str,
    spec: dict[str, Any],
    source: str,
    child: str,
    child_field: str,
    fpath: JsonPath,
) -> None:
    own = str(spec.get("type"))
    fits = ("int", "decimal") if source == "count" else _RESULT_TYPES.get(source, ())
    if own not in fits:
        what = "a count" if source == "count" else f"the {aggregate} of a {source} field"
        ctx.add(
            "rollup-type",
            f"{what} does not fit a {own} field",
            (*fpath, "type"),
            f"make this field one of: {', '.join(fits)}",
        )
        return
    if source == "money":
        currency = str(ctx.data.get("currency") or "EUR")
        theirs = ctx.fields_of(child)[child_field].get("currency") or currency
        ours = spec.get("currency") or currency
        # a currency taken from context is only known per record: checked as it is summed
        if isinstance(theirs, str) and isinstance(ours, str) and theirs != ours:
            ctx.add(
                "rollup-type",
                f"{child}.{child_field} is in {theirs}, this field in {ours}",
                (*fpath, "currency"),
                "amounts of different currencies cannot be added up",
            )


def _rollup_edges(ctx: Ctx) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Each rollup field → the child fields its value depends on (aggregated or in where)."""
    edges: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for name, entity in ctx.entities.items():
        for fname, spec in (entity.get("fields") or {}).items():
            if "rollup" not in spec:
                continue
            child, _, child_field = str(spec["of"]).partition(".")
            deps = (
                [child_field, *(spec.get("where") or {})]
                if child_field
                else list(spec.get("where") or {})
            )
            edges[(name, fname)] = [(child, d) for d in deps]
    return edges


def _check_rollup_cycles(ctx: Ctx) -> None:
    edges = _rollup_edges(ctx)
    state: dict[tuple[str, str], int] = {}  # 1 = on the current path, 2 = done
    cyclic: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for start in edges:
        if state.get(start):
            continue
        state[start] = 1
        stack: list[tuple[tuple[str, str], Iterator[tuple[str, str]]]] = [
            (start, iter(edges[start]))
        ]
        while stack:
            node, deps = stack[-1]
            dep = next(deps, None)
            if dep is None:
                state[node] = 2
                stack.pop()
            elif state.get(dep) == 1:
                path = [n for n, _ in stack]
                loop = path[path.index(dep) :]
                for member in loop:
                    cyclic.setdefault(member, loop)
            elif not state.get(dep) and dep in edges:
                state[dep] = 1
                stack.append((dep, iter(edges[dep])))
    for (entity, fname), loop in sorted(cyclic.items()):
        shown = " → ".join(f"{e}.{f}" for e, f in [*loop, loop[0]])
        ctx.add(
            "rollup-cycle",
            f"rollups depend on themselves: {shown}",
            ("entities", entity, "fields", fname, "of"),
            "a rollup cannot aggregate itself, directly or through other rollups",
        )


# -- virtual fields -----------------------------------------------------------------------
def _queried_fields(ctx: Ctx) -> Iterator[tuple[str, str, JsonPath, str]]:
    """(entity, field, path, use) for every place the database reads a field by name."""
    for name, entity in ctx.entities.items():
        base: JsonPath = ("entities", name)
        if isinstance(entity.get("title_field"), str):
            yield name, entity["title_field"], (*base, "title_field"), "the title field"
        if isinstance(entity.get("account_field"), str):
            yield name, entity["account_field"], (*base, "account_field"), "the account field"
        for fname, path in searched_fields(entity, base):
            yield name, fname, path, "a search field"
        for i, grant in enumerate(entity.get("permissions") or []):
            scope = grant.get("scope")
            spath: JsonPath = (*base, "permissions", i, "scope")
            if isinstance(scope, dict) and isinstance(scope.get("parent"), str):
                yield name, scope["parent"], (*spath, "parent"), "a parent scope"
            if isinstance(scope, dict) and isinstance(scope.get("where"), dict):
                for fname in scope["where"]:
                    yield name, fname, (*spath, "where", fname), "a where scope"
    for wname, wf in (ctx.data.get("workflows") or {}).items():
        yield (
            str(wf.get("entity")),
            str(wf.get("field")),
            ("workflows", wname, "field"),
            "a workflow state",
        )
    for page, spec in (ctx.data.get("pages") or {}).items():
        for i, block in enumerate(spec.get("blocks") or []):
            kind, options = next(iter(block.items()))
            bpath: JsonPath = ("pages", page, "blocks", i, kind)
            if kind == "list" and isinstance(options, dict):
                entity_name = str(options.get("entity"))
                for key, use in (("filters", "a filter"), ("search", "a search field")):
                    for j, fname in enumerate(options.get(key) or []):
                        yield entity_name, fname, (*bpath, key, j), use
                sort = str(options.get("sort", "-updated_at")).lstrip("-")
                yield entity_name, sort, (*bpath, "sort"), "the sort"
            elif kind == "metrics" and isinstance(options, list):
                for j, metric in enumerate(options):
                    yield from _metric_fields(metric, (*bpath, j))


def _metric_fields(metric: Any, mpath: JsonPath) -> Iterator[tuple[str, str, JsonPath, str]]:
    """(entity, field, path, use) of the fields a metric aggregates, filters and groups by."""
    if not isinstance(metric, dict):
        return
    entity = str(metric.get("entity"))
    if isinstance(metric.get("field"), str):
        yield entity, metric["field"], (*mpath, "field"), "a metric's field"
    group = metric.get("group_by")
    if isinstance(group, str):
        yield entity, group, (*mpath, "group_by"), "a metric's group"
    elif isinstance(group, dict) and isinstance(group.get("field"), str):
        yield entity, group["field"], (*mpath, "group_by", "field"), "a metric's group"
    for key in metric.get("where") or {}:
        yield entity, str(key), (*mpath, "where", key), "a metric's filter"


def _check_virtual_uses(ctx: Ctx) -> None:
    for entity, fname, path, use in _queried_fields(ctx):
        spec = ctx.fields_of(entity).get(fname)
        if fname in SYSTEM_COLUMNS or not is_virtual(spec):
            continue
        if is_sql(spec):
            if use not in SQL_USES:
                ctx.add(
                    "virtual-not-queryable",
                    f"{entity}.{fname} is computed by the database (stored: sql) and cannot "
                    f"serve as {use}",
                    path,
                    "a stored: sql field can be shown, filtered, sorted and used in metrics; "
                    "store the value (remove stored: sql) for other uses",
                )
            continue
        ctx.add(
            "virtual-not-queryable",
            f"{entity}.{fname} is virtual (stored: false) and cannot serve as {use}",
            path,
            "a virtual field has no column; remove stored: false to store it",
        )
