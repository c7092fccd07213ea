"""Renamed choice options (workflow states) in a migration plan: the records that still hold
an old value move to the new one, in the deploy's transaction.

Planning counts, per `ValueRename`, the records of the live table holding the old value (under
the column's live name, which a field rename in the same plan changes later): a rename no
record needs — already deployed, or a new field — is no step at all, so keeping
`renamed_from` in later versions is harmless.

Applying a step changes three things, all in the caller's transaction:

- the records: `UPDATE … SET <field> = new, version = version + 1 WHERE <field> = old` (the
  version bump makes a form opened before the deploy report a conflict instead of writing
  over the move; `updated_at` is left alone, the record's content did not change);
- the audit log, which is append-only: one `update` entry per moved record with the change
  `[old, new]` and `via: deploy`, so the record's history tells why its state changed
  (nothing is rewritten; the entries before keep the name the state had then);
- queued workflow timers of the state, whose jobs carry the state name they wait on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from ..data.system_tables import audit, jobs
from ..data.tables import utcnow
from ..definition.fieldtypes import ChoiceConfig
from ..flow.timers import TIMER_JOB
from ..portal import CompiledPortal
from .schema_ops import RENAME_VALUE, SchemaOp, ValueRename

#: The `via` of the audit entries a moved record gets.
VIA = "deploy"


def declared(portal: CompiledPortal) -> tuple[ValueRename, ...]:
    """The `renamed_from:` of every choice option of a compiled portal."""
    model = portal.model
    out = []
    for entity in model.entities.values():
        for field in entity.fields.values():
            config = field.config
            if not isinstance(config, ChoiceConfig) or not config.renamed:
                continue
            flows = tuple(w.name for w in model.workflow_for(entity.name) if w.field == field.name)
            for old, new in config.renamed.items():
                out.append(
                    ValueRename(
                        model.slug,
                        entity.name,
                        field.name,
                        entity.table_name,
                        field.columns[0],
                        old,
                        new,
                        "state" if flows else "option",
                        flows,
                    )
                )
    return tuple(out)


def value_ops(
    conn: sa.Connection,
    live: Iterable[str],
    columns: Mapping[str, set[str]],
    renames: Mapping[str, Mapping[str, str]],
    values: Sequence[ValueRename],
) -> list[SchemaOp]:
    """The rename_value steps of `values` against the live tables `live` (`columns`: their
    live column names; `renames`: the plan's column renames, table → {new: old})."""
    tables = set(live)
    ops = []
    for spec in values:
        if spec.table not in tables:
            continue  # a new table holds no records
        have = columns.get(spec.table, set())
        column = spec.column
        if column not in have:
            column = (renames.get(spec.table) or {}).get(spec.column, "")
            if column not in have:
                continue  # a new column holds no values
        query = (
            sa.select(sa.func.count())
            .select_from(sa.table(spec.table))
            .where(sa.column(column) == spec.old)
        )
        rows = int(conn.execute(query).scalar_one())
        if rows:
            ops.append(
                SchemaOp(
                    RENAME_VALUE,
                    spec.table,
                    spec.column,
                    detail=f"{spec.what} {spec.entity}.{spec.field}",
                    rows=rows,
                    previous=spec.old,
                    name=spec.new,
                )
            )
    return ops


def fits(conn: sa.Connection, spec: ValueRename) -> bool:
    """True when the live column can hold the new value already (else it is widened first)."""
    for column in sa.inspect(conn).get_columns(spec.table):
        if column["name"] == spec.column:
            length = getattr(column["type"], "length", None)
            return length is None or length >= len(spec.new)
    return True


def move(conn: sa.Connection, spec: ValueRename) -> int:
    """Move the records holding `spec.old` to `spec.new` (see the module docstring); returns
    how many moved."""
    table = sa.table(
        spec.table, sa.column("id"), sa.column(spec.column), sa.column("version", sa.Integer)
    )
    holding = table.c[spec.column] == spec.old
    change = {spec.field: [spec.old, spec.new]}
    detail = {"via": VIA, "renamed": spec.what}
    entries = sa.select(
        sa.literal(spec.portal, sa.String),
        sa.literal(utcnow(), sa.DateTime(timezone=True)),
        sa.literal("update", sa.String),
        sa.literal(spec.entity, sa.String),
        table.c.id,
        sa.literal(change, sa.JSON),
        sa.literal(detail, sa.JSON),
    ).where(holding)
    conn.execute(
        audit.insert().from_select(
            ["portal", "at", "action", "entity", "record_id", "changes", "detail"], entries
        )
    )
    moved = conn.execute(
        sa.update(table)
        .where(holding)
        .values({spec.column: spec.new, "version": table.c.version + 1})
    ).rowcount
    _move_timers(conn, spec)
    return int(moved or 0)


def _move_timers(conn: sa.Connection, spec: ValueRename) -> None:
    """Queued timers waiting on the old state wait on the new one (a timer fires only while
    the record is in the state its job names)."""
    if not spec.workflows:
        return
    rows = conn.execute(
        sa.select(jobs.c.id, jobs.c.payload).where(
            jobs.c.portal == spec.portal, jobs.c.kind == TIMER_JOB, jobs.c.status == "pending"
        )
    ).all()
    for row in rows:
        payload: Any = row.payload
        if (
            isinstance(payload, dict)
            and payload.get("entity") == spec.entity
            and payload.get("workflow") in spec.workflows
            and payload.get("state") == spec.old
        ):
            conn.execute(
                jobs.update()
                .where(jobs.c.id == row.id)
                .values(payload={**payload, "state": spec.new}, updated_at=utcnow())
            )
