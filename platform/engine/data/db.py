"""Database engines with the connection settings Portalis relies on.

SQLite gets WAL, `synchronous=FULL`, a 5 s busy timeout, enforced foreign keys and real
transactions (pysqlite's implicit transaction handling is switched off and BEGIN is emitted
explicitly, so DDL and DML share one transaction). PostgreSQL gets pre-ping for recovery.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

SQLITE_BUSY_TIMEOUT_MS = 5000


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

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
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
