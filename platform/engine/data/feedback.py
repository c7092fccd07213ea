"""\"Was this helpful?\" feedback on records: one yes/no vote per voter and record, changeable,
counted per record.

A vote is taken through the record store: the record must be one the actor may read (else
`NotFound`, like every other path), so no one votes on — or learns the existence of — a
record they cannot see. The voter key (`user:<id>` or `visitor:<token>`) is the caller's
business: the runtime derives it from the signed-in user or the visitor's session.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .permissions import Actor
from .store import RecordStore
from .system_tables import feedback_votes


@dataclass(frozen=True, slots=True)
class Tally:
    """The votes on one record."""

    helpful: int = 0
    unhelpful: int = 0

    @property
    def total(self) -> int:
        """All votes."""
        return self.helpful + self.unhelpful

    @property
    def percent(self) -> int | None:
        """The helpful share in whole percent (None without votes)."""
        return None if not self.total else round(100 * self.helpful / self.total)


def vote(
    store: RecordStore, actor: Actor, entity: str, record_id: int, voter: str, helpful: bool
) -> None:
    """Record (or change) `voter`'s vote on a record `actor` may read; NotFound otherwise."""
    with store.transaction() as conn:
        record = store.get(actor, entity, record_id, conn=conn)
        values = {
            "portal": store.model.slug,
            "entity": entity,
            "record_id": record.id,
            "voter": voter[:80],
            "helpful": helpful,
            "updated_at": datetime.now(UTC),
        }
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        insert = dialect.insert(feedback_votes).values(**values)
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=["portal", "entity", "record_id", "voter"],
                set_={"helpful": helpful, "updated_at": values["updated_at"]},
            )
        )


def vote_of(
    conn: sa.Connection, portal: str, entity: str, record_id: int, voter: str
) -> bool | None:
    """`voter`'s vote on a record (None: not voted)."""
    v = feedback_votes.c
    found = conn.execute(
        sa.select(v.helpful).where(
            v.portal == portal, v.entity == entity, v.record_id == record_id, v.voter == voter
        )
    ).scalar()
    return None if found is None else bool(found)


def tallies(
    conn: sa.Connection, portal: str, entity: str, record_ids: Iterable[int]
) -> dict[int, Tally]:
    """The tally of each of `record_ids` (one query; records without votes are left out).
    The caller passes ids the actor may read."""
    v = feedback_votes.c
    ids = list(record_ids)
    if not ids:
        return {}
    helpful = sa.func.sum(sa.case((v.helpful.is_(True), 1), else_=0))
    rows = conn.execute(
        sa.select(v.record_id, helpful, sa.func.count())
        .where(v.portal == portal, v.entity == entity, v.record_id.in_(ids))
        .group_by(v.record_id)
    ).all()
    return {int(rid): Tally(int(yes or 0), int(total) - int(yes or 0)) for rid, yes, total in rows}
