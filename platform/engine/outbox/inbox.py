"""The in-app side of notifications: the bell's rows and per-user e-mail preferences.

Rows are written by `notify.send`; here a user reads, counts and marks their own. Every query
is bounded to one portal and one user, so another user's notification id changes nothing
and reads as absent.

Each user's unread count is also kept in `portalis_notification_unread`, changed by
`add_unread` and `mark_read` in the transaction that writes the notifications, as an
increment or decrement of the stored number (two workers writing at once both count): a
page reads it together with its session (`accounts.users.session_user_query`), so the bell
costs no query and every worker shows the same number.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..data.db import is_sqlite
from ..data.system_tables import aware, notification_prefs, notification_unread, notifications
from ..data.tables import utcnow


@dataclass(frozen=True, slots=True)
class Notification:
    """An in-app notification as its recipient sees it; `link` is portal-relative."""

    id: int
    kind: str
    subject: str
    body: str
    link: str | None
    entity: str | None
    record_id: int | None
    created_at: datetime
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        """True until the recipient opened it or marked it read."""
        return self.read_at is None


# -- the bell -----------------------------------------------------------------------------
def unread_count(conn: sa.Connection, *, portal: str, user_id: int) -> int:
    """How many notifications of the user are unread."""
    query = sa.select(sa.func.count()).where(
        notifications.c.portal == portal,
        notifications.c.user_id == user_id,
        notifications.c.read_at.is_(None),
    )
    return int(conn.execute(query).scalar_one())


def count_for(conn: sa.Connection, *, portal: str, user_id: int) -> int:
    """How many notifications the user has (read or not)."""
    query = sa.select(sa.func.count()).where(
        notifications.c.portal == portal, notifications.c.user_id == user_id
    )
    return int(conn.execute(query).scalar_one())


def list_for(
    conn: sa.Connection, *, portal: str, user_id: int, limit: int = 20, offset: int = 0
) -> list[Notification]:
    """The user's notifications, newest first."""
    query = (
        sa.select(notifications)
        .where(notifications.c.portal == portal, notifications.c.user_id == user_id)
        .order_by(notifications.c.created_at.desc(), notifications.c.id.desc())
        .limit(max(1, limit))
        .offset(max(0, offset))
    )
    return [_notification(row) for row in conn.execute(query).mappings()]


def get(
    conn: sa.Connection, *, portal: str, user_id: int, notification_id: int
) -> Notification | None:
    """One notification of the user; None when it does not exist or is someone else's."""
    query = sa.select(notifications).where(
        notifications.c.id == notification_id,
        notifications.c.portal == portal,
        notifications.c.user_id == user_id,
    )
    row = conn.execute(query).mappings().first()
    return None if row is None else _notification(row)


def mark_read(
    conn: sa.Connection, *, portal: str, user_id: int, ids: Collection[int] | None = None
) -> int:
    """Mark the user's notifications `ids` read (every unread one when `ids` is None);
    returns how many changed. Ids of other users' notifications change nothing."""
    query = notifications.update().where(
        notifications.c.portal == portal,
        notifications.c.user_id == user_id,
        notifications.c.read_at.is_(None),
    )
    if ids is not None:
        if not ids:
            return 0
        query = query.where(notifications.c.id.in_(sorted({int(i) for i in ids})))
    changed = int(conn.execute(query.values(read_at=utcnow())).rowcount)
    if changed:
        count = notification_unread.c.unread
        conn.execute(
            notification_unread.update()
            .where(notification_unread.c.portal == portal, notification_unread.c.user_id == user_id)
            .values(unread=sa.case((count > changed, count - changed), else_=0))
        )
    return changed


def add_unread(conn: sa.Connection, portal: str, user_ids: Collection[int]) -> None:
    """Count a new unread notification for each entry of `user_ids` (a user listed twice got
    two; one statement; call it in the transaction that inserts them)."""
    if not user_ids:
        return
    insert = sqlite.insert if is_sqlite(conn) else postgresql.insert
    added = Counter(int(uid) for uid in user_ids)
    statement = insert(notification_unread).values(
        [{"portal": portal, "user_id": uid, "unread": n} for uid, n in sorted(added.items())]
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["portal", "user_id"],
            set_={"unread": notification_unread.c.unread + statement.excluded.unread},
        )
    )


def unread_column(portal: str, user_id: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    """The unread count of the user whose id is `user_id` (a column of the caller's query),
    as a column: 0 without a counter row."""
    stored = (
        sa.select(notification_unread.c.unread)
        .where(notification_unread.c.portal == portal, notification_unread.c.user_id == user_id)
        .scalar_subquery()
    )
    return sa.func.coalesce(stored, 0)


def _notification(row: Mapping[Any, Any]) -> Notification:
    created = aware(row["created_at"])
    assert created is not None
    return Notification(
        id=int(row["id"]),
        kind=str(row["kind"]),
        subject=str(row["subject"]),
        body=str(row["body"]),
        link=row["link"],
        entity=row["entity"],
        record_id=row["record_id"],
        created_at=created,
        read_at=aware(row["read_at"]),
    )


# -- preferences --------------------------------------------------------------------------
def get_prefs(conn: sa.Connection, *, portal: str, user_id: int) -> dict[str, bool]:
    """The user's stored choices: notification kind → e-mail on/off (absent kinds are on)."""
    query = sa.select(notification_prefs.c.kind, notification_prefs.c.email).where(
        notification_prefs.c.portal == portal, notification_prefs.c.user_id == user_id
    )
    return {str(row.kind): bool(row.email) for row in conn.execute(query)}


def set_pref(conn: sa.Connection, *, portal: str, user_id: int, kind: str, email: bool) -> None:
    """Turn e-mail for notification `kind` on or off for the user."""
    # both dialects know INSERT … ON CONFLICT DO UPDATE: one statement, no read-then-write race
    insert = (
        sqlite.insert(notification_prefs)
        if is_sqlite(conn)
        else postgresql.insert(notification_prefs)
    )
    statement = insert.values(portal=portal, user_id=user_id, kind=kind, email=bool(email))
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["portal", "user_id", "kind"], set_={"email": bool(email)}
        )
    )


def email_off(conn: sa.Connection, portal: str, kind: str, user_ids: list[int]) -> set[int]:
    """Which of `user_ids` turned e-mail for notification `kind` off (one query)."""
    query = sa.select(notification_prefs.c.user_id).where(
        notification_prefs.c.portal == portal,
        notification_prefs.c.kind == kind,
        notification_prefs.c.user_id.in_(user_ids),
        notification_prefs.c.email.is_(False),
    )
    return {int(uid) for uid in conn.execute(query).scalars()}
