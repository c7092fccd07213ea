"""Declared lookups: the first record of another entity that matches a record, as a value.

A B2B price is "the negotiated price of this account for this product, valid today, else the
list price". An entity declares the lookup once::

    order_line:
      lookups:
        negotiated_price:
          from: price_agreement
          match: {account: order.account, product: product}
          valid: [valid_from, valid_to]
          order_by: -valid_from
          value: price
      fields:
        price: {type: money, default: {expr: "record.negotiated_price or record.product.list_price"}}

`match` pairs a field of the looked-up entity with a field (or related path) of this record;
`where` adds literal conditions; `valid` names the date fields that bound the day the record
is written (a missing end is open); `order_by` picks the first of several matches (default:
the newest); `value` is the field returned. Expressions read it as `record.<lookup>` where
they may read referenced records (compute, defaults, rule checks); it is None when nothing
matches. The record store reads the candidates with the engine's rights, in one query per
lookup for a whole batch of records.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..problems import JsonPath
from .semantics.base import Ctx, suggest


@dataclass(frozen=True, slots=True)
class Lookup:
    """A compiled lookup (see the module docstring)."""

    name: str
    entity: str
    match: tuple[tuple[str, str], ...]
    value: str
    where: tuple[tuple[str, Any], ...] = ()
    valid: tuple[str, ...] = ()
    order_by: str = "-id"

    @property
    def paths(self) -> tuple[str, ...]:
        """The fields and related paths of the record the lookup matches on."""
        return tuple(path for _, path in self.match)


def compile_lookups(raw: Mapping[str, Any] | None) -> dict[str, Lookup]:
    """An entity's `lookups:` (checked by `check_lookups`)."""
    found = {}
    for name, spec in (raw or {}).items():
        valid = spec.get("valid") or ()
        found[name] = Lookup(
            name=name,
            entity=str(spec["from"]),
            match=tuple((str(k), str(v)) for k, v in (spec.get("match") or {}).items()),
            value=str(spec["value"]),
            where=tuple((spec.get("where") or {}).items()),
            valid=(str(valid),) if isinstance(valid, str) else tuple(str(v) for v in valid),
            order_by=str(spec.get("order_by") or "-id"),
        )
    return found


def check_lookups(ctx: Ctx) -> None:
    """Every entity's `lookups:`: entity, fields, types and paths exist and fit."""
    for entity, spec in ctx.entities.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("lookups"), dict):
            continue
        for name, lookup in spec["lookups"].items():
            path: JsonPath = ("entities", entity, "lookups", name)
            if name in ctx.fields_of(entity):
                ctx.add(
                    "lookup-invalid",
                    f"lookup {name!r} has the name of a field of {entity}",
                    path,
                    "give the lookup its own name, e.g. negotiated_price",
                )
            for message, where, hint in _problems(ctx, entity, lookup):
                ctx.add("lookup-invalid", message, (*path, *where), hint)


def _problems(
    ctx: Ctx, entity: str, spec: Mapping[str, Any]
) -> Iterator[tuple[str, JsonPath, str]]:
    target = str(spec.get("from"))
    if target not in ctx.entities:
        yield f"no entity {target!r} to look up", ("from",), suggest(target, ctx.entities)
        return
    theirs = ctx.fields_of(target)
    for key, source in (spec.get("match") or {}).items():
        ours = _field_at(ctx, entity, str(source))
        if key not in theirs:
            yield f"{target} has no field {key!r}", ("match", key), suggest(key, theirs)
        elif ours is None:
            yield (
                f"{entity} has no field or reference path {source!r}",
                ("match", key),
                "name a field of this record, or a path such as order.account",
            )
        elif not _same_kind(theirs[key], ours):
            yield (
                f"{target}.{key} ({_kind(theirs[key])}) cannot match {source} ({_kind(ours)})",
                ("match", key),
                "match a reference with a reference to the same entity, a value with a value "
                "of the same type",
            )
    for key in spec.get("where") or {}:
        if key not in theirs:
            yield f"{target} has no field {key!r}", ("where", key), suggest(key, theirs)
    valid = spec.get("valid") or ()
    for index, key in enumerate([valid] if isinstance(valid, str) else valid):
        field = theirs.get(key)
        if not isinstance(field, dict) or field.get("type") != "date":
            yield (
                f"valid: {target}.{key} is not a date field",
                ("valid", index) if not isinstance(valid, str) else ("valid",),
                "name the date the match starts to hold, and optionally the date it ends",
            )
    order = str(spec.get("order_by") or "-id").lstrip("-")
    if order not in theirs and order not in ("id", "created_at", "updated_at"):
        yield f"{target} has no field {order!r} to order by", ("order_by",), suggest(order, theirs)
    value = str(spec.get("value"))
    field = theirs.get(value)
    if not isinstance(field, dict):
        yield f"{target} has no field {value!r}", ("value",), suggest(value, theirs)
    elif field.get("stored") is False:
        yield (
            f"{target}.{value} is computed when read and cannot be looked up",
            ("value",),
            "return a stored field",
        )


def _field_at(ctx: Ctx, entity: str, path: str) -> Mapping[str, Any] | None:
    """The raw spec of the field at `path` (own field or ref path), None if there is none."""
    *refs, last = path.split(".")
    current = entity
    for ref in refs:
        spec = ctx.fields_of(current).get(ref)
        if not isinstance(spec, dict) or spec.get("type") != "ref":
            return None
        current = str(spec.get("to"))
    found = ctx.fields_of(current).get(last)
    if found is None and last == "id":
        return {"type": "ref", "to": current}
    return found if isinstance(found, dict) else None


def _kind(spec: Mapping[str, Any]) -> str:
    return f"ref to {spec.get('to')}" if spec.get("type") == "ref" else str(spec.get("type"))


def _same_kind(theirs: Mapping[str, Any], ours: Mapping[str, Any]) -> bool:
    if theirs.get("type") == "ref" or ours.get("type") == "ref":
        return theirs.get("type") == ours.get("type") and theirs.get("to") == ours.get("to")
    return theirs.get("type") == ours.get("type")


def lookup_field(ctx: Ctx, entity: str, name: str) -> Mapping[str, Any] | None:
    """The raw spec of the field a lookup of `entity` returns (None: no such lookup)."""
    raw = ctx.entities.get(entity) or {}
    spec = (raw.get("lookups") or {}).get(name) if isinstance(raw, dict) else None
    if not isinstance(spec, dict):
        return None
    found = ctx.fields_of(str(spec.get("from"))).get(str(spec.get("value")))
    return found if isinstance(found, dict) else None
