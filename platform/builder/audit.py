"""Builder events in the audit log (the engine's `portalis_audit`, written with `record_auth`).

Every entry's action starts with `builder_`; its `portal` is the portal the action concerns,
or `BUILDER_KEY` for the builder itself (sign-in, sign-out, enrolment). The actor is the
builder account (its id and e-mail address); `detail` never holds a secret or a code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import has_request_context

from portalis.engine.data.audit import record_auth
from portalis.runtime.context import request_client_ip

from .accounts import BUILDER_KEY

if TYPE_CHECKING:
    from .accounts import Account


def record(
    conn: sa.Connection,
    action: str,
    *,
    user_id: int | None,
    email: str | None,
    portal: str = BUILDER_KEY,
    **detail: Any,
) -> int:
    """Write `builder_<action>` inside `conn`'s transaction (with the client address when
    called in a request); returns the entry's id."""
    ip = request_client_ip() if has_request_context() else None
    return record_auth(
        conn,
        portal=portal,
        action=f"builder_{action}",
        actor_id=user_id,
        email=email,
        ip=ip,
        detail=detail or None,
    )


def record_by(
    conn: sa.Connection, action: str, account: Account, *, portal: str = BUILDER_KEY, **detail: Any
) -> int:
    """`record` with `account` as the actor."""
    return record(conn, action, user_id=account.id, email=account.email, portal=portal, **detail)
