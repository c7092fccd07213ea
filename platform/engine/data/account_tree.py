"""Account hierarchies: a holding's users see their subsidiaries' records.

An account may name its parent account (the account entity's `parent_field:`, a ref to
account). A grant with `scope: account_tree` covers the rows whose account is the actor's
active account or one of its descendants. The descendants are a recursive CTE in the
grant's SQL WHERE (one query, whatever the depth); the same walk up the parents decides a
single record in Python. Depth is bounded by `MAX_ACCOUNT_DEPTH` levels below the actor's
account: deeper accounts are not covered (fail closed). A write that would make an account
its own ancestor — or nest accounts deeper than the bound — is refused with a field error
(`check_account_parent`, in the write's transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

import sqlalchemy as sa

from .errors import FieldMessage

#: Levels below an account that `account_tree` reaches, and the deepest nesting a write may
#: create (a holding, its subsidiaries and their subsidiaries … eight levels in all).
MAX_ACCOUNT_DEPTH: Final = 8

#: Looks up an account row by id (None when it does not exist).
AccountLookup = Callable[[str, Any], Mapping[str, Any] | None]


def subtree_ids(accounts: sa.Table, parent: str, root: int) -> sa.Select[Any]:
    """SELECT of the ids of `root` and every account below it (at most MAX_ACCOUNT_DEPTH
    levels down): a recursive CTE over the parent reference `parent`."""
    top = sa.select(accounts.c.id.label("id"), sa.literal(0).label("depth")).where(
        accounts.c.id == root
    )
    # nesting: the WITH stays inside the subquery, so one statement may hold several trees
    # (a page reading its records and its live-update stamps with the same grants)
    tree = top.cte("account_tree", recursive=True, nesting=True)
    below = sa.select(accounts.c.id, (tree.c.depth + 1).label("depth")).where(
        accounts.c[parent] == tree.c.id, tree.c.depth < MAX_ACCOUNT_DEPTH
    )
    tree = tree.union(below)
    return sa.select(tree.c.id)


def within_tree(lookup: AccountLookup | None, parent: str, account: Any, root: int | None) -> bool:
    """True when `account` is `root` or below it (walking up at most MAX_ACCOUNT_DEPTH
    parents); without a lookup only `root` itself is known."""
    if root is None or account is None:
        return False
    current = account
    for _ in range(MAX_ACCOUNT_DEPTH + 1):
        if current == root:
            return True
        row = lookup("account", current) if lookup is not None else None
        current = None if row is None else row.get(parent)
        if current is None:
            return False
    return False


def check_account_parent(
    conn: sa.Connection, accounts: sa.Table, parent: str, account_id: Any, new_parent: Any
) -> FieldMessage | None:
    """The field error of giving account `account_id` the parent `new_parent` (a cycle, or
    a chain deeper than MAX_ACCOUNT_DEPTH), or None when the change is fine."""
    if new_parent is None:
        return None
    if account_id is not None and new_parent == account_id:
        return FieldMessage("account-cycle", "an account cannot be its own parent")
    up = sa.select(accounts.c.id.label("id"), accounts.c[parent].label("up"),
                   sa.literal(1).label("depth")).where(accounts.c.id == new_parent)  # fmt: skip
    chain = up.cte("account_chain", recursive=True)
    chain = chain.union(
        sa.select(accounts.c.id, accounts.c[parent], (chain.c.depth + 1)).where(
            accounts.c.id == chain.c.up, chain.c.depth <= MAX_ACCOUNT_DEPTH + 1
        )
    )
    ancestors = conn.execute(sa.select(chain.c.id, chain.c.depth)).all()
    if account_id is not None and any(row.id == account_id for row in ancestors):
        return FieldMessage(
            "account-cycle",
            "this account is above the chosen parent: the accounts would form a cycle",
        )
    height = 0 if account_id is None else _height(conn, accounts, parent, int(account_id))
    if max((row.depth for row in ancestors), default=0) + height > MAX_ACCOUNT_DEPTH:
        return FieldMessage(
            "account-depth", "accounts nest at most {max} levels deep", {"max": MAX_ACCOUNT_DEPTH}
        )
    return None


def _height(conn: sa.Connection, accounts: sa.Table, parent: str, root: int) -> int:
    """How many levels lie below `root` (bounded)."""
    top = sa.select(accounts.c.id.label("id"), sa.literal(0).label("depth")).where(
        accounts.c.id == root
    )
    tree = top.cte("account_height", recursive=True)
    tree = tree.union(
        sa.select(accounts.c.id, (tree.c.depth + 1)).where(
            accounts.c[parent] == tree.c.id, tree.c.depth < MAX_ACCOUNT_DEPTH + 1
        )
    )
    return int(conn.execute(sa.select(sa.func.max(tree.c.depth))).scalar() or 0)
