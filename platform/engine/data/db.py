"""Database engines with the connection settings Portalis relies on.

SQLite gets WAL, `synchronous=FULL`, a 5 s busy timeout, enforced foreign keys and real
transactions (pysqlite's implicit transaction handling is switched off and BEGIN is emitted
explicitly, so DDL and DML share one transaction). PostgreSQL gets pre-ping for recovery.

`SharedConnection` is one connection for a unit of work (the runtime makes one per web
request): checked out on first use, lent to every read, its reads outside any transaction
(autocommit — each statement sees what is committed, as PostgreSQL's READ COMMITTED does
inside a transaction), its writes each one transaction of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from .fulltext.terms import SQL_FUNCTION, stems

SQLITE_BUSY_TIMEOUT_MS = 5000


def _stems(language: str, text: Any) -> str:
    return stems(str(language), None if text is None else str(text))


def is_sqlite(bind: sa.Engine | sa.Connection) -> bool:
    """True when `bind` talks to SQLite."""
    return bind.dialect.name == "sqlite"


def normalize_url(url: str) -> str:
    """Map plain `postgresql://` URLs onto the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def create_engine(url: str, **kwargs: Any) -> sa.Engine:
    """An SQLAlchemy engine for `url` with Portalis' connection settings."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {}).setdefault("check_same_thread", False)
        kwargs["connect_args"].setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        engine = sa.create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if url.startswith("postgresql"):
        # a server that swallows packets must not stall a request or a worker forever
        kwargs.setdefault("connect_args", {}).setdefault("connect_timeout", 10)
    return sa.create_engine(url, **kwargs)


def _configure_sqlite(engine: sa.Engine) -> None:
    memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's BEGIN below control transactions instead of pysqlite.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()
        # the stems of the full-text indexes' triggers (`fulltext.index`)
        dbapi_conn.create_function(SQL_FUNCTION, 2, _stems, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        if conn.info.get(_AUTOCOMMIT):
            return  # a shared connection's reads: each statement commits on its own
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")


@contextmanager
def begin_write(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A write transaction. On SQLite it starts with BEGIN IMMEDIATE, so concurrent writers
    wait for the lock (busy timeout) instead of failing when a read lock is upgraded."""
    with engine.connect() as conn:
        conn.info["write"] = True
        try:
            with conn.begin():
                yield conn
        finally:
            conn.info.pop("write", None)


#: `Connection.info` flag of a shared connection's autocommit reads on SQLite (there the
#: driver's own autocommit is always on and Portalis emits BEGIN itself: it just does not).
_AUTOCOMMIT = "portalis_autocommit"


class SharedConnection:
    """One connection for a unit of work — a web request, say — checked out on first use and
    returned by `close()`.

    Reads (`read()`) share it and run outside any transaction: no BEGIN, nothing held between
    statements, so a write elsewhere is never blocked by them and later reads see it. Writes
    (`begin_write()`) are each one transaction on the same connection, as `begin_write(engine)`
    would run them; a write begun while another is open on it gets a connection of its own.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._conn: sa.Connection | None = None
        self._writing = False

    @property
    def checked_out(self) -> bool:
        """True once a read or write took the connection (until `close()`)."""
        return self._conn is not None

    def _connection(self) -> sa.Connection:
        if self._conn is not None and self._conn.invalidated:
            self.close()  # lost to a disconnect: the next statement gets a fresh connection
        if self._conn is None:
            conn = self.engine.connect()
            try:
                _autocommit(conn, True)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """The connection for reads (left open for the next reader); inside this object's
        write transaction, that transaction's connection (reads see what it wrote)."""
        yield self._connection()

    @contextmanager
    def begin_write(self) -> Iterator[sa.Connection]:
        """A write transaction on the shared connection (BEGIN IMMEDIATE on SQLite),
        committed when the block ends and rolled back when it raises."""
        if self._writing:
            with begin_write(self.engine) as other:
                yield other
            return
        conn = self._connection()
        if conn.in_transaction():
            conn.commit()  # ends the reads' autocommit "transaction": it holds nothing
        _autocommit(conn, False)
        conn.info["write"] = True
        self._writing = True
        try:
            with conn.begin():
                yield conn
        finally:
            self._writing = False
            conn.info.pop("write", None)
            try:
                _autocommit(conn, True)
            except sa.exc.SQLAlchemyError:
                self.close()  # a broken connection: the next read checks out a fresh one

    def close(self) -> None:
        """Return the connection to the pool (a later read checks one out again)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.info.pop(_AUTOCOMMIT, None)
            conn.close()


def _autocommit(conn: sa.Connection, on: bool) -> None:
    """Switch `conn` (outside a transaction) between autocommit reads and transactions."""
    if is_sqlite(conn):
        if on:
            conn.info[_AUTOCOMMIT] = True
        else:
            conn.info.pop(_AUTOCOMMIT, None)
        return
    level = "AUTOCOMMIT" if on else conn.default_isolation_level
    conn.execution_options(isolation_level=level)
