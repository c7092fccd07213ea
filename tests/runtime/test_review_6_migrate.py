"""Serving processes create no tables: `portalis deploy` / `portalis migrate` do, under a
database lock (SQLite and PostgreSQL).

Every gunicorn worker used to run `create_all` at start; on a fresh PostgreSQL database two
of them raced (`UniqueViolation ... pg_type_typname_nsp_index`), one exited with code 3 and
gunicorn shut the whole server down.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from click.testing import CliRunner

from portalis.engine.data.db import create_engine
from portalis.engine.deploy.validator import Checker
from portalis.runtime.app import create_app
from portalis.runtime.cli import cli
from portalis.runtime.runtime_tables import missing_tables
from portalis.runtime.settings import Settings
from portalis.testing.concurrency import race
from portalis.testing.databases import postgres_database
from portalis.testing.portals import BLUEPRINTS, deploy_dir, migrate_db
from portalis.testing.smtp import free_port

PORTALIS = str(Path(sys.executable).parent / "portalis")
WORKERS = 4
#: Fresh databases the workers start on. Serving creates no table at all (checked after each
#: start), so the race cannot come back; a few starts keep the check honest at little cost.
STARTS = 3


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def unmigrated(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        return missing_tables(engine)
    finally:
        engine.dispose()


def _env(url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTALIS_")}
    env.update(
        PORTALIS_DATABASE_URL=url,
        PORTALIS_INSTANCE_PATH=str(tmp_path / "instance"),
        PORTALIS_SECRET_KEY="test-secret",
        PORTALIS_WORKER="off",  # only the start-up is under test
        **extra,
    )
    return env


def _start_serve(url: str, tmp_path: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    env = _env(url, tmp_path, PORTALIS_BASE_URL=root)
    with log.open("w") as out:
        server = subprocess.Popen(
            [PORTALIS, "serve", "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return server, root


def _wait_all_workers(server: subprocess.Popen[bytes], root: str, log: Path) -> None:
    """Until `/_ready` answers 200 and every worker has loaded the app (bounded)."""
    deadline = time.monotonic() + 60
    ready = False
    while time.monotonic() < deadline:
        text = log.read_text()
        assert "Worker failed to boot" not in text, text
        assert server.poll() is None, f"gunicorn exited with {server.returncode}:\n{text}"
        booted = set(re.findall(r"portalis app loaded in worker (\d+)", text))
        if not ready:
            try:
                ready = requests.get(f"{root}/_ready", timeout=20).status_code == 200
            except requests.ConnectionError:
                pass  # not listening yet
        if ready and len(booted) == WORKERS:
            return
        time.sleep(0.05)
    raise AssertionError(f"not ready with {WORKERS} workers in time:\n{log.read_text()}")


def test_review_6_four_workers_start_on_fresh_postgres(
    postgres_url_fixture: str, tmp_path: Path, portalis_checker: Checker
) -> None:
    for attempt in range(STARTS):
        # a fresh schema each time: the race was on the first creation of the tables
        with postgres_database() as url:
            if attempt == 0:
                deployed = subprocess.run(
                    [PORTALIS, "deploy", str(BLUEPRINTS / "b2c")],
                    env=_env(url, tmp_path), capture_output=True, text=True, timeout=120,
                )  # fmt: skip
                assert deployed.returncode == 0, deployed.stderr
            else:
                # the platform tables as `portalis deploy` creates them, without a portal:
                # the workers' start is what is under test, not compiling a definition
                migrate_db(url)
            before = tables(url)
            assert not unmigrated(url)
            log = tmp_path / f"serve-{attempt}.log"
            server, root = _start_serve(url, tmp_path, log)
            try:
                _wait_all_workers(server, root, log)
                if attempt == 0:
                    page = requests.get(f"{root}/acme-support/login", timeout=20)
                    assert page.status_code == 200
            finally:
                server.send_signal(signal.SIGQUIT)  # gunicorn's quick shutdown, by PID
                server.wait(timeout=30)
            assert tables(url) == before  # serving created nothing


def test_review_6_unmigrated_database_answers_503(database_url: str, tmp_path: Path) -> None:
    """A server on a database nobody migrated does not crash or create tables: it answers
    503, `/_ready` names what is missing, and it recovers once `portalis migrate` ran."""
    settings = Settings.from_env(
        {"PORTALIS_DATABASE_URL": database_url, "PORTALIS_INSTANCE_PATH": str(tmp_path / "i")},
        testing=True,
        version_check_seconds=0,
    )
    app = create_app(settings)
    try:
        client = app.test_client()
        ready = client.get("/_ready")
        assert ready.status_code == 503 and ready.headers["Retry-After"] == "5"
        assert ready.json is not None
        assert ready.json["status"] == "unmigrated"
        assert ready.json["reason"] == "run portalis migrate"
        assert "portalis_session" in ready.json["missing"]
        assert "portalis_portal" in ready.json["missing"]
        page = client.get("/")
        assert page.status_code == 503 and "Traceback" not in page.get_data(as_text=True)
        assert client.get("/acme-support/api/v1/ticket").status_code == 503
        assert client.get("/_health").status_code == 200
        assert "portalis_session" not in tables(database_url)

        result = CliRunner().invoke(cli, ["migrate", "--database-url", database_url])
        assert result.exit_code == 0, result.output
        assert "created" in result.output and "portalis_session" in result.output
        assert client.get("/_ready").json == {"status": "ok", "portals": []}
        assert client.get("/").status_code == 200
    finally:
        app.extensions["portalis"].engine.dispose()
    again = CliRunner().invoke(cli, ["migrate", "--database-url", database_url])
    assert again.exit_code == 0 and "up to date" in again.output


def test_review_6_concurrent_migrations_do_not_collide(database_url: str) -> None:
    """Four `migrate` runs released together on an empty database: all succeed, and the
    tables are created exactly once (the lock serialises them)."""
    engines = [create_engine(database_url) for _ in range(WORKERS)]
    try:
        outcomes = race(*(lambda e=e: migrate_db(e) for e in engines))
    finally:
        for engine in engines:
            engine.dispose()
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert not errors, errors
    created = [name for outcome in outcomes for name in outcome]
    assert "portalis_session" in created
    assert len(created) == len(set(created))  # nobody created a table twice
    assert not unmigrated(database_url)


@pytest.mark.parametrize("command", [["users", "disable", "acme-support", "ben@acme.test"]])
def test_review_6_cli_commands_migrate_first(
    database_url: str, portalis_checker: Checker, command: list[str]
) -> None:
    """Admin commands that touch runtime tables run the migrate step instead of relying on
    a server having created them."""
    engine = create_engine(database_url)
    try:
        deploy_dir(engine, portalis_checker, BLUEPRINTS / "b2c")
    finally:
        engine.dispose()
    assert "portalis_session" not in tables(database_url)
    result = CliRunner().invoke(cli, [*command, "--database-url", database_url])
    assert result.exit_code == 0, result.output
    assert "portalis_session" in tables(database_url)


def test_review_6_migrate_creates_every_table(database_url: str, tmp_path: Path) -> None:
    """The migrate step creates every table a server checks for, also in a process that never
    imported the runtime modules declaring some of them (idempotency keys), and the
    `portalis migrate` command reports what it created."""
    code = (
        "import sys; from portalis.engine.data.db import create_engine; "
        "from portalis.runtime.cli.common import migrate_database; "
        "migrate_database(create_engine(sys.argv[1]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, database_url], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert unmigrated(database_url) == []

    fresh = tmp_path / "fresh.sqlite"
    url = f"sqlite:///{fresh}" if database_url.startswith("sqlite") else None
    if url is not None:
        done = subprocess.run(
            [PORTALIS, "migrate"], env=_env(url, tmp_path),
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "portalis_idempotency_key" in done.stderr and unmigrated(url) == []
