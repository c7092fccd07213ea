"""The people the mask property tests start from: two accounts, another user and the actor."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from portalis.engine.data.permissions import Actor
from portalis.engine.data.store import RecordStore
from portalis.engine.portal import CompiledPortal


def fresh_people(
    conn: sa.Connection,
    portal: CompiledPortal,
    store: RecordStore,
    roles: Iterable[str],
    account: int,
    clear: Sequence[str],
) -> tuple[list[int], int, Actor]:
    """Empty the tables of `clear` (in order), then add accounts `acc0` and `acc1`, a user
    `Other` and the actor (`Actor`, in account number `account`, with `roles`): the account
    ids, the other user's id and the actor."""
    entities = portal.model.entities
    for name in clear:
        conn.execute(portal.tables[name].delete())
    accounts = [
        store.insert_row(conn, entities["account"], {"name": f"acc{i}"}, created_by=None)
        for i in range(2)
    ]
    other = store.insert_row(
        conn, entities["user"], {"email": "o@x.test", "name": "Other"}, created_by=None
    )
    uid = store.insert_row(
        conn,
        entities["user"],
        {"email": "a@x.test", "name": "Actor", "account": accounts[account]},
        created_by=None,
    )
    return accounts, other, Actor.for_user(portal.model, uid, accounts[account], set(roles))
