"""/account/users: account administrators manage the people of their own account.

Who manages is the definition's: a user whose roles (or the roles they inherit) have
`assigns:` — in the active account. The list comes from the record store with the
administrator's actor (so the definition's `user` grants decide what they see) and is
further limited to the members of the active account. They may invite people with a role
they may assign, change the role a member holds in this account (within the same roles, and
only of members whose roles are all among them), resend invitations, and disable or enable
users of their account (not themselves); disabling ends the user's sessions. A change that
would leave the account without an active manager is refused in its transaction
(`engine.accounts.account_roles`). Everyone else gets 403. An invitation answers the same
whether or not the address already has a user anywhere in the portal; a known address is
never changed (its owner gets a notice).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import abort, flash, g, request

from portalis.engine.accounts.account_roles import (
    LastManager,
    assignable_roles,
    check_keeps_manager,
    member_roles,
    set_account_roles,
)
from portalis.engine.accounts.user_writes import update_user
from portalis.engine.accounts.users import user_infos
from portalis.engine.data.db import begin_write
from portalis.engine.data.errors import Forbidden, NotFound, ValidationFailed
from portalis.engine.data.permissions import Actor

from ..context import state
from ..forms.account import InviteUserForm, MemberActionForm, RoleChangeForm
from ..forms.base import show_errors
from ..registry import RuntimePortal
from ..request_db import read_connection
from ..sessions import end_user_sessions
from ..templating import gettext as _
from ..templating import label
from . import tokens
from .common import (
    Errors,
    ViewResult,
    audit_auth,
    check_email,
    check_name,
    login_redirect,
    render,
    see_other,
    system_actor,
    user_row,
)
from .invitations import queue_invitation_mail, renew_invitation, send_invitation

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class Member:
    """One row of the user list."""

    id: int
    name: str
    email: str
    roles: tuple[str, ...]
    status: str  # active | invited | disabled
    last_login_at: datetime | None
    home: bool = True

    def changeable(self, assignable: dict[str, str]) -> bool:
        """Whether the administrator may change this member's role: every role they hold
        here is one the administrator may give."""
        return self.status != "disabled" and all(r in assignable for r in self.roles)


def invitable_roles(portal: RuntimePortal, actor: Actor) -> list[tuple[str, str]]:
    """(role, label) pairs the actor may give: the `assigns` of their roles."""
    roles = portal.compiled.model.roles
    names = sorted(
        assignable_roles(portal.compiled.model, actor.roles),
        key=lambda r: (len(roles[r].closure), r),  # least privileged first: the default
    )
    return [(r, label(roles[r].label, r)) for r in names]


def _members(portal: RuntimePortal, actor: Actor, page: int) -> tuple[list[Member], Any]:
    listing = portal.store.list(actor, "user", sort="name", page=page, page_size=PAGE_SIZE)
    ids = [r.id for r in listing.records]
    with read_connection(state().engine) as conn:
        infos = user_infos(conn, portal.compiled, ids)
        others = member_roles(conn, portal.compiled.model.slug, ids, actor.account)
    members = []
    for record in listing.records:
        info = infos.get(record.id)
        if info is None:
            continue
        home = info.account == actor.account
        if not home and record.id not in others:
            continue  # visible by grant but not a member of the administrator's account
        status = "active" if info.is_active else "disabled"
        if not info.is_active and not info.has_password:
            status = "invited"
        members.append(
            Member(
                record.id,
                str(record.get("name") or ""),
                str(record.get("email") or ""),
                info.roles if home else others[record.id],
                status,
                info.last_login_at,
                home,
            )
        )
    return members, listing


def _page(portal: RuntimePortal, actor: Actor, status: int = 200, **context: Any) -> ViewResult:
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    members, listing = _members(portal, actor, page)
    roles = invitable_roles(portal, actor)
    form: InviteUserForm = context.pop("form", None) or InviteUserForm()
    form.role.choices = roles
    if not form.role.data and roles:
        form.role.data = roles[0][0]  # the least privileged role
    return render(
        "auth/account_users.html",
        status,
        form=form,
        members=members,
        listing=listing,
        roles=roles,
        assignable=dict(roles),
        role_errors=context.pop("role_errors", {}),
        role_labels={n: label(r.label, n) for n, r in portal.compiled.model.roles.items()},
        **context,
    )


def _target(
    portal: RuntimePortal, actor: Actor, user_id: int | None, *, members: bool = False
) -> dict[str, Any]:
    """The user a management action names: visible to the actor and in their account (with
    `members`: or a member of it by membership)."""
    if user_id is None:
        abort(404)
    try:
        portal.store.get(actor, "user", user_id)
    except NotFound:
        abort(404)
    with read_connection(state().engine) as conn:
        row = user_row(conn, portal, user_id)
        if row is not None and row["account"] != actor.account and members:
            found = member_roles(conn, portal.compiled.model.slug, [user_id], actor.account)
            return row if user_id in found else abort(404)
    if row is None or row["account"] != actor.account:
        abort(404)
    return row


def _change_role(portal: RuntimePortal, actor: Actor) -> ViewResult:
    """Give a member of the active account one role the administrator may assign."""
    form = RoleChangeForm(request.form)
    row = _target(portal, actor, form.user.data, members=True)
    uid, account = int(row["id"]), int(actor.account or 0)
    assignable = dict(invitable_roles(portal, actor))
    role = str(form.role.data or "")
    if role not in assignable:
        return _page(portal, actor, 422, role_errors={uid: _("Choose a role.")})
    try:
        with begin_write(state().engine) as conn:
            # the lock, the last-manager count and the write are one transaction
            before = set_account_roles(
                portal.store, system_actor(actor.id), conn, account=account, user_id=uid,
                roles=[role], allowed=set(assignable),
            )  # fmt: skip
            audit_auth(conn, portal, "user_roles_changed", user_id=actor.id,
                       email=actor.email or None, user=uid, user_email=row["email"],
                       account=account, roles=[role], before=list(before))  # fmt: skip
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)  # a member holding a role the administrator may not give
    except LastManager:
        message = _(
            "This change would leave your account without anyone who can manage its users. "
            "Give another user that role first."
        )
        return _page(portal, actor, 409, role_errors={uid: message})
    flash(_("%(name)s now has the role %(role)s.", name=row["name"], role=assignable[role]),
          "success")  # fmt: skip
    if uid == actor.id and not assignable_roles(portal.compiled.model, [role]):
        return see_other("/account")  # they gave up managing users: this page is no longer theirs
    return see_other("/account/users")


def _invite(portal: RuntimePortal, actor: Actor) -> ViewResult:
    form = InviteUserForm(request.form)
    errors: Errors = {}
    email = check_email(portal.compiled.model, form.email.data, errors)
    name = check_name(form.name.data, errors)
    role = str(form.role.data or "")
    if role not in dict(invitable_roles(portal, actor)):
        errors["role"] = [_("Choose a role.")]
    if errors:
        show_errors(form, errors)
        return _page(portal, actor, 422, form=form, open_invite=True)
    try:
        with begin_write(state().engine) as conn:
            uid = queue_invitation_mail(
                conn, portal, inviter=actor.name, email=email, name=name, role=role,
                account=actor.account, locale=_locale_of(portal), inviter_id=actor.id,
            )  # fmt: skip
            # the audit log (for operators) tells a new invitation from a known address
            action = "invitation" if uid is not None else "invitation_existing"
            audit_auth(conn, portal, action, user_id=actor.id, email=actor.email or None,
                       user=uid, user_email=email, role=role)  # fmt: skip
    except ValidationFailed as exc:
        if not any(m.code == "unique" for ms in exc.errors.values() for m in ms):
            for field, messages in exc.errors.items():
                target = form[field] if field in ("email", "name", "role") else form.email
                target.errors = [m.text() for m in messages]
            return _page(portal, actor, 422, form=form, open_invite=True)
        # a concurrent invitation of the same address won the race: it mails the invitee
    # the same answer whether or not the address had a user already (no enumeration)
    flash(_("Invitation sent to %(email)s.", email=email), "success")
    return see_other("/account/users")


def _locale_of(portal: RuntimePortal) -> str:
    # the invitee's language is unknown: write in the administrator's current language
    current = str(g.get("locale") or "")
    locales = portal.compiled.model.locales
    return current if current in locales else portal.compiled.model.default_locale


def _set_active(portal: RuntimePortal, actor: Actor, row: dict[str, Any], action: str) -> None:
    uid = int(row["id"])
    with begin_write(state().engine) as conn:
        if action == "disable":  # two administrators disabling each other leave one
            check_keeps_manager(conn, portal.store, int(actor.account or 0), uid)
        # for the administrator, and only within their account (checked on the locked row)
        update_user(portal.store, system_actor(actor.id), uid, active=action == "enable",
                    account=actor.account, conn=conn)  # fmt: skip
        audit_auth(conn, portal, f"user_{action}d", user_id=actor.id, email=actor.email or None,
                   user=uid, user_email=row["email"])  # fmt: skip
        if action == "disable":
            end_user_sessions(conn, portal.slug, uid)
            tokens.revoke(conn, portal.slug, uid, [tokens.INVITE, tokens.RESET, tokens.EMAIL])


def account_users_view(portal: RuntimePortal, actor: Actor) -> ViewResult:
    """GET: the account's users and the invitation form. POST: invite, resend, disable, enable."""
    if not actor.is_authenticated:
        return login_redirect()
    if actor.account is None or not assignable_roles(portal.compiled.model, actor.roles):
        abort(403)
    if request.method == "GET":
        return _page(portal, actor)
    chosen = MemberActionForm(request.form)
    action = chosen.action.data
    if action == "invite":
        return _invite(portal, actor)
    if action == "role":
        return _change_role(portal, actor)
    if action not in ("disable", "enable", "resend"):
        abort(400)
    row = _target(portal, actor, chosen.user.data)
    uid = int(row["id"])
    if action == "resend":
        if row["is_active"] or row["password_hash"]:
            abort(400)
        with begin_write(state().engine) as conn:
            link = renew_invitation(conn, portal, uid)
        send_invitation(
            portal, to=row["email"], name=row["name"], inviter=actor.name, link=link,
            locale=row["locale"] or _locale_of(portal),
        )  # fmt: skip
        flash(_("A new invitation was sent to %(email)s.", email=row["email"]), "success")
        return see_other("/account/users")
    if action == "enable" and not row["password_hash"]:
        abort(400)  # an invitee becomes active by accepting the invitation
    if uid == actor.id:
        flash(_("You cannot disable or enable your own account."), "error")
        return _page(portal, actor, 400)
    try:
        _set_active(portal, actor, row, action)
    except NotFound:
        abort(404)
    except LastManager:
        flash(_("Your account would have nobody left who can manage its users."), "error")
        return _page(portal, actor, 409)
    if action == "disable":
        flash(_("%(name)s can no longer sign in.", name=row["name"]), "success")
    else:
        flash(_("%(name)s can sign in again.", name=row["name"]), "success")
    return see_other("/account/users")
