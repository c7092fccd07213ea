"""Values computed from a record: `compute` fields (stored or virtual) and expression defaults.

- A stored computed field is recomputed on every write; an expression that fails refuses the
  write with a field error.
- A virtual field (`compute` with `stored: false`) has no column: it is computed whenever a
  record is read, for the reading actor, and is never written, filtered, sorted or searched.
- A live field (`stored: sql`) has no column either: the database computes it with the row
  (`sql_compute`), so reads take its value from the row; it is computed here only for a
  record being written (its rules may read it).
  A failing expression shows as no value (and a log line), never as an error page.
- `default: {expr: ...}` is evaluated when a record is created, for the fields the input does
  not give, seeing the values so far and the creating actor.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

from ..definition.fields import FieldValueError
from ..definition.model import Entity
from ..expr.expressions import EvaluationError
from .errors import FieldMessage
from .permissions import Actor

log = logging.getLogger(__name__)

Errors = dict[str, list[FieldMessage]]


def virtual_fields(entity: Entity) -> tuple[str, ...]:
    """Names of the entity's virtual fields (no column)."""
    return tuple(name for name, f in entity.fields.items() if not f.stored)


def queryable(entity: Entity, name: str) -> bool:
    """False for virtual fields: there is no column to filter, sort, search or sum."""
    field = entity.fields.get(name)
    return field is not None and field.stored


def virtual_reads(
    entity: Entity, mask: Collection[str] | None = None, fields: Collection[str] | None = None
) -> frozenset[str]:
    """The related paths (`product.unit_price`) the virtual fields read — those of `fields`
    (all when None) — limited to those whose reference is in `mask` (a reader who may not
    read `product` gets none of it)."""
    return frozenset(
        key
        for name, field in entity.fields.items()
        if not field.stored and field.compute is not None
        if fields is None or name in fields
        for key in field.compute.record_keys
        if "." in key and (mask is None or key.split(".", 1)[0] in mask)
    )


def compute_virtual(
    entity: Entity,
    values: Mapping[str, Any],
    actor: Actor | None,
    related: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The virtual fields of a record from its raw values, as `actor` reads them.

    Each one sees the stored values, the virtual fields declared before it and `related`
    (the referenced records' fields it reads), which never become part of the record.
    """
    scope = {**values, **(related or {})}
    out: dict[str, Any] = {}
    for name, field in entity.fields.items():
        if field.stored or field.compute is None:
            continue
        if field.sql:  # read with the row, computed by the database (absent: masked)
            if name in values:
                out[name] = values[name]
            continue
        try:
            value = field.kind.clean(field, field.compute.evaluate(record=scope, actor=actor))
        except (EvaluationError, FieldValueError) as exc:
            log.warning(
                "virtual field %s.%s of #%s could not be computed: %s",
                entity.name,
                name,
                values.get("id"),
                exc,
            )
            value = None
        scope[name] = out[name] = value
    return out


def compute_fields(
    entity: Entity, merged: dict[str, Any], actor: Actor | None, errors: Errors
) -> None:
    """Fill every computed field of a record being written, in definition order.

    Stored ones are cleaned by their type and an expression failure is a field error;
    virtual ones are filled too (rules may read them) but never refuse the write.
    """
    for name, field in entity.fields.items():
        if field.compute is None:
            continue
        try:
            merged[name] = field.kind.clean(
                field, field.compute.evaluate(record=merged, actor=actor)
            )
        except (EvaluationError, FieldValueError) as exc:
            if not field.stored:
                merged[name] = None
                continue
            errors.setdefault(name, []).append(
                FieldMessage(
                    "expression-failed", "could not be computed: {error}", {"error": str(exc)}
                )
            )


def apply_defaults(
    entity: Entity,
    merged: dict[str, Any],
    given: Collection[str],
    actor: Actor | None,
    errors: Errors | None = None,
) -> None:
    """Evaluate `default: {expr: ...}` for fields not in `given`, in definition order.

    Each expression sees the values so far (`record`) and `actor`; the result is cleaned by
    the field type. Failures become field errors in `errors`, or leave the field empty when
    `errors` is None (a form showing its first values).
    """
    for name, field in entity.fields.items():
        if field.default_expr is None or name in given:
            continue
        if errors is None and not field.default_expr.record_keys <= merged.keys():
            # a form's first values hold no related fields or lookups: nothing to compute yet
            merged[name] = None
            continue
        try:
            value = field.default_expr.evaluate(record=dict(merged), actor=actor)
            merged[name] = field.kind.clean(field, value)
        except (EvaluationError, FieldValueError) as exc:
            merged[name] = None
            if errors is not None:
                errors.setdefault(name, []).append(
                    FieldMessage(
                        "expression-failed",
                        "the default could not be computed: {error}",
                        {"error": str(exc)},
                    )
                )
