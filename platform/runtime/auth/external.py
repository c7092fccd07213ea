"""External identities → users: binding, just-in-time provisioning, account and role mapping.

Every external provider (OIDC, SAML, LDAP) ends here with a verified `ExternalIdentity`.
The identity is bound to a user by (issuer, subject) only (ASVS 6.8.1): a first login with an
e-mail address that already belongs to a user is refused unless the entry says
`link_by_email: true` and the provider verified that address; such users link the identity
from their profile instead. Roles named in the entry's `role_map` are *managed*: they are
recomputed from the provider's groups at every login; other roles stay as an administrator
set them. `map_identity` decides without writing (the admin's test login shows it), and
`apply_mapping` carries the decision out in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from flask import flash
from werkzeug.wrappers import Response

from portalis.engine.accounts import users
from portalis.engine.accounts.user_writes import update_user
from portalis.engine.data.db import begin_write
from portalis.engine.data.errors import ValidationFailed
from portalis.engine.data.permissions import Actor
from portalis.engine.data.tables import utcnow
from portalis.engine.definition.auth_config import AuthProvider

from ..context import state
from ..registry import RuntimePortal
from ..runtime_tables import identities
from ..templating import gettext as _
from ..templating import provider_label
from .common import ViewResult, audit_auth, see_other, system_actor, user_row
from .identities import link_identity, linked_user
from .login_page import login_page
from .providers import ExternalIdentity, LoginRefused
from .second_factor import complete_sign_in

Action = Literal["sign_in", "create", "link", "refuse"]


@dataclass(frozen=True, slots=True)
class IdentityMapping:
    """What a login with this identity would do (computed without writing anything)."""

    action: Action
    #: the existing user (sign_in, link), None for create and most refusals
    user_id: int | None
    email: str | None
    name: str | None
    #: the account a new user is placed in (id, title), and how it was found
    account: tuple[int, str] | None
    account_source: str
    #: roles the user will have after this login, and the managed ones among them
    roles: tuple[str, ...]
    managed_roles: tuple[str, ...]
    #: why the login is refused (audit reason) and what the user is told
    reason: str | None = None
    message: str | None = None


def _values(raw: Any) -> list[str]:
    """A claim or attribute as a list of strings (single values, lists, comma-less)."""
    if raw is None:
        return []
    if isinstance(raw, list | tuple | set | frozenset):
        return [str(v) for v in raw if v is not None and str(v) != ""]
    return [str(raw)] if str(raw) != "" else []


def mapped_roles(entry: AuthProvider, identity: ExternalIdentity) -> tuple[str, ...]:
    """Roles the entry's `role_map` gives this identity's groups (in role_map order)."""
    role_map: Mapping[str, str] = entry.options.get("role_map") or {}
    groups = {g.lower() for g in identity.groups}
    # a group matches by its full value (a DN) or, for DNs, by its first RDN's value (cn)
    for group in list(groups):
        if "=" in group:
            groups.add(group.split(",", 1)[0].split("=", 1)[1].strip())
    seen: list[str] = []
    for key, role in role_map.items():
        if key.lower() in groups and role not in seen:
            seen.append(role)
    return tuple(seen)


def _managed(entry: AuthProvider) -> tuple[str, ...]:
    role_map: Mapping[str, str] = entry.options.get("role_map") or {}
    return tuple(dict.fromkeys(role_map.values()))


def find_account(
    conn: sa.Connection, portal: RuntimePortal, entry: AuthProvider, identity: ExternalIdentity
) -> tuple[tuple[int, str] | None, str]:
    """The account named by `account_from` (None when not configured or not found) and a
    description of how it was looked for (shown by the test login)."""
    source = entry.options.get("account_from")
    if not source:
        return None, "not configured"
    if source == "email_domain":
        value = (identity.email or "").rpartition("@")[2]
        described = f"e-mail domain {value!r}"
    else:
        claim = str(source).partition(":")[2]
        found = _values(identity.claims.get(claim))
        value = found[0] if found else ""
        described = f"{source} = {value!r}"
    match = str(entry.options.get("account_match") or "name")
    if not value:
        return None, f"{described}: no value"
    account = users.find_account(conn, portal.compiled, match, value)
    if account is None:
        return None, f"{described}: no account whose {match} is {value!r}"
    return account, f"{described} → account {account[1]!r} ({match})"


def map_identity(
    conn: sa.Connection, portal: RuntimePortal, entry: AuthProvider, identity: ExternalIdentity
) -> IdentityMapping:
    """Decide what a login with `identity` does; writes nothing."""
    email = users.normalize_email(identity.email) if identity.email else None
    managed = _managed(entry)
    mapped = mapped_roles(entry, identity)
    account, account_source = find_account(conn, portal, entry, identity)

    def decide(
        action: Action,
        user_id: int | None,
        roles: tuple[str, ...] = (),
        reason: str | None = None,
        message: str | None = None,
    ) -> IdentityMapping:
        return IdentityMapping(
            action, user_id, email, identity.name, account, account_source, roles, managed,
            reason, message,
        )  # fmt: skip

    uid = linked_user(conn, portal.slug, identity)
    if uid is not None:
        row = user_row(conn, portal, uid)
        if row is None or not row["is_active"]:
            return decide("refuse", uid, reason="disabled")
        return decide("sign_in", uid, _synced(row["roles"], managed, mapped))
    existing = users.find_user(conn, portal.compiled, email) if email else None
    if existing is not None:
        if not (entry.options.get("link_by_email") and identity.email_verified):
            message = _(
                "A user with this e-mail address already exists. Sign in the way you usually "
                "do, then link %(provider)s on your profile page.",
                provider=provider_label(entry),
            )
            return decide("refuse", None, reason="email_taken", message=message)
        if not existing["is_active"]:
            return decide("refuse", int(existing["id"]), reason="disabled")
        return decide("link", int(existing["id"]), _synced(existing["roles"], managed, mapped))
    if not entry.options.get("allow_registration"):
        message = _(
            "There is no user for this sign-in yet. Ask your administrator for an invitation."
        )
        return decide("refuse", None, reason="not_registered", message=message)
    if not email:
        return decide("refuse", None, reason="no_email")
    roles = tuple(dict.fromkeys([*(entry.options.get("default_roles") or ()), *mapped]))
    model_roles = portal.compiled.model.roles
    staff_only = bool(roles) and all(model_roles[r].staff for r in roles if r in model_roles)
    if account is None and entry.options.get("account_from") and not staff_only:
        message = _("Your organisation has no account on this portal yet.")
        return decide("refuse", None, roles, reason="no_account", message=message)
    return decide("create", None, roles)


def _synced(
    current: Iterable[str] | None, managed: Iterable[str], mapped: Iterable[str]
) -> tuple[str, ...]:
    """The user's roles with the managed ones replaced by what the provider says now."""
    managed_set = set(managed)
    kept = [r for r in (current or ()) if r not in managed_set]
    return tuple(dict.fromkeys([*kept, *mapped]))


def apply_mapping(
    conn: sa.Connection,
    portal: RuntimePortal,
    entry: AuthProvider,
    identity: ExternalIdentity,
    mapping: IdentityMapping,
) -> dict[str, Any]:
    """Carry out a sign_in/create/link decision in `conn`'s transaction; the user row."""
    if mapping.action == "refuse":
        raise LoginRefused(mapping.reason or "refused", mapping.message)
    now = utcnow()
    # the provider's word is the system's: audit entries name it (`via`), not a user
    system, via = system_actor(), f"provider {entry.name}"
    if mapping.action == "create":
        try:
            uid = users.create_user(
                conn, portal.store, email=mapping.email or "", name=identity.name or mapping.email or "",
                password=None, roles=mapping.roles,
                account=mapping.account[0] if mapping.account else None, actor=system, via=via,
            )  # fmt: skip
        except ValidationFailed as exc:
            raise LoginRefused("provision_failed") from exc
        audit_auth(conn, portal, "user_provisioned", user_id=uid, email=mapping.email,
                   provider=entry.name, roles=list(mapping.roles),
                   account=mapping.account[0] if mapping.account else None)  # fmt: skip
    else:
        assert mapping.user_id is not None
        uid = mapping.user_id
    if mapping.action in ("create", "link"):
        link_identity(conn, portal, entry, identity, uid)
    else:
        conn.execute(
            identities.update()
            .where(
                identities.c.portal == portal.slug,
                identities.c.issuer == identity.issuer,
                identities.c.subject == identity.subject,
            )
            .values(last_login_at=now)
        )
    row = user_row(conn, portal, uid)
    assert row is not None
    if set(row["roles"] or ()) != set(mapping.roles) and mapping.action != "create":
        # only the roles the entry's role_map manages differ (`_synced` keeps the others)
        before = list(row["roles"] or ())
        row = update_user(portal.store, system, uid, roles=mapping.roles, conn=conn, via=via)
        audit_auth(conn, portal, "roles_synced", user_id=uid, email=row["email"],
                   provider=entry.name, before=before, after=list(mapping.roles))  # fmt: skip
    return row


def finish_login(
    portal: RuntimePortal, entry: AuthProvider, identity: ExternalIdentity, next_url: str
) -> ViewResult:
    """Sign in with a verified identity: map, provision/link/sync, then the second factor."""
    try:
        with begin_write(state().engine) as conn:
            mapping = map_identity(conn, portal, entry, identity)
            row = apply_mapping(conn, portal, entry, identity, mapping)
    except LoginRefused as refused:
        with begin_write(state().engine) as conn:
            audit_auth(conn, portal, "login_failed", user_id=None, email=identity.email,
                       provider=entry.name, reason=refused.reason)  # fmt: skip
        message = refused.message or _("Signing in failed. Please contact your administrator.")
        return login_page(portal, 403, next_url=next_url, errors={"sso": [message]})
    return complete_sign_in(portal, row, provider=entry.name, next_url=next_url)


def link_view(
    portal: RuntimePortal,
    actor: Actor,
    entry: AuthProvider,
    identity: ExternalIdentity,
    next_url: str,
) -> Response:
    """A signed-in user links an external identity to themselves (purpose `link`)."""
    assert actor.id is not None
    label = provider_label(entry)
    with begin_write(state().engine) as conn:
        owner = linked_user(conn, portal.slug, identity)
        if owner is None:
            link_identity(conn, portal, entry, identity, actor.id)
    if owner is None:
        flash(_("%(provider)s is now linked to your user.", provider=label), "success")
    elif owner == actor.id:
        flash(_("%(provider)s was already linked to your user.", provider=label), "success")
    else:
        flash(_("This %(provider)s sign-in belongs to another user.", provider=label), "error")
    return see_other("/profile")
