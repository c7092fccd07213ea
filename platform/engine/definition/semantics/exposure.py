"""Computed fields must not show readers what their grants hide.

A computed field is shown to everyone whose read grant lets it through, but its expression
reads other fields. When a grant shows the computed field and hides a field the expression
reads, the computed value would carry the hidden one to that reader (``compute:
"str(record['assignee'])"`` shows the assignee to a role that may not read it).

- A **stored** computed field is evaluated when the record is written, on the whole record,
  so the leak is real: an error (`computed-reads-hidden`).
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
            stored = entity.fields[name].stored
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
                        f"{grant.describe()} hides from {roles}; the stored value would show it"
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
            needs = frozenset(expr.record_keys & set(entity.fields)) - set(SYSTEM_COLUMNS)
        if needs:
            out[name] = needs
    return out
