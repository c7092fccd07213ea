"""Builder sessions: the runtime's server-side session records, keyed `BUILDER_KEY`.

The browser's signed builder cookie (`cookie`: not the portals' one) holds a random secret
under `SESSION_KEY` (the database only its SHA-256); the portal user loader accepts only
secrets of its own portal, this one only those of `BUILDER_KEY`. Idle and
absolute timeouts are the builder's own (shorter than a portal's); disabling an account
ends its sessions. Between the password and the second factor the cookie carries a
*pending* sign-in (account id and time, `PENDING_SECONDS`), which opens nothing.
"""

from __future__ import annotations

import time

from flask import g, request, session

from portalis.engine.data.db import begin_write
from portalis.runtime.context import request_client_ip, state
from portalis.runtime.sessions import close_session, open_session, session_state, touch

from .accounts import BUILDER_KEY, Account, account_by_id

#: A builder session ends after this long without a request …
IDLE_MINUTES = 30
#: … and after this long in any case.
ABSOLUTE_HOURS = 8
#: How long the step between password and second factor may take.
PENDING_SECONDS = 600
SESSION_KEY = "builder_session"
PENDING_KEY = "builder_pending"


def current_account() -> Account | None:
    """The signed-in builder account of this request (loaded once), or None."""
    if "builder_account" not in g:
        g.builder_account = _load()
    account: Account | None = g.builder_account
    return account


def _load() -> Account | None:
    secret = session.get(SESSION_KEY)
    if not isinstance(secret, str):
        return None
    engine = state().engine
    with engine.connect() as conn:
        found = session_state(conn, BUILDER_KEY, secret, idle_minutes=IDLE_MINUTES)
        account = account_by_id(conn, found[0]) if found is not None else None
    if found is None or account is None or not account.is_active:
        session.pop(SESSION_KEY, None)
        return None
    if found[1]:
        with begin_write(engine) as conn:
            touch(conn, secret)
    return account


def begin_pending(account: Account) -> None:
    """The password was right: remember the account until its second factor is checked."""
    session[PENDING_KEY] = {"uid": account.id, "at": time.time()}


def pending_account() -> Account | None:
    """The account between password and second factor, while that step is fresh."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    if time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        session.pop(PENDING_KEY, None)
        return None
    with state().engine.connect() as conn:
        account = account_by_id(conn, int(pending.get("uid", 0)))
    return account if account is not None and account.is_active else None


def sign_in(account: Account) -> None:
    """Start a session for `account` with a fresh secret (no fixation): a new cookie
    session too, so its CSRF secret changes. The builder's cookie session is its own
    (`cookie`): a portal sign-in of the same browser stays."""
    session.clear()
    with begin_write(state().engine) as conn:
        secret = open_session(
            conn,
            BUILDER_KEY,
            account.id,
            absolute_hours=ABSOLUTE_HOURS,
            ip=request_client_ip(),
            user_agent=(request.headers.get("User-Agent") or "")[:300],
        )
    session[SESSION_KEY] = secret
    session.permanent = True
    g.builder_account = account


def sign_out() -> None:
    """End the session server-side and clear the cookie session."""
    secret = session.get(SESSION_KEY)
    if isinstance(secret, str):
        with begin_write(state().engine) as conn:
            close_session(conn, secret)
    session.clear()
    g.builder_account = None
