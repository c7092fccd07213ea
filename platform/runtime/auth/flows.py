"""`/auth/<provider>/<step>`: the flow endpoint every redirect provider (OIDC, SAML) runs on.

A flow starts with a CSRF-checked POST to `/auth/<name>/start` and is remembered in the
session that started it, with its purpose (sign in, link to the signed-in user, step-up,
an administrator's test login) and what the provider must check on return (state, nonce,
PKCE verifier, request id). An identity that comes back without a live flow of this
session is refused (ASVS 10.1.2/10.2.1), so a callback URL replayed in another browser, or
a login forced on a victim, gets nowhere.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import sqlalchemy as sa
from flask import session

from portalis.engine.data.db import begin_write
from portalis.engine.data.permissions import Actor
from portalis.engine.data.tables import utcnow
from portalis.engine.definition.auth_config import AuthProvider

from ..bearer import digest, new_secret
from ..context import state
from ..registry import RuntimePortal
from ..runtime_tables import parked
from ..urls import portal_url
from .common import absolute_url

Purpose = Literal["login", "link", "reauth", "test"]
PURPOSES: tuple[Purpose, ...] = ("login", "link", "reauth", "test")
#: How long a started flow may take (the user types a password at the IdP, maybe a code).
FLOW_SECONDS = 600
#: How long a parked identity-provider answer waits for the finishing GET.
PARK_SECONDS = 120
_SESSION_KEY = "auth_flow"


@dataclass(slots=True)
class FlowContext:
    """One flow of one browser session with one provider entry."""

    portal: RuntimePortal
    entry: AuthProvider
    purpose: Purpose = "login"
    next: str = ""
    #: the provider's own state for the return trip (saved in the session)
    data: dict[str, Any] = field(default_factory=dict)
    #: True when this session started a flow with this provider that has not expired
    active: bool = False

    def url(self, step: str) -> str:
        """The absolute URL of `/auth/<entry>/<step>` (PORTALIS_BASE_URL when configured)."""
        return absolute_url(f"/auth/{self.entry.name}/{step}")

    def path(self, step: str) -> str:
        """The portal-relative URL path of `/auth/<entry>/<step>`."""
        return portal_url(f"/auth/{self.entry.name}/{step}")

    def park(self, payload: dict[str, Any]) -> str:
        """Keep an identity provider's answer server-side; returns a single-use ticket."""
        ticket = new_secret()
        with begin_write(state().engine) as conn:
            conn.execute(parked.delete().where(parked.c.expires_at < utcnow()))
            conn.execute(
                parked.insert().values(
                    id=digest(ticket),
                    portal=self.portal.slug,
                    provider=self.entry.name,
                    payload=json.dumps(payload),
                    expires_at=utcnow() + timedelta(seconds=PARK_SECONDS),
                )
            )
        return ticket

    def unpark(self, ticket: str) -> dict[str, Any] | None:
        """The parked answer for `ticket` (consumed), or None when unknown or expired."""
        with begin_write(state().engine) as conn:
            row = conn.execute(
                sa.select(parked.c.payload, parked.c.expires_at).where(
                    parked.c.id == digest(ticket),
                    parked.c.portal == self.portal.slug,
                    parked.c.provider == self.entry.name,
                )
            ).first()
            if row is None:
                return None
            conn.execute(parked.delete().where(parked.c.id == digest(ticket)))
        expires = row.expires_at
        if expires.tzinfo is None:  # SQLite returns naive UTC
            expires = expires.replace(tzinfo=utcnow().tzinfo)
        if expires <= utcnow():
            return None
        data: dict[str, Any] = json.loads(row.payload)
        return data


def saved_flow(portal: RuntimePortal, entry: AuthProvider) -> FlowContext:
    """This session's flow with `entry` (inactive when none, another or an expired one)."""
    saved = session.get(_SESSION_KEY)
    if (
        isinstance(saved, dict)
        and saved.get("portal") == portal.slug
        and saved.get("provider") == entry.name
        and saved.get("purpose") in PURPOSES
        and time.time() - float(saved.get("at", 0)) < FLOW_SECONDS
    ):
        return FlowContext(
            portal, entry, saved["purpose"], str(saved.get("next") or ""),
            dict(saved.get("data") or {}), active=True,
        )  # fmt: skip
    return FlowContext(portal, entry)


def save_flow(flow: FlowContext, actor: Actor) -> None:
    session[_SESSION_KEY] = {
        "portal": flow.portal.slug,
        "provider": flow.entry.name,
        "purpose": flow.purpose,
        "next": flow.next,
        "at": time.time(),
        "user": actor.id,
        "data": flow.data,
    }


def end_flow() -> dict[str, Any]:
    """Forget this session's flow; returns what was saved (empty when nothing was)."""
    ended = session.pop(_SESSION_KEY, None)
    return ended if isinstance(ended, dict) else {}
