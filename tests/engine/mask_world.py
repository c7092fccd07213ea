"""What the mask property tests start from: a definition whose grants give one role different
fields on different rows, and the people (two accounts, another user, the actor)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from portalis.engine.data.permissions import Actor
from portalis.engine.data.store import RecordStore
from portalis.engine.portal import CompiledPortal

#: `doc` records read through five roles, each one read grant with its own scope and fields.
DEFINITION = """
format: portalis/v1
portal: maskprop
title: Mask property
locales: [en]
roles:
  r_acc_nolevel: {}
  r_own: {}
  r_where_nonote: {}
  r_all_noamount: {}
  r_acc_onlylevel: {}
entities:
  doc:
    title_field: note
    fields:
      account: {type: ref, to: account}
      status: {type: choice, options: [a, b]}
      level: {type: choice, options: [x, y, z]}
      note: {type: string}
      amount: {type: int}
    permissions:
      - {roles: [r_acc_nolevel], actions: [read], scope: account, fields: {except: [level]}}
      - {roles: [r_own], actions: [read], scope: own}
      - {roles: [r_where_nonote], actions: [read], scope: {where: {status: a}},
         fields: {except: [note, amount]}}
      - {roles: [r_all_noamount], actions: [read], scope: all, fields: {except: [amount, note]}}
      - {roles: [r_acc_onlylevel], actions: [read], scope: account,
         fields: {only: [account, status, level]}}
"""
ROLES = ["r_acc_nolevel", "r_own", "r_where_nonote", "r_all_noamount", "r_acc_onlylevel"]


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
