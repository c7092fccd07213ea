"""Computed fields must not show readers what their grants hide.

A computed field is shown to everyone whose read grant lets it through, but its expression
reads other fields. When a grant shows the computed field and hides a field the expression
reads, the computed value would carry the hidden one to that reader (``compute:
"str(record['assignee'])"`` shows the assignee to a role that may not read it).

- A **stored** computed field is evaluated when the record is written, on the whole record,
  so the leak is real: an error (`computed-reads-hidden`).
- A **`stored: sql`** field is evaluated by the database on the whole row (and can be
  filtered and sorted by), so the leak is as real: an error.
- A **virtual** field is evaluated on the reader's masked record (the record store never
  hands it a hidden field), so it cannot leak; for those readers it is computed without the
  hidden field, which is almost certainly not what was meant: a warning.

An expression that reads `record` other than by constant keys (``str(record)``, a loop over
it, a computed key) may depend on every field of the entity.
"""

from __future__ import annotations

from ...problems import Severity
from ..model import SYSTEM_COLUMNS, Entity, PortalModel
from .base import Ctx


def check_computed_exposure(ctx: Ctx, model: PortalModel) -> None:
    """Report computed fields readable under a grant that hides a field they read."""
    for entity in model.entities.values():
        read_grants = [g for g in entity.grants if "read" in g.actions]
        for name, needs in _dependencies(entity).items():
            # a stored or SQL-computed value is computed from the whole row, hidden fields too
            field = entity.fields[name]
            stored = field.stored or field.sql
            for grant in read_grants:
                if not grant.allows_field(name):
                    continue
                hidden = sorted(d for d in needs if not grant.allows_field(d))
                if not hidden:
                    continue
                roles = ", ".join(sorted(grant.roles))
                listed = ", ".join(hidden)
                if stored:
                    message = (
                        f"{entity.name}.{name} is computed from {listed}, which "
                        f"{grant.describe()} hides from {roles}; the "
                        f"{'value the database computes' if field.sql else 'stored value'} "
                        "would show it"
                    )
                else:
                    message = (
                        f"virtual field {entity.name}.{name} reads {listed}, which "
                        f"{grant.describe()} hides from {roles}; for them it is computed "
                        "without it"
                    )
                ctx.add(
                    "computed-reads-hidden",
                    message,
                    ("entities", entity.name, "fields", name, "compute"),
                    f"hide {name} from that grant too (fields: {{except: [{name}]}}), or compute "
                    "it only from fields the grant lets through",
                    severity=Severity.ERROR if stored else Severity.WARNING,
                )


def check_related_exposure(ctx: Ctx, model: PortalModel) -> None:
    """Report computed fields that read a referenced record's field (`record.product.cost`)
    for readers who may not read that field of that entity under any grant.

    The engine reads related records with its own rights, so whether the field reaches the
    reader is decided here, for stored and virtual fields alike: an error.
    """
    for entity in model.entities.values():
        read_grants = [g for g in entity.grants if "read" in g.actions]
        for name, field in entity.fields.items():
            if field.compute is None:
                continue
            for key in sorted(k for k in field.compute.record_keys if "." in k):
                target, target_field = _resolve(model, entity, key)
                if target is None:
                    continue
                for grant in read_grants:
                    if not grant.allows_field(name) or not grant.allows_field(key.split(".")[0]):
                        continue  # hidden ones are `check_computed_exposure`'s business
                    blind = sorted(
                        role
                        for role in grant.roles
                        if not _may_read(model, target, target_field, role)
                    )
                    if not blind:
                        continue
                    ctx.add(
                        "computed-reads-hidden",
                        f"{entity.name}.{name} reads {key}, but {', '.join(blind)} may not "
                        f"read {target.name}.{target_field}; {grant.describe()} would show it "
                        "to them through this field",
                        ("entities", entity.name, "fields", name, "compute"),
                        f"grant read on {target.name} with {target_field} to them, or hide "
                        f"{name} from that grant (fields: {{except: [{name}]}})",
                    )


def _resolve(model: PortalModel, entity: Entity, key: str) -> tuple[Entity | None, str]:
    """The entity and field at the end of the related path `key`."""
    *refs, last = key.split(".")
    current: Entity | None = entity
    for ref in refs:
        field = current.fields.get(ref) if current is not None else None
        target = getattr(field.config, "to", None) if field is not None else None
        current = model.entities.get(str(target)) if target else None
    return current, last


def _may_read(model: PortalModel, target: Entity, field: str, role: str) -> bool:
    """True when some read grant of `target` gives `role` (or a role it inherits) `field`."""
    known = model.roles.get(role)
    closure = known.closure if known is not None else frozenset({role})
    return any(
        "read" in g.actions and (set(g.roles) & closure) and g.allows_field(field)
        for g in target.grants
    )


def _dependencies(entity: Entity) -> dict[str, frozenset[str]]:
    """The fields each computed field of `entity` reads (every field for whole-record reads)."""
    out: dict[str, frozenset[str]] = {}
    for name, field in entity.fields.items():
        expr = field.compute
        if expr is None:
            continue
        if expr.whole_record:
            needs = frozenset(entity.fields) - {name}
        else:
            heads = {key.split(".", 1)[0] for key in expr.record_keys}  # product.x needs product
            needs = frozenset(heads & set(entity.fields)) - set(SYSTEM_COLUMNS)
        if needs:
            out[name] = needs
    return out
