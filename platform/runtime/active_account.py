"""The active account of a signed-in user who belongs to several accounts.

A user acts in one account at a time: the row filters (`scope: account`) and the roles of a
request are those of the active membership. Pages take it from the session (set by the
account switcher, `POST /account/switch`); an API request may name one with the header
`X-Portalis-Account: <account id>` for that request only. Either is checked against the
user's memberships: a header naming an account the user does not belong to answers 404,
like a record they may not see; a session whose membership was ended since falls back to
the home account. Users of one account never pay a query for this (the session check
counts their memberships).
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from flask import abort, request, session

from portalis.engine.accounts.memberships import membership_roles
from portalis.engine.accounts.users import SessionUser
from portalis.engine.data.permissions import Actor
from portalis.engine.definition.model import PortalModel

#: The session key of the active account (absent: the home account).
SESSION_KEY: Final = "account"
#: The request header an API client names its account with.
ACCOUNT_HEADER: Final = "X-Portalis-Account"


def requested_account() -> tuple[int | None, bool]:
    """(the account this request asks for, whether the request named it itself): the
    header's (404 when it is no account id), else the session's, else None."""
    raw = request.headers.get(ACCOUNT_HEADER)
    if raw is not None:
        text = raw.strip()
        if not text.isdigit() or len(text) > 12:
            abort(404)
        return int(text), True
    stored = session.get(SESSION_KEY)
    return (stored if isinstance(stored, int) else None), False


def actor_in_account(conn: sa.Connection, model: PortalModel, user: SessionUser) -> Actor:
    """The user's actor in the account this request is for (see the module's doc)."""
    wanted, named = requested_account()
    home = user.actor(model)
    if wanted is None or wanted == user.account:
        return home
    roles = None if user.accounts < 2 else membership_roles(conn, model.slug, user.id, wanted)
    if roles is None:
        if named:
            abort(404)
        session.pop(SESSION_KEY, None)  # the membership ended: back to the home account
        return home
    return Actor.for_user(
        model, user.id, wanted, roles, email=user.email, name=user.name, locale=user.locale
    )
