"""Memberships: the accounts a user belongs to, with the roles they hold in each.

A user row's `account` and `roles` are the user's *home* membership: single-account users
are exactly what they were before memberships existed. Every further account a user belongs
to is a row of `portalis_membership` with the roles held while that account is active; the
home account has a row too (its roles are the user row's, kept there only so that a user's
accounts are one query). `sync_home_memberships` adds the home rows that are missing — on
deploy, after seeding, after a user write — and never removes anything else.

Which account is active is the runtime's business (the session, or an API request's
header); it asks `membership_roles` whether the user belongs there, and with which roles.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..data.system_tables import memberships
from ..data.tables import utcnow
from ..definition.model import PortalModel

if TYPE_CHECKING:
    from .users import Source


@dataclass(frozen=True, slots=True)
class Membership:
    """One account a user belongs to: its id and title, and the user's roles there."""

    account: int
    name: str
    roles: tuple[str, ...]
    home: bool


def membership_count(slug: str, user_id: sa.ColumnElement[Any]) -> sa.ScalarSelect[Any]:
    """A scalar subquery: how many accounts the user `user_id` belongs to (0 for staff)."""
    return (
        sa.select(sa.func.count())
        .select_from(memberships)
        .where(memberships.c.portal == slug, memberships.c.user_id == user_id)
        .scalar_subquery()
    )


def user_memberships(conn: sa.Connection, portal: Source, user_id: int) -> list[Membership]:
    """Every account of the user (home first, then by name), with their roles in each."""
    users = portal.tables["user"]
    accounts = portal.tables["account"]
    title = accounts.c[portal.model.entities["account"].title_field or "name"]
    rows = conn.execute(
        sa.select(memberships.c.account_id, memberships.c.roles, title.label("name"),
                  users.c.account.label("home"), users.c.roles.label("home_roles"))
        .join(accounts, accounts.c.id == memberships.c.account_id)
        .join(users, users.c.id == memberships.c.user_id)
        .where(memberships.c.portal == portal.model.slug, memberships.c.user_id == user_id)
    ).all()  # fmt: skip
    found = [
        Membership(
            int(r.account_id),
            str(r.name or ""),
            tuple((r.home_roles if r.account_id == r.home else r.roles) or ()),
            r.account_id == r.home,
        )  # fmt: skip
        for r in rows
    ]
    return sorted(found, key=lambda m: (not m.home, m.name.lower(), m.account))


def membership_roles(
    conn: sa.Connection, slug: str, user_id: int, account: int
) -> tuple[str, ...] | None:
    """The user's roles in `account` (a membership other than the home one); None when the
    user does not belong to it."""
    row = conn.execute(
        sa.select(memberships.c.roles).where(
            memberships.c.portal == slug,
            memberships.c.user_id == user_id,
            memberships.c.account_id == account,
        )
    ).first()
    return None if row is None else tuple(row.roles or ())


def set_membership(
    conn: sa.Connection, model: PortalModel, user_id: int, account: int, roles: Iterable[str]
) -> bool:
    """Give the user `roles` in `account` (adding the membership when it is new); returns
    True when it was new. Roles must be declared, non-built-in roles (ValueError else)."""
    wanted = list(dict.fromkeys(roles))
    bad = [r for r in wanted if r not in model.roles or model.roles[r].builtin]
    if bad:
        raise ValueError(f"unknown role(s): {', '.join(bad)}")
    key = (
        memberships.c.portal == model.slug,
        memberships.c.user_id == user_id,
        memberships.c.account_id == account,
    )
    if conn.execute(memberships.update().where(*key).values(roles=wanted)).rowcount:
        return False
    conn.execute(
        memberships.insert().values(
            portal=model.slug,
            user_id=user_id,
            account_id=account,
            roles=wanted,
            created_at=utcnow(),
        )  # fmt: skip
    )
    return True


def remove_membership(conn: sa.Connection, slug: str, user_id: int, account: int) -> bool:
    """End the user's membership of `account`; True when there was one."""
    result = conn.execute(
        memberships.delete().where(
            memberships.c.portal == slug,
            memberships.c.user_id == user_id,
            memberships.c.account_id == account,
        )
    )
    return bool(result.rowcount)


def sync_home_memberships(
    conn: sa.Connection, portal: Source, user_ids: Sequence[int] | None = None
) -> int:
    """Add the missing home-membership rows (of `user_ids`, or of every user): a user with
    an account belongs to it. Non-destructive: existing rows are left as they are. Returns
    how many rows were added."""
    users = portal.tables["user"]
    slug = portal.model.slug
    exists = sa.exists().where(
        memberships.c.portal == slug,
        memberships.c.user_id == users.c.id,
        memberships.c.account_id == users.c.account,
    )
    missing = sa.select(
        sa.literal(slug), users.c.id, users.c.account, users.c.roles, sa.literal(utcnow())
    ).where(users.c.account.is_not(None), ~exists)
    if user_ids is not None:
        missing = missing.where(users.c.id.in_(sorted(set(user_ids))))
    columns = ["portal", "user_id", "account_id", "roles", "created_at"]
    result = conn.execute(memberships.insert().from_select(columns, missing))
    return int(result.rowcount or 0)
