"""Validation of `stored: sql` fields: each expression must compile to SQL (`compute-not-sql`).

Run on the compiled model, since the SQL compiler (`data.sql_compute`) needs the field types,
decimal places and the order of the fields; the problem is located in the expression text.
"""

from __future__ import annotations

from ..data.sql_compute import sql_problems
from ..definition.compiler import add_located
from ..definition.model import PortalModel
from ..definition.semantics.base import Ctx


def check_sql_fields(ctx: Ctx, model: PortalModel) -> None:
    """Report every `stored: sql` field whose expression has no exact SQL form."""
    for entity in model.entities.values():
        for name, exc in sql_problems(model.entities, entity).items():
            compute = entity.fields[name].compute
            assert compute is not None
            add_located(
                ctx, exc, compute.source, ("entities", entity.name, "fields", name, "compute")
            )
