"""A seed row's final values: what `deploy --seed` inserts and `validate` checks — defaults,
workflow states, empty rollups, amounts in their record's currency, visibility, required
fields, computed fields and rules — and the unique values the rows take."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..data.computed import apply_defaults, compute_fields
from ..data.currencies import align_given, check_computed
from ..data.errors import NON_FIELD, FieldMessage
from ..data.permissions import Actor
from ..data.rollup_sql import empty_value
from ..definition.model import Entity, PortalModel
from ..expr.expressions import EvaluationError
from ..problems import JsonPath
from .seed_plan import RowKey, SeedRow

#: Loads the referenced records' fields an entity's expressions read into a row's values.
RelatedLoader = Callable[[Entity, dict[str, Any]], None]


def finish(
    model: PortalModel,
    row: SeedRow,
    ids: Mapping[RowKey, int],
    actor: Actor,
    related: RelatedLoader | None = None,
) -> dict[str, Any] | None:
    """The row's values as they would be inserted (references as `ids`), after defaults,
    workflow states, visibility, required fields, computed fields and rules; None (and
    problems on the row) when it fails. `related` loads what `record.ref.field` reads."""
    if row.problems:
        return None
    entity = model.entities[row.entity]
    values: dict[str, Any] = {n: f.default for n, f in entity.fields.items()}
    for wf in model.workflow_for(entity.name):
        values[wf.field] = wf.initial
    values.update(row.values)
    for name, target in row.refs.items():
        if name != "created_by":
            values[name] = ids[target]
    for wf in model.workflow_for(entity.name):
        if values.get(wf.field) is None:
            values[wf.field] = wf.initial
    for name, fld in entity.fields.items():
        if fld.rollup is not None:
            values[name] = empty_value(fld)  # recomputed after seeding
    errors: dict[str, list[FieldMessage]] = {}
    if related is not None and entity.reads:
        related(entity, values)
    apply_defaults(entity, values, row.given.keys(), actor, errors)
    if related is not None and entity.reads:
        related(entity, values)  # a default may have chosen a reference
    align_given(entity, values, row.given, errors, creating=True)
    _rules(model, entity, values, actor, errors)
    check_computed(entity, values, errors)
    for key in entity.reads:
        values.pop(key, None)
    for name, messages in errors.items():
        path: JsonPath = () if name == NON_FIELD else (name,)
        for message in messages[:1]:  # one problem per field: the first is the cause
            row.fail(_text(name, message), path if name in row.given else ())
    return None if row.problems else values


def _text(name: str, message: FieldMessage) -> str:
    if name == NON_FIELD or message.code == "required":
        return message.text()
    return f"{name}: {message.text()}"


def _rules(
    model: PortalModel,
    entity: Entity,
    values: dict[str, Any],
    actor: Actor,
    errors: dict[str, list[FieldMessage]],
) -> None:
    """What a create checks after cleaning: visibility, required fields, computed fields,
    rules (as `RecordStore.prepare` does, without permissions)."""
    for name, fld in entity.fields.items():
        try:
            if fld.visible_when is not None and not fld.visible_when.test(
                record=values, actor=actor
            ):
                values[name] = None
                continue
            needed = fld.required or (
                fld.required_when is not None
                and bool(fld.required_when.test(record=values, actor=actor))
            )
        except EvaluationError as exc:
            errors.setdefault(name, []).append(_failed(exc))
            continue
        if needed and fld.kind.is_empty(values.get(name)) and name not in errors:
            errors.setdefault(name, []).append(
                FieldMessage("required", f"{entity.name} needs {name!r}")
            )
    compute_fields(entity, values, actor, errors)
    for rule in entity.rules:
        try:
            ok = rule.check.test(record=values, actor=actor)
        except EvaluationError as exc:
            errors.setdefault(NON_FIELD, []).append(_failed(exc))
            continue
        if not ok:
            text = rule.message.get(model.default_locale, model.default_locale)
            errors.setdefault(NON_FIELD, []).append(
                FieldMessage("rule", f"a rule of {entity.name} fails: {text}")
            )


def _failed(exc: EvaluationError) -> FieldMessage:
    where = f" ({exc.origin})" if exc.origin else ""
    return FieldMessage("expression-failed", f"an expression failed{where}: {exc}")


class UniqueValues:
    """Values of unique fields taken by the seed rows so far (the database's own unique
    index catches values taken before)."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str, str], SeedRow] = {}

    def take(self, model: PortalModel, row: SeedRow, values: Mapping[str, Any]) -> bool:
        """Record the row's unique values; False (and a problem) when one is taken."""
        entity = model.entities[row.entity]
        ok = True
        for name, fld in entity.fields.items():
            value = values.get(name)
            if not fld.unique or value is None:
                continue
            slot = (entity.name, name, repr(value))
            other = self.seen.setdefault(slot, row)
            if other is not row:
                pos = other.source.locate(other.path)
                row.fail(
                    f"{name}: {value} is already used by the row at {pos.file}:{pos.line}",
                    (name,) if name in row.given else (),
                )
                ok = False
        return ok
