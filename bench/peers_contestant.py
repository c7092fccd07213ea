"""Portalis as a contestant of the shared peers harness (the list-page benchmark in
`../shared/peers`; its contract is `contestants/__init__.py` there).

The definition next to this module (`peers_def/portal.yaml`) declares a `ticket` entity, a
`customer` role reading tickets scoped to its account, and one page `/tickets` whose `list`
block shows subject, priority, status, account, created_at, updated_at sorted `-updated_at`,
25 rows (`?size=N` picks another page size), and no total, as the harness's page and its floor
(`PEERS_PORTALIS_TOTAL=1` adds the bounded count, "1–25 of 100").

`prepare()` deploys that definition into the run's data file, copies the harness's accounts and
tickets into the portal's tables with the same ids (so the same markers), creates the first
user with `portalis users create` and the others as copies of its row (one password hash for
all: sign-in cost is not measured), and adds the composite index (account, updated_at) the list
needs unless the deployed schema already has one.

Only public names are used — `portalis.api`, `portalis.testing`, the `portalis` command and the
app factory `portalis.runtime.app.create_app` with its `Settings` — so that the module keeps
working when internals move (`tests/test_bench_contestant.py` checks this). The harness's own
modules (`data`, `harness`) are imported where they are used, so that this module imports
without the harness.

Run from this repository's root (the folder `bench` goes on the path by itself, because the
harness has a `bench.py` of its own):

    PEERS_PIP="-e $PWD" PYTHONPATH=$PWD/bench ../shared/peers/run.sh \\
        --contestants handwritten,fab,peers_contestant
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from portalis.api import CompiledPortal, begin_write, utcnow
from portalis.runtime.app import create_app as portalis_app
from portalis.runtime.settings import Settings
from portalis.testing.portals import deploy_served

LABEL = (
    "Portalis runtime (YAML portal: list block, account-scoped read grant; "
    "SQLAlchemy Core, server-side sessions, Argon2 users)"
)
SECRET_KEY = os.environ.get("PEERS_SECRET_KEY", "peers-bench-secret-not-for-production")
SLUG = "bench"
ROLE = "customer"
DEFINITION = Path(__file__).resolve().parent / "peers_def"
#: The harness's page shows no total (nor does its floor); `PEERS_PORTALIS_TOTAL=1` deploys
#: the list with its bounded count ("1–25 of 100"), as the starter's lists show it.
TOTAL = os.environ.get("PEERS_PORTALIS_TOTAL", "") not in ("", "0")
#: The list's row filter and sort. Made here only while the deployed schema has no index
#: that starts with these columns.
LIST_INDEX_COLUMNS = ("account", "updated_at")
LIST_INDEX = "ix_peers_bench_ticket_account_updated_at"


def _url(db_path: str) -> str:
    return f"sqlite:///{os.path.abspath(db_path)}"


def _env(db_path: str) -> dict[str, str]:
    """The settings of every Portalis process of the run (deploy, CLI, harness, workers)."""
    return {
        "PORTALIS_DATABASE_URL": _url(db_path),
        "PORTALIS_INSTANCE_PATH": str(Path(db_path).resolve().parent / "portalis-instance"),
        "PORTALIS_WORKER": "off",  # no outbox thread polling the database next to the page
        "PORTALIS_SECRET_KEY": SECRET_KEY,  # else a key file is written into the instance
    }


def _portalis(env: dict[str, str], *args: str) -> str:
    """Run the installed `portalis` command (next to this interpreter); its output."""
    cli = Path(sys.executable).with_name("portalis")
    done = subprocess.run(
        [str(cli), *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"portalis {args[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return done.stdout


def list_index_present(engine: sa.Engine, table: str) -> bool:
    """Whether an index of `table` starts with the list's filter and sort columns."""
    width = len(LIST_INDEX_COLUMNS)
    return any(
        tuple(index["column_names"][:width]) == LIST_INDEX_COLUMNS
        for index in sa.inspect(engine).get_indexes(table)
    )


def _copy_rows(conn: sa.Connection, portal: CompiledPortal) -> None:
    """The shared accounts and tickets into the portal's tables, with the same ids and the
    same created_at/updated_at text (SQLAlchemy's SQLite format, which Portalis reads)."""
    shared = sa.MetaData()
    accounts = sa.Table("accounts", shared, autoload_with=conn)
    tickets = sa.Table("tickets", shared, autoload_with=conn)
    account_t, ticket_t = portal.tables["account"], portal.tables["ticket"]
    now = sa.literal(utcnow(), account_t.c.created_at.type)
    conn.execute(
        account_t.insert().from_select(
            ["id", "created_at", "updated_at", "version", "name"],
            sa.select(accounts.c.id, now, now, sa.literal(1), accounts.c.name),
        )
    )
    copied = ("created_at", "updated_at", "subject", "body", "priority", "status")
    conn.execute(
        ticket_t.insert().from_select(
            ["id", "version", "account", *copied],
            sa.select(
                tickets.c.id,
                sa.literal(1),
                tickets.c.account_id,
                *(tickets.c[name] for name in copied),
            ),
        )
    )


def _create_users(engine: sa.Engine, portal: CompiledPortal, env: dict[str, str]) -> None:
    """The first shared user through `portalis users create`; the others copy its row (the
    same password hash), so the columns a user row has are the command's business."""
    from data import PASSWORD  # the harness's dataset module

    with engine.connect() as conn:
        shared = sa.Table("users", sa.MetaData(), autoload_with=conn)
        people = conn.execute(
            sa.select(shared.c.email, shared.c.name, shared.c.account_id).order_by(shared.c.id)
        ).all()
    first, rest = people[0], people[1:]
    # outside any transaction of ours: the command writes through its own connection
    _portalis(
        env, "users", "create", SLUG, "--email", first.email, "--name", first.name,
        "--role", ROLE, "--account", str(first.account_id), "--password", PASSWORD,
    )  # fmt: skip
    user_t = portal.tables["user"]
    with begin_write(engine) as conn:
        template = dict(
            conn.execute(sa.select(user_t).where(user_t.c.email == first.email)).mappings().one()
        )
        del template["id"]
        conn.execute(
            user_t.insert(),
            [{**template, "email": p.email, "name": p.name, "account": p.account_id} for p in rest],
        )


def _definition(db_path: str) -> Path:
    """The definition to deploy: `peers_def`, with the list's total when `TOTAL` asks."""
    if not TOTAL:
        return DEFINITION
    target = Path(db_path).resolve().parent / "portalis-definition"
    shutil.copytree(DEFINITION, target, dirs_exist_ok=True)
    portal_yaml = target / "portal.yaml"
    text = portal_yaml.read_text(encoding="utf-8")
    assert "total: false" in text, "the list block of peers_def/portal.yaml sets `total`"
    portal_yaml.write_text(text.replace("total: false", "total: true"), encoding="utf-8")
    return target


def prepare(db_path: str) -> None:
    """Deploy the definition into the run's data file and fill the portal's tables."""
    env = _env(db_path)
    os.makedirs(env["PORTALIS_INSTANCE_PATH"], exist_ok=True)
    portal = deploy_served(env["PORTALIS_DATABASE_URL"], _definition(db_path), seed=False, env=env)
    engine = sa.create_engine(env["PORTALIS_DATABASE_URL"])
    try:
        with begin_write(engine) as conn:
            _copy_rows(conn, portal)
        _create_users(engine, portal, env)  # after the commit: users reference accounts
        ticket_t = portal.tables["ticket"]
        if not list_index_present(engine, ticket_t.name):
            with begin_write(engine) as conn:
                sa.Index(LIST_INDEX, *(ticket_t.c[n] for n in LIST_INDEX_COLUMNS)).create(conn)
        # the shared tables were analyzed when the data file was built; the copies are new
        with begin_write(engine) as conn:
            for name in ("account", "user", "ticket"):
                conn.exec_driver_sql(f"ANALYZE {portal.tables[name].name}")
    finally:
        engine.dispose()


def create_app(db_path: str) -> Any:
    """The Portalis WSGI app on the run's data file (writes nothing at start-up)."""
    # loopback host names, as `portalis run` on 127.0.0.1: the harness's test client asks for
    # `localhost` and its HTTP load for `127.0.0.1:PORT`
    return portalis_app(Settings.from_env(_env(db_path), loopback_hosts=True))


def login(browser: Any, account_id: int) -> None:
    """Sign in through the portal's login form as the account's user."""
    import data  # the harness's modules
    import harness

    harness.form_login(
        browser,
        f"/{SLUG}/login",
        {"email": f"{data.username(account_id)}@example.test", "password": data.PASSWORD},
    )


def list_url(page_size: int) -> str:
    """The tickets list, first page, `page_size` rows."""
    return f"/{SLUG}/tickets?size={page_size}"
