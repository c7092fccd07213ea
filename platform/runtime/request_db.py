"""One database connection per request.

A request checks a connection out of the pool once, on its first read, and every read of the
request shares it: the live-version poll, the session check with its user, the record
store's reads (`RuntimePortal.store` is bound to it), the bell. Reads run outside any
transaction (`portalis.engine.data.db.SharedConnection`), so they hold nothing between
statements and see every write that committed before them — also a write this request made on
another connection. Writes keep their transactions: each `begin_write` is one transaction,
on the request's connection when it goes through `write_transaction`. The connection goes
back to the pool when the request ends (`init_app` registers that).

Outside a request (the CLI, the outbox worker, a test arranging data) every helper here
falls back to a connection of its own, as before.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa
from flask import Flask, Request, has_request_context, request

from portalis.engine.data.db import SharedConnection, begin_write
from portalis.engine.data.store import RecordStore

#: attributes of the request object (it exists before the request context, `attach`)
_KEY = "portalis_connection"
_STORES = "portalis_stores"
#: what `_KEY` holds once the request's connection went back to the pool
_RELEASED = False


def init_app(app: Flask) -> None:
    """Return each request's connection to the pool when the request ends."""
    app.teardown_request(release)


def attach(req: Request, engine: sa.Engine) -> SharedConnection:
    """The shared connection of request `req`, made now if it has none — also before the
    request context exists (the Host allow-list, which may poll the live versions, is
    computed then)."""
    shared: SharedConnection | None = getattr(req, _KEY, None) or None
    if shared is None:
        shared = SharedConnection(engine)
        setattr(req, _KEY, shared)
    return shared


def request_connection(engine: sa.Engine) -> SharedConnection | None:
    """This request's shared connection to `engine` (made on first use; the connection
    itself is checked out on the first read); None outside a request."""
    if not has_request_context() or getattr(request, _KEY, None) is _RELEASED:
        return None  # (after the teardown: a connection of its own, not a leaked one)
    shared = attach(request, engine)
    if shared.engine is not engine:
        return None  # another database (a test's second app): a connection of its own
    return shared


def read_connection(engine: sa.Engine) -> AbstractContextManager[sa.Connection]:
    """A connection for reads: the request's shared one (left open for the next reader), or
    outside a request a new one closed at the end of the block."""
    shared = request_connection(engine)
    return shared.read() if shared is not None else engine.connect()


def write_transaction(engine: sa.Engine) -> AbstractContextManager[sa.Connection]:
    """One write transaction (BEGIN IMMEDIATE on SQLite): on the request's connection inside a
    request, else on a connection of its own (`begin_write`)."""
    shared = request_connection(engine)
    return shared.begin_write() if shared is not None else begin_write(engine)


def request_store(store: RecordStore) -> RecordStore:
    """`store` with its reads on the request's connection (made once per request), or
    `store` itself outside a request."""
    shared = request_connection(store.engine)
    if shared is None:
        return store
    stores: dict[int, RecordStore] | None = getattr(request, _STORES, None)
    if stores is None:
        stores = {}
        setattr(request, _STORES, stores)
    bound = stores.get(id(store))
    if bound is None:
        bound = stores[id(store)] = store.sharing(shared)
    return bound


def release(_exc: BaseException | None = None, **_: Any) -> None:
    """Give the request's connection back (teardown; also safe when none was taken)."""
    if not has_request_context():
        return
    setattr(request, _STORES, None)
    shared: SharedConnection | bool | None = getattr(request, _KEY, None)
    setattr(request, _KEY, _RELEASED)
    if isinstance(shared, SharedConnection):
        shared.close()
