"""The administrator's *test login*: run a provider and show what a login would do.

For SSO providers the administrator starts a flow with purpose `test` and signs in at the
identity provider as the user to check; for form providers (LDAP) they type that user's
name and password. Either way the page shows the claims or attributes received, the
groups, and the account and roles they map to — and writes nothing: no user, no link, no
session (the administrator stays signed in as themselves). The attempt is audited.
"""

from __future__ import annotations

from typing import Any

from portalis.engine.data.db import begin_write
from portalis.engine.data.permissions import Actor
from portalis.engine.definition.auth_config import AuthProvider

from ..context import state
from ..registry import RuntimePortal
from .common import ViewResult, audit_auth, render
from .external import IdentityMapping, map_identity
from .providers import ExternalIdentity, LoginRefused


def may_test(portal: RuntimePortal, actor: Actor) -> bool:
    """True for users with one of the portal's `auth.admin_roles`."""
    admins = portal.compiled.model.auth.admin_roles
    return actor.is_authenticated and bool(actor.roles & admins)


def dry_run(
    portal: RuntimePortal, entry: AuthProvider, identity: ExternalIdentity
) -> IdentityMapping:
    """The mapping a login with `identity` would get (read-only)."""
    with state().engine.connect() as conn:
        return map_identity(conn, portal, entry, identity)


def show_result(
    portal: RuntimePortal,
    actor: Actor,
    entry: AuthProvider,
    identity: ExternalIdentity | None,
    refused: LoginRefused | None = None,
) -> ViewResult:
    """The test-login result page (identity, claims, mapping), audited as `auth_test`."""
    mapping = dry_run(portal, entry, identity) if identity is not None else None
    with begin_write(state().engine) as conn:
        audit_auth(conn, portal, "auth_test", user_id=actor.id, email=actor.email or None,
                   provider=entry.name, subject=identity.subject if identity else None,
                   result=mapping.action if mapping else "refused",
                   reason=(mapping.reason if mapping else refused.reason if refused else None))  # fmt: skip
    claims: list[tuple[str, Any]] = sorted(identity.claims.items()) if identity else []
    return render(
        "admin/test_result.html",
        entry=entry,
        identity=identity,
        claims=claims,
        mapping=mapping,
        refused=refused,
    )
