"""/admin/users: every user of the portal, with their sessions, second factor and identities.

Portal administrators (`auth.admin_roles`) see all users, whatever their account, and may
sign a user out everywhere, reset their second factor (after a fresh authentication of
their own) or unlink one of their external identities. Each page of 50 users costs one
query per kind of data (users, accounts, sessions, identities, each factor), never one per
user. Every action is audited with the target user.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, request

from portalis.engine.accounts.users import UserInfo, user_infos
from portalis.engine.data.db import begin_write
from portalis.engine.data.permissions import Actor
from portalis.engine.data.tables import utcnow

from ..auth.common import ViewResult, audit_auth, current_secret, render, see_other, user_row
from ..auth.second_factor import enrolled_factors, factors, require_recent_auth
from ..context import state
from ..forms.account import AdminUserActionForm
from ..registry import RuntimePortal
from ..request_db import read_connection
from ..runtime_tables import identities, sessions
from ..sessions import end_user_sessions
from ..templating import gettext as _
from ..templating import label, ngettext, provider_label
from .access import admin_gate

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class AdminUser:
    """One row of the admin user list."""

    id: int
    name: str
    email: str
    account: str | None
    roles: tuple[str, ...]
    active: bool
    last_login_at: datetime | None
    sessions: int
    factors: tuple[str, ...]
    identities: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Listing:
    """One page of the list and what the pager needs."""

    users: list[AdminUser]
    page: int
    has_next: bool
    query: str


def _user_rows(portal: RuntimePortal, query: str, page: int) -> tuple[list[UserInfo], bool]:
    """A page of users through the record store (the admin area sees every user: the system
    actor reads), with their authentication state from the engine's `users`."""
    listing = portal.store.list(
        Actor.system(), "user", search=query or None, search_fields=("name", "email"),
        sort="name", page=page, page_size=PAGE_SIZE, count=False, fields=("name", "email"),
    )  # fmt: skip
    ids = [r.id for r in listing.records]
    with read_connection(state().engine) as conn:
        infos = user_infos(conn, portal.compiled, ids)
    return [infos[i] for i in ids if i in infos], listing.has_next


def _session_counts(conn: sa.Connection, portal: RuntimePortal, ids: list[int]) -> dict[int, int]:
    """Live sessions per user: not revoked, not expired, not idle."""
    if not ids:
        return {}
    now = utcnow()
    idle = timedelta(minutes=portal.compiled.model.auth.idle_minutes)
    rows = conn.execute(
        sa.select(sessions.c.user_id, sa.func.count())
        .where(
            sessions.c.portal == portal.slug,
            sessions.c.user_id.in_(ids),
            sessions.c.revoked.is_(False),
            sessions.c.expires_at > now,
            sessions.c.last_seen > now - idle,
        )
        .group_by(sessions.c.user_id)
    )
    return {int(r[0]): int(r[1]) for r in rows}


def _identities(
    conn: sa.Connection, portal: RuntimePortal, ids: list[int]
) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not ids:
        return found
    rows = conn.execute(
        sa.select(identities)
        .where(identities.c.portal == portal.slug, identities.c.user_id.in_(ids))
        .order_by(identities.c.created_at)
    ).mappings()
    for row in rows:
        item = dict(row)
        bound = portal.providers.get(str(row["provider"]))
        item["label"] = provider_label(bound.entry) if bound is not None else row["provider"]
        found[int(row["user_id"])].append(item)
    return found


def _factor_labels(
    conn: sa.Connection, portal: RuntimePortal, ids: list[int]
) -> dict[int, list[str]]:
    """Enrolled factors per user: each factor answers for the whole page at once."""
    found: dict[int, list[str]] = defaultdict(list)
    for factor in factors():
        members = {int(i) for i in factor.enrolled_users(conn, portal.slug, ids)}
        for uid in ids:
            if uid in members:
                found[uid].append(str(factor.label()))
    return found


def list_users(portal: RuntimePortal, query: str, page: int) -> Listing:
    """One page of users matching `query` (name or e-mail, case-insensitive)."""
    rows, has_next = _user_rows(portal, query, page)
    ids = [r.id for r in rows]
    accounts = portal.store.titles(
        Actor.system(), "account", [r.account for r in rows if r.account]
    )
    with read_connection(state().engine) as conn:
        counts = _session_counts(conn, portal, ids)
        linked = _identities(conn, portal, ids)
        enrolled = _factor_labels(conn, portal, ids)
    users = [
        AdminUser(
            id=r.id,
            name=r.name,
            email=r.email,
            account=accounts.get(int(r.account)) if r.account else None,
            roles=r.roles,
            active=r.is_active,
            last_login_at=r.last_login_at,
            sessions=counts.get(r.id, 0),
            factors=tuple(enrolled.get(r.id, ())),
            identities=tuple(linked.get(r.id, ())),
        )
        for r in rows
    ]
    return Listing(users, page, has_next, query)


def page_number(raw: str | None) -> int:
    """The `page` query parameter of an admin list: 1 for anything but a number, at most
    100,000."""
    try:
        return max(1, min(int(raw or "1"), 100_000))
    except ValueError:
        return 1


def _target(portal: RuntimePortal, uid: int | None) -> dict[str, Any]:
    if uid is None:
        abort(400)
    with read_connection(state().engine) as conn:
        row = user_row(conn, portal, uid)
    if row is None:
        abort(404)
    return row


def _revoke_sessions(portal: RuntimePortal, actor: Actor, row: dict[str, Any]) -> None:
    uid = int(row["id"])
    # signing oneself out everywhere spares the session that asked for it
    keep = current_secret() if uid == actor.id else None
    with begin_write(state().engine) as conn:
        count = end_user_sessions(conn, portal.slug, uid, keep=keep)
        audit_auth(conn, portal, "sessions_revoked_by_admin", user_id=uid, email=row["email"],
                   admin_id=actor.id, admin=actor.email, count=count, via="web")  # fmt: skip
    flash(
        ngettext(
            "Signed out %(num)s session of %(email)s.",
            "Signed out %(num)s sessions of %(email)s.",
            count,
            email=row["email"],
        ),
        "success",
    )


def _reset_two_factor(portal: RuntimePortal, actor: Actor, row: dict[str, Any]) -> None:
    uid = int(row["id"])
    with begin_write(state().engine) as conn:
        reset = []
        for factor in enrolled_factors(conn, portal.slug, uid):
            if factor.disable(conn, portal.slug, uid):
                reset.append(str(factor.name))
        if reset:
            audit_auth(conn, portal, "two_factor_reset_by_admin", user_id=uid,
                       email=row["email"], admin_id=actor.id, admin=actor.email,
                       factors=reset)  # fmt: skip
    if reset:
        flash(_("Two-factor sign-in of %(email)s has been reset.", email=row["email"]), "success")
    else:
        flash(_("%(email)s has no second factor to reset.", email=row["email"]), "warning")


def _unlink(portal: RuntimePortal, actor: Actor, row: dict[str, Any], ident: int | None) -> None:
    uid = int(row["id"])
    if ident is None:
        abort(400)
    where = (
        identities.c.id == ident,
        identities.c.portal == portal.slug,
        identities.c.user_id == uid,
    )
    with begin_write(state().engine) as conn:
        found = conn.execute(sa.select(identities).where(*where)).mappings().first()
        if found is not None:
            conn.execute(identities.delete().where(*where))
            audit_auth(conn, portal, "identity_unlinked_by_admin", user_id=uid,
                       email=row["email"], admin_id=actor.id, admin=actor.email,
                       provider=found["provider"], issuer=found["issuer"],
                       subject=found["subject"])  # fmt: skip
    if found is None:
        flash(_("That sign-in method was already removed."), "warning")
    else:
        flash(_("The sign-in method has been unlinked from %(email)s.", email=row["email"]),
              "success")  # fmt: skip


def users_view(portal: RuntimePortal, actor: Actor) -> ViewResult:
    """GET: the user list (`q`, `page`). POST `action` = `revoke_sessions`, `reset_2fa`
    (needs a recent authentication) or `unlink` (`identity`), with `user`."""
    gate = admin_gate(portal, actor)
    if gate is not None:
        return gate
    if request.method == "POST":
        form = AdminUserActionForm(request.form)
        action = form.action.data
        back = {"q": form.q.data or None, "page": form.page.data or None}
        if action == "reset_2fa":
            step_up = require_recent_auth(portal, actor)
            if step_up is not None:
                flash(_("Please confirm it is you before resetting two-factor sign-in."), "warning")
                return step_up
        row = _target(portal, form.user.data)
        if action == "revoke_sessions":
            _revoke_sessions(portal, actor, row)
        elif action == "reset_2fa":
            _reset_two_factor(portal, actor, row)
        elif action == "unlink":
            _unlink(portal, actor, row, form.identity.data)
        else:
            abort(400)
        return see_other("/admin/users", **{k: v for k, v in back.items() if v})
    query = request.args.get("q", "").strip()[:200]
    listing = list_users(portal, query, page_number(request.args.get("page")))
    roles = portal.compiled.model.roles
    return render(
        "admin/users.html",
        listing=listing,
        role_labels={n: label(r.label, n) for n, r in roles.items()},
        has_factors=bool(factors()),
    )
