"""`SharedConnection` (SQLite and PostgreSQL): one connection for a unit of work, reads without
a transaction, each write one transaction of its own; and a record store reading through it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portalis.engine.data.db import SharedConnection, begin_write, create_engine
from portalis.engine.data.platform_tables import ensure_platform_tables
from portalis.engine.data.system_tables import notification_unread, notifications, system_metadata
from portalis.engine.data.tables import utcnow
from portalis.engine.deploy.validator import Checker
from portalis.engine.outbox import inbox
from portalis.testing.portals import BLUEPRINTS, actor_for, deploy_dir
from portalis.testing.web import database_use

metadata = sa.MetaData()
things = sa.Table("t_shared_thing", metadata, sa.Column("id", sa.Integer, primary_key=True))


@pytest.fixture
def engine(db_engine: sa.Engine) -> sa.Engine:
    metadata.create_all(db_engine)
    return db_engine


def count(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(things)).scalar_one())


def test_reads_share_one_connection_without_a_transaction(engine: sa.Engine) -> None:
    shared = SharedConnection(engine)
    with database_use(engine) as use:
        assert not shared.checked_out
        for _ in range(3):
            with shared.read() as conn:
                assert count(conn) == 0
        assert shared.checked_out
        shared.close()
    assert use.checkouts == 1 and use.transactions <= 1 and use.begins == []
    assert not shared.checked_out


def test_reads_see_writes_made_elsewhere_and_never_block_them(engine: sa.Engine) -> None:
    shared = SharedConnection(engine)
    try:
        with shared.read() as conn:
            assert count(conn) == 0
        # another connection writes while the shared one is checked out (SQLite: no snapshot
        # held, so the writer is not blocked and the next read sees the row)
        with begin_write(engine) as other:
            other.execute(things.insert().values(id=1))
        with shared.read() as conn:
            assert count(conn) == 1
    finally:
        shared.close()


def test_each_write_is_one_transaction_on_the_same_connection(engine: sa.Engine) -> None:
    shared = SharedConnection(engine)
    try:
        with database_use(engine) as use:
            with shared.read() as conn:
                count(conn)
            with shared.begin_write() as conn:
                conn.execute(things.insert().values(id=1))
                conn.execute(things.insert().values(id=2))
            with pytest.raises(sa.exc.IntegrityError), shared.begin_write() as conn:
                conn.execute(things.insert().values(id=3))
                conn.execute(things.insert().values(id=1))  # rolls back id 3 too
            with shared.read() as conn:
                assert count(conn) == 2
        assert use.checkouts == 1
        if engine.dialect.name == "sqlite":
            assert use.begins == ["BEGIN IMMEDIATE", "BEGIN IMMEDIATE"]
        with begin_write(engine) as other:  # the shared connection holds no lock afterwards
            other.execute(things.insert().values(id=4))
        with shared.read() as conn:
            assert count(conn) == 3
    finally:
        shared.close()


def test_a_write_inside_a_write_gets_a_connection_of_its_own(postgres_url_fixture: str) -> None:
    # PostgreSQL only: SQLite has one writer at a time, so nested writers wait for each other
    engine = create_engine(postgres_url_fixture)
    metadata.create_all(engine)
    shared = SharedConnection(engine)
    try:
        with database_use(engine) as use, shared.begin_write() as outer:
            outer.execute(things.insert().values(id=1))
            with shared.begin_write() as inner:
                assert inner is not outer
                inner.execute(things.insert().values(id=2))
            with shared.read() as conn:
                assert conn is outer and count(conn) == 2  # reads see the open write
        assert use.checkouts == 2
    finally:
        shared.close()
        engine.dispose()


def test_a_store_reads_through_the_shared_connection(
    db_engine: sa.Engine, portalis_checker: Checker
) -> None:
    portal = deploy_dir(db_engine, portalis_checker, BLUEPRINTS / "b2c")
    store = portal.store(db_engine)
    anna = actor_for(db_engine, portal, "anna@acme.test")
    shared = SharedConnection(db_engine)
    bound = store.sharing(shared)
    assert store.shared is None and bound.shared is shared
    try:
        with database_use(db_engine) as use:
            page = bound.list(anna, "ticket")
            bound.get(anna, "ticket", page.records[0].id)
            bound.titles(anna, "account", [page.records[0].values["account"]])
            bound.count(anna, "ticket")
        assert use.checkouts == 1 and use.begins == []
        with database_use(db_engine) as use:
            store.list(anna, "ticket")
        assert use.checkouts == 1  # the unbound store: a connection of its own per read
    finally:
        shared.close()


def test_the_unread_counter_starts_from_the_notifications_already_stored(
    db_engine: sa.Engine,
) -> None:
    ensure_platform_tables(db_engine)
    rows = [(7, None), (7, None), (7, utcnow()), (8, utcnow())]
    with begin_write(db_engine) as conn:
        for user_id, read_at in rows:
            conn.execute(
                notifications.insert().values(
                    portal="p", user_id=user_id, kind="k", subject="s", body="b",
                    created_at=utcnow(), read_at=read_at,
                )
            )  # fmt: skip
        conn.execute(notification_unread.delete())
    notification_unread.drop(db_engine)  # a database from before the counter existed
    system_metadata.create_all(db_engine)
    with db_engine.connect() as conn:
        stored = conn.execute(
            sa.select(notification_unread.c.user_id, notification_unread.c.unread)
        ).all()
        assert sorted(map(tuple, stored)) == [(7, 2)]
    with begin_write(db_engine) as conn:
        inbox.add_unread(conn, "p", [7, 8])
        assert inbox.mark_read(conn, portal="p", user_id=7) == 2
    with db_engine.connect() as conn:
        unread = inbox.unread_column("p", sa.literal(7))
        assert conn.execute(sa.select(unread)).scalar_one() == 1
        assert conn.execute(sa.select(inbox.unread_column("p", sa.literal(9)))).scalar_one() == 0
