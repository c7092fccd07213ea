"""Throw-away databases for tests: a SQLite file or a private PostgreSQL schema.

PostgreSQL isolation uses one schema per test (selected through `search_path`), so tests can
run in parallel against one server and leave nothing behind.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

#: The PostgreSQL server tests use; override with PORTALIS_TEST_POSTGRES_URL.
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    """The base URL of the test PostgreSQL server."""
    return os.environ.get("PORTALIS_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def postgres_available() -> str | None:
    """None when the test PostgreSQL answers, else the reason it does not."""
    engine = sa.create_engine(postgres_url(), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return None
    except Exception as exc:  # any failure means: not available
        return f"PostgreSQL at {postgres_url()} is not reachable: {exc.__class__.__name__}"
    finally:
        engine.dispose()


@contextmanager
def sqlite_database(directory: Path) -> Iterator[str]:
    """A URL for a fresh SQLite file in `directory`."""
    path = directory / f"portalis-{secrets.token_hex(4)}.sqlite"
    yield f"sqlite:///{path}"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A URL whose connections use a fresh private schema; the schema is dropped afterwards."""
    schema = "t_" + secrets.token_hex(6)
    admin = sa.create_engine(postgres_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in postgres_url() else "?"
        yield f"{postgres_url()}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
