"""Account roles: who manages an account's users, which roles they may give, and the rule
that an account never loses its last manager.

A role's `assigns:` names the roles a holder may give to the users of their own account;
holding such a role (directly or by inheritance) makes a user a *manager* of the account's
users. A user's roles in an account are their home roles (the user row's) when the account
is their home account, else those of their membership of it.

Role changes and disabling by a manager go through `set_account_roles` and
`check_keeps_manager`, which lock the account's row first: every such change of one account
is serialised, so two managers demoting (or disabling) each other at the same moment leave
one of them — the second one sees the first change and is refused with `LastManager`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..data.errors import Forbidden, NotFound
from ..data.permissions import Actor
from ..data.system_tables import memberships
from ..definition.model import PortalModel
from .memberships import set_membership
from .user_writes import checked_roles, update_user

if TYPE_CHECKING:
    from ..data.store import RecordStore


class LastManager(Exception):
    """The change would leave the account without an active user who manages its users."""


def assignable_roles(model: PortalModel, held: Iterable[str]) -> tuple[str, ...]:
    """The roles a user holding `held` may give (the `assigns` of those roles and of every
    role they inherit), in declaration order."""
    closure = model.role_closure(frozenset(held) & frozenset(model.roles))
    given = {r for name in closure for r in model.roles[name].assigns}
    return tuple(r for r in model.roles if r in given)


def managing_roles(model: PortalModel) -> frozenset[str]:
    """The roles whose holders manage their account's users (a role with `assigns`, or one
    inheriting it)."""
    return frozenset(
        name
        for name, role in model.roles.items()
        if any(model.roles[r].assigns for r in role.closure if r in model.roles)
    )


def roles_in_account(
    conn: sa.Connection, store: RecordStore, user_id: int, account: int
) -> tuple[str, ...] | None:
    """The user's roles in `account`; None when they do not belong to it."""
    users = store.tables["user"]
    row = conn.execute(
        sa.select(users.c.account, users.c.roles).where(users.c.id == user_id)
    ).first()
    if row is None:
        return None
    if row.account == account:
        return tuple(row.roles or ())
    found = conn.execute(
        sa.select(memberships.c.roles).where(
            memberships.c.portal == store.model.slug,
            memberships.c.user_id == user_id,
            memberships.c.account_id == account,
        )
    ).first()
    return None if found is None else tuple(found.roles or ())


def member_roles(
    conn: sa.Connection, slug: str, user_ids: Iterable[int], account: int | None
) -> dict[int, tuple[str, ...]]:
    """Roles in `account` of those of `user_ids` who belong to it by a membership (their
    home roles are the user row's)."""
    ids = sorted(set(user_ids))
    if account is None or not ids:
        return {}
    rows = conn.execute(
        sa.select(memberships.c.user_id, memberships.c.roles).where(
            memberships.c.portal == slug,
            memberships.c.account_id == account,
            memberships.c.user_id.in_(ids),
        )
    )
    return {int(r.user_id): tuple(r.roles or ()) for r in rows}


def account_managers(conn: sa.Connection, store: RecordStore, account: int) -> set[int]:
    """The active users who manage `account`'s users (home roles or membership roles)."""
    managing = managing_roles(store.model)
    users = store.tables["user"]
    home = sa.select(users.c.id, users.c.roles).where(
        users.c.account == account, users.c.is_active.is_(True)
    )
    members = (
        sa.select(users.c.id, memberships.c.roles)
        .join(memberships, memberships.c.user_id == users.c.id)
        .where(
            memberships.c.portal == store.model.slug,
            memberships.c.account_id == account,
            users.c.account.is_distinct_from(account),
            users.c.is_active.is_(True),
        )
    )
    found: set[int] = set()
    for query in (home, members):
        for row in conn.execute(query):
            if managing & set(row.roles or ()):
                found.add(int(row.id))
    return found


def lock_account(conn: sa.Connection, store: RecordStore, account: int) -> None:
    """Serialise the user management of `account` (row lock on PostgreSQL; SQLite's write
    transactions are serial already). NotFound when there is no such account."""
    accounts = store.tables["account"]
    query = sa.select(accounts.c.id).where(accounts.c.id == account)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    if conn.execute(query).first() is None:
        raise NotFound(f"account #{account} not found")


def check_keeps_manager(
    conn: sa.Connection,
    store: RecordStore,
    account: int,
    user_id: int,
    roles: Iterable[str] | None = None,
) -> None:
    """LastManager when `user_id` losing their manager roles (taking `roles` instead, or
    being disabled when `roles` is None) leaves `account` without an active manager. Locks
    the account first: call it in the write's transaction, before the write."""
    lock_account(conn, store, account)
    _require_manager_left(conn, store, account, user_id, roles)


def _require_manager_left(
    conn: sa.Connection,
    store: RecordStore,
    account: int,
    user_id: int,
    roles: Iterable[str] | None,
) -> None:
    remaining = account_managers(conn, store, account) - {user_id}
    if roles is not None and managing_roles(store.model) & set(roles):
        remaining.add(user_id)
    if not remaining:
        raise LastManager(f"account #{account} would have no user manager left")


def set_account_roles(
    store: RecordStore,
    actor: Actor,
    conn: sa.Connection,
    *,
    account: int,
    user_id: int,
    roles: Iterable[str],
    allowed: Iterable[str] | None = None,
) -> tuple[str, ...]:
    """Give `user_id` exactly `roles` in `account` (their home roles, or their membership's
    roles in another account) — the system `actor` on behalf of the manager, in the caller's
    transaction. Returns the roles held before. NotFound when the user does not belong to
    the account; Forbidden when `allowed` is given and the user holds (or would get) a role
    outside it; LastManager (nothing written) when no manager would be left."""
    wanted = checked_roles(store.model, roles)
    lock_account(conn, store, account)  # before reading: what is read stays true until commit
    before = roles_in_account(conn, store, user_id, account)
    if before is None:
        raise NotFound(f"user #{user_id} not found")
    if allowed is not None and not set(before) | set(wanted) <= set(allowed):
        raise Forbidden(f"user #{user_id} holds or would get a role the manager cannot give")
    _require_manager_left(conn, store, account, user_id, wanted)
    users = store.tables["user"]
    home: Any = conn.execute(sa.select(users.c.account).where(users.c.id == user_id)).scalar()
    if home == account:
        update_user(store, actor, user_id, roles=wanted, account=account, conn=conn)
    else:
        set_membership(conn, store.model, user_id, account, wanted)
    return before
