"""Parallel approval: `count` different users approve before a transition happens.

Approvals are rows of `portalis_approval`, keyed by record, transition and *round*. The round
is the audit id of the entry that put the record into its current state (`audit.entry_marker`;
0 for records that entered it before the audit log existed, e.g. seed data), so approvals
given during an earlier stay in the state never count after the record left and came back.
One user counts once per round (a unique constraint); the creator of the record never counts
when the transition does not allow self-approval.

Every function works on the caller's connection, inside its transaction: an approval and the
transition it completes commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from ..data import audit
from ..data.permissions import Actor
from ..data.system_tables import approvals
from ..data.system_tables import audit as audit_log
from ..data.tables import utcnow
from ..definition.flow_model import Transition, Workflow
from ..definition.model import Entity
from .workflow_rules import Progress


def current_round(conn: sa.Connection, *, portal: str, entity: str, record_id: int) -> int:
    """The round approvals of the record's current stay in its state belong to."""
    marker = audit.entry_marker(conn, portal=portal, entity=entity, record_id=record_id)
    return marker if marker is not None else 0


def approvers(
    conn: sa.Connection,
    *,
    portal: str,
    entity: str,
    record_id: int,
    transitions: Iterable[str],
    round_: int,
) -> dict[str, list[int]]:
    """Transition name → ids of the users who approved it in `round_` (oldest first)."""
    names = sorted(set(transitions))
    out: dict[str, list[int]] = {name: [] for name in names}
    if not names:
        return out
    rows = conn.execute(
        sa.select(approvals.c.transition, approvals.c.actor_id)
        .where(
            approvals.c.portal == portal,
            approvals.c.entity == entity,
            approvals.c.record_id == record_id,
            approvals.c.round == round_,
            approvals.c.transition.in_(names),
        )
        .order_by(approvals.c.id)
    )
    for name, actor_id in rows:
        out[str(name)].append(int(actor_id))
    return out


def progress_of(
    tr: Transition, record: Mapping[str, Any], approved_by: Iterable[int], actor: Actor
) -> Progress | None:
    """The progress of `tr` given the users who approved it (None without `approvals`)."""
    if tr.approvals is None:
        return None
    creator = record.get("created_by")
    counted = {
        user
        for user in approved_by
        if tr.allow_self_approval or creator is None or user != int(creator)
    }
    mine = actor.id is not None and actor.id in set(approved_by)
    return Progress(len(counted), tr.approvals.count, mine)


def progress_map(
    conn: sa.Connection,
    *,
    portal: str,
    entity: Entity,
    record: Mapping[str, Any],
    transitions: Iterable[Transition],
    actor: Actor,
) -> dict[str, Progress]:
    """Progress of every quorum transition among `transitions` (one query for all)."""
    quorum = [tr for tr in transitions if tr.approvals is not None]
    if not quorum:
        return {}
    record_id = int(record["id"])
    round_ = current_round(conn, portal=portal, entity=entity.name, record_id=record_id)
    given = approvers(
        conn,
        portal=portal,
        entity=entity.name,
        record_id=record_id,
        transitions=[tr.name for tr in quorum],
        round_=round_,
    )
    out: dict[str, Progress] = {}
    for tr in quorum:
        progress = progress_of(tr, record, given[tr.name], actor)
        if progress is not None:
            out[tr.name] = progress
    return out


def approve(
    conn: sa.Connection,
    *,
    portal: str,
    entity: Entity,
    workflow: Workflow,
    transition: Transition,
    record: Mapping[str, Any],
    actor: Actor,
    round_: int,
    comment: str | None,
    progress: Progress,
    final: bool,
) -> None:
    """Record `actor`'s approval in `round_`. Unless it is the `final` one (the transition's
    own audit entry then tells the story), an `approve` audit entry says who approved, with
    the comment and the progress (`1 of 2`)."""
    if actor.id is None:
        raise ValueError("only users approve; the system applies transitions directly")
    record_id = int(record["id"])
    conn.execute(
        approvals.insert().values(
            portal=portal,
            entity=entity.name,
            record_id=record_id,
            transition=transition.name,
            round=round_,
            actor_id=actor.id,
            at=utcnow(),
            comment=comment,
        )
    )
    if final:
        return
    detail: dict[str, Any] = {
        "workflow": workflow.name,
        "transition": transition.name,
        "approvals": progress.given,
        "needed": progress.needed,
        "state": record.get(workflow.field),
    }
    if comment:
        detail["comment"] = comment
    conn.execute(
        audit_log.insert().values(
            portal=portal,
            at=utcnow(),
            actor_id=actor.id,
            actor_email=actor.email[:254] if actor.email else None,
            ip=actor.ip[:64] if actor.ip else None,
            action="approve",
            entity=entity.name,
            record_id=record_id,
            changes=None,
            detail=audit.json_safe(detail),
        )
    )
