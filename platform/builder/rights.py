"""Rights of a builder account per portal: view, edit (drafts) and publish.

Rights are levels: `view` < `edit` < `publish`, each including the ones below (a publisher
can also edit and view). They are stored as rows (account, portal or `*`, right), one per
right held, so a query can ask for one right directly. A portal the account holds no right
on does not exist for it: its pages answer 404.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa

from .tables import rights as rights_table

VIEW = "view"
EDIT = "edit"
PUBLISH = "publish"
#: Every right, weakest first.
RIGHTS = (VIEW, EDIT, PUBLISH)
#: The rights each right includes.
IMPLIED = {VIEW: (VIEW,), EDIT: (VIEW, EDIT), PUBLISH: (VIEW, EDIT, PUBLISH)}
#: What `portalis builder-users create` grants without `--can`.
DEFAULT_RIGHTS = (EDIT,)
#: The portal key of a grant on every portal.
ALL_PORTALS = "*"


@dataclass(frozen=True, slots=True)
class Rights:
    """The rights of one account: portal (or `*`) → rights."""

    grants: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def of(self, portal: str) -> frozenset[str]:
        """The rights on `portal` (grants on every portal included)."""
        return self.grants.get(portal, frozenset()) | self.grants.get(ALL_PORTALS, frozenset())

    def can(self, portal: str, right: str) -> bool:
        """True when the account holds `right` on `portal`."""
        return right in self.of(portal)

    def describe(self) -> str:
        """`acme:edit,view *:publish,view` (for `builder-users list`)."""
        parts = []
        for portal in sorted(self.grants):
            parts.append(f"{portal}:{','.join(sorted(self.of(portal)))}")
        return " ".join(parts) or "-"


def load_rights(conn: sa.Connection, user_id: int) -> Rights:
    """The rights of account `user_id` (one query)."""
    rows = conn.execute(
        sa.select(rights_table.c.portal, rights_table.c.right).where(
            rights_table.c.user_id == user_id
        )
    ).all()
    grants: dict[str, set[str]] = {}
    for row in rows:
        grants.setdefault(str(row.portal), set()).add(str(row.right))
    return Rights({portal: frozenset(held) for portal, held in grants.items()})


def grant(conn: sa.Connection, user_id: int, portals: Iterable[str], held: Iterable[str]) -> None:
    """Give account `user_id` the rights `held` on each of `portals` (`*`: all)."""
    unknown = set(held) - set(RIGHTS)
    if unknown:
        raise ValueError(f"unknown right(s): {', '.join(sorted(unknown))}")
    rows = [
        {"user_id": user_id, "portal": portal, "right": right}
        for portal in portals
        for right in sorted({implied for right in held for implied in IMPLIED[right]})
    ]
    if rows:
        conn.execute(rights_table.insert(), rows)
