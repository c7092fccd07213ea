"""`portalis sessions list|revoke` (SECURITY A.16): a user's sessions from the shell, on
SQLite and PostgreSQL. The commands run on a throwaway click group, as `cli.py` registers
them on the real one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from portalis.engine.data.system_tables import audit
from portalis.runtime.cli.sessions import register_session_commands
from portalis.testing.web import WebPortal

SLUG = "acme-support"


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    served = WebPortal.deploy(database_url, tmp_path / "instance")
    try:
        yield served
    finally:
        served.close()


@pytest.fixture
def cli() -> click.Group:
    @click.group()
    def group() -> None:
        """A stand-in for the `portalis` group."""

    register_session_commands(group)
    return group


def run(cli: click.Group, url: str, *args: str) -> click.testing.Result:
    return CliRunner().invoke(cli, ["sessions", *args, "--database-url", url])


def test_a16_cli_lists_and_revokes_a_users_sessions(
    web: WebPortal, cli: click.Group, database_url: str
) -> None:
    ben = web.client("ben@acme.test")
    web.client("ben@acme.test")  # a second browser
    anna = web.client("anna@acme.test")
    assert ben.get("/profile").status_code == 200

    listed = run(cli, database_url, "list", SLUG, "BEN@acme.test")
    assert listed.exit_code == 0, listed.output
    lines = [line for line in listed.stdout.splitlines() if line.strip()]
    assert len(lines) == 2 and all(
        "127.0.0.1" in line and "portalis-tests" in line for line in lines
    )
    assert "2 live session(s) of ben@acme.test" in listed.stderr

    revoked = run(cli, database_url, "revoke", SLUG, "ben@acme.test")
    assert revoked.exit_code == 0, revoked.output
    assert "revoked 2 session(s) of ben@acme.test" in revoked.stdout
    after = ben.get("/profile")
    assert after.status_code == 302 and after.headers["Location"].startswith(f"/{SLUG}/login")
    assert anna.get("/profile").status_code == 200  # other users keep theirs
    assert run(cli, database_url, "list", SLUG, "ben@acme.test").stdout.strip() == ""

    with web.engine.connect() as conn:
        rows = list(
            conn.execute(
                sa.select(audit).where(audit.c.action == "sessions_revoked_by_admin")
            ).mappings()
        )
    (entry,) = rows
    assert entry["actor_email"] == "ben@acme.test"
    assert entry["detail"] == {"via": "cli", "count": 2}


def test_cli_unknown_user_or_portal_exits_1(
    web: WebPortal, cli: click.Group, database_url: str
) -> None:
    missing = run(cli, database_url, "revoke", SLUG, "nobody@acme.test")
    assert missing.exit_code == 1
    assert "no user 'nobody@acme.test'" in missing.stderr
    portal = run(cli, database_url, "list", "no-such-portal", "ben@acme.test")
    assert portal.exit_code == 1 and "error:" in portal.stderr
