"""Request context: the application state, the current portal, actor and locale.

Flask-Login keeps `"<portal>|<session secret>"` as the user id; the loader checks the secret
against the server-side session records, so logout, disabling a user and the idle/absolute
timeouts end sessions everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy
import sqlalchemy as sa
from flask import current_app, g, has_request_context, request, session
from flask_login import UserMixin, current_user, login_user, logout_user

from portalis.engine.accounts.users import SessionUser, user_by_id
from portalis.engine.data.permissions import Actor
from portalis.engine.deploy.validator import Checker
from portalis.engine.guards import RequestGuard

from .active_account import actor_in_account
from .blocks.base import BlockRegistry
from .i18n import I18n
from .registry import PortalRegistry, RuntimePortal
from .request_db import read_connection, write_transaction
from .security import client_ip
from .sessions import close_session, open_session, session_query, session_with_user, touch
from .settings import Settings

if TYPE_CHECKING:
    from .auth.second_factor import SecondFactor


@dataclass(slots=True)
class AppState:
    """Per-application state (kept in `app.extensions["portalis"]`, never module-global)."""

    settings: Settings
    engine: sa.Engine
    pm: pluggy.PluginManager
    checker: Checker
    registry: PortalRegistry
    blocks: BlockRegistry
    i18n: I18n
    extra: dict[str, Any] = field(default_factory=dict)
    #: the plugins' request guards, collected once at start-up (called on every portal request)
    guards: tuple[RequestGuard, ...] = ()
    #: the plugins' second factors, collected once at start-up (in registration order)
    second_factors: tuple[SecondFactor, ...] = ()


def state() -> AppState:
    """The current application's state."""
    result: AppState = current_app.extensions["portalis"]
    return result


def current_portal() -> RuntimePortal:
    """The portal this request is for (set by the dispatcher)."""
    portal: RuntimePortal = g.portal
    return portal


def request_portal() -> RuntimePortal | None:
    """The portal of the current request, or None outside one (a CLI command, a job, a
    request that is not addressed to a portal)."""
    if not has_request_context():
        return None
    portal: RuntimePortal | None = g.get("portal")
    return portal


def database() -> sa.Engine:
    """The current application's database engine (for a plugin's own tables)."""
    return state().engine


def current_actor() -> Actor:
    """The actor of this request (anonymous when not signed in)."""
    actor: Actor | None = g.get("actor")
    if actor is None:
        # the client address travels with the actor into the audit log of every write
        actor = load_actor().with_ip(request_client_ip())
        g.actor = actor
    return actor


def request_client_ip() -> str:
    """This request's client address (X-Forwarded-For only from trusted proxies)."""
    return client_ip(
        request.remote_addr,
        request.headers.get("X-Forwarded-For"),
        state().settings.trusted_proxies,
    )


#: `RuntimePortal.cache` key of the version's session query (built once, `session_query`)
_SESSION_QUERY = "session_query"
#: Portal paths a page calls by itself (live updates' polls): no user activity, so they never
#: move the session's idle timeout — an open tab must not keep a session alive forever. (By
#: path: request guards load the user before the URL is matched.)
PASSIVE_PATHS = ("/_updates/",)


class PortalUser(UserMixin):  # type: ignore[misc]
    """The Flask-Login user: one signed-in user of one portal, with their actor.

    `user` is what every request needs (loaded with the session in one query); `row`, the
    whole user row with its authentication columns, is read only when a page asks for it.
    """

    def __init__(
        self,
        portal: str,
        secret: str,
        actor: Actor,
        user: SessionUser,
        row: dict[str, Any] | None = None,
    ) -> None:
        self.portal = portal
        self.secret = secret
        self.actor = actor
        self.user = user
        self._row = row

    def get_id(self) -> str:
        return f"{self.portal}|{self.secret}"

    @property
    def row(self) -> dict[str, Any] | None:
        """The user's row (read once per request, on the request's connection)."""
        if self._row is None:
            with read_connection(state().engine) as conn:
                self._row = user_by_id(conn, current_portal().compiled, self.user.id)
        return self._row


def load_user(user_id: str) -> PortalUser | None:
    """Flask-Login user loader: validate the session record for the current portal.

    One query (session, user and unread count) on the request's connection; at most once a
    minute also a short write of `last_seen`, and only then is the session cookie re-sent
    (never for `PASSIVE_PATHS`).
    """
    portal = g.get("portal")
    if portal is None or "|" not in user_id:
        return None
    slug, secret = user_id.split("|", 1)
    if slug != portal.slug:
        return None
    model = portal.compiled.model
    engine = state().engine
    query = portal.cache.get(_SESSION_QUERY)
    if query is None:
        query = portal.cache[_SESSION_QUERY] = session_query(portal.compiled)
    with read_connection(engine) as conn:
        found = session_with_user(conn, query, secret, idle_minutes=model.auth.idle_minutes)
        if found is None or not found[0].is_active:
            return None
        user, due = found
        actor = actor_in_account(conn, model, user)
    if due and not g.get("passive_request", False):
        with write_transaction(engine) as conn:
            touch(conn, secret)
        session.modified = True  # the cookie's expiry moves with the activity
    return PortalUser(slug, secret, actor, user)


def load_actor() -> Actor:
    """The signed-in user's actor, or an anonymous one."""
    user = current_user
    if getattr(user, "is_authenticated", False) and isinstance(
        user._get_current_object(), PortalUser
    ):
        return user.actor  # type: ignore[no-any-return]
    return Actor.anonymous()


def current_user_row() -> dict[str, Any] | None:
    """The signed-in user's row (including authentication columns), if any; read on first
    use in a request (`current_session_user` has what most requests need)."""
    user = current_user._get_current_object()
    return user.row if isinstance(user, PortalUser) else None


def current_session_user() -> SessionUser | None:
    """What every request knows of its signed-in user (with the unread count), if any."""
    user = current_user._get_current_object()
    return user.user if isinstance(user, PortalUser) else None


def sign_in(portal: RuntimePortal, user_row: dict[str, Any], *, ip: str, user_agent: str) -> None:
    """Start a fresh server-side session (new secret: no session fixation)."""
    model = portal.compiled.model
    session.clear()
    with write_transaction(state().engine) as conn:
        secret = open_session(
            conn,
            portal.slug,
            int(user_row["id"]),
            absolute_hours=model.auth.absolute_hours,
            ip=ip,
            user_agent=user_agent,
        )
    user = SessionUser.of_row(user_row)
    actor = Actor.for_user(model, user.id, user.account, user.roles)
    login_user(PortalUser(portal.slug, secret, actor, user, user_row))
    session.permanent = True
    # when the user last proved who they are (step-up before sensitive changes reads it)
    session["auth_at"] = time.time()
    g.actor = actor.with_ip(ip)


def rotate_session(
    portal: RuntimePortal, user_row: dict[str, Any], *, ip: str, user_agent: str
) -> None:
    """After a step-up: a new session id for the same user, the old one ended (no
    fixation of a session whose privileges just grew)."""
    user = current_user._get_current_object()
    old = user.secret if isinstance(user, PortalUser) else None
    sign_in(portal, user_row, ip=ip, user_agent=user_agent)
    if old is not None:
        with write_transaction(state().engine) as conn:
            close_session(conn, old)


def sign_out(record: Callable[[sa.Connection], None] | None = None) -> None:
    """End the current session server-side and clear the cookie session.

    `record` runs in the transaction that ends the session (the audit entry of a logout).
    """
    user = current_user._get_current_object()
    if isinstance(user, PortalUser):
        with write_transaction(state().engine) as conn:
            close_session(conn, user.secret)
            if record is not None:
                record(conn)
    logout_user()
    session.clear()
    g.actor = Actor.anonymous().with_ip(request_client_ip())
