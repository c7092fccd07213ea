"""The `portalis` CLI end to end: deploy, plan, versions, diff, export, rollback, users.

Most steps run the commands in the test process (`run`); the first step of each family runs
the installed console script (`run_process`): its exit code and streams at the process
boundary, with the real password hashing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from portalis.engine.data.db import create_engine
from portalis.testing.cli import CliResult, invoke, run_process
from portalis.testing.portals import BLUEPRINTS


def run(*args: str, url: str, stdin: str | None = None) -> CliResult:
    return invoke(*args, env={"PORTALIS_DATABASE_URL": url}, stdin=stdin)


def run_script(*args: str, url: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PORTALIS_DATABASE_URL": url, "HOME": "/tmp"}
    return run_process(*args, env=env, stdin=stdin)


@pytest.fixture
def definition(tmp_path: Path) -> Path:
    target = tmp_path / "b2c"
    shutil.copytree(BLUEPRINTS / "b2c", target)
    return target


def test_cli_deploy_lifecycle(database_url: str, definition: Path, tmp_path: Path) -> None:
    first = run_script("deploy", str(definition), "--seed", url=database_url)
    assert first.returncode == 0, first.stderr
    assert "published version 1" in first.stdout
    again = run("deploy", str(definition), "--seed", url=database_url)
    assert again.returncode == 0 and "already deployed as version 1" in again.stdout
    assert "no schema changes" in again.stdout

    ticket = definition / "entities" / "ticket.yaml"
    original = ticket.read_text()
    ticket.write_text(
        original.replace("      body:\n", "      channel:\n        type: string\n      body:\n", 1)
    )
    plan = run("plan", str(definition), url=database_url)
    assert plan.returncode == 0, plan.stderr
    assert "+ add column p_acme_support__ticket.channel" in plan.stdout
    assert "1 additive, 0 removal, 0 destructive" in plan.stdout
    assert run("deploy", str(definition), url=database_url).returncode == 0

    ticket.write_text(original)  # removing the field again is destructive
    refused = run_script("deploy", str(definition), url=database_url)
    assert refused.returncode == 1
    assert "drop column p_acme_support__ticket.channel" in refused.stderr
    assert "--allow-destructive" in refused.stderr

    versions = run("versions", "acme-support", url=database_url)
    assert versions.returncode == 0 and versions.stdout.splitlines()[-1].startswith("*    2")
    changes = run("diff", "acme-support", "1", "2", url=database_url)
    assert "+      channel:" in changes.stdout and "+ field ticket.channel" in changes.stdout
    out = tmp_path / "export"
    assert (
        run("export", "acme-support", str(out), "--version", "1", url=database_url).returncode == 0
    )
    assert (out / "entities" / "ticket.yaml").read_bytes() == (
        BLUEPRINTS / "b2c" / "entities" / "ticket.yaml"
    ).read_bytes()
    back = run("rollback", "acme-support", "1", "--allow-destructive", url=database_url)
    assert back.returncode == 0, back.stderr


def test_cli_users(database_url: str, definition: Path) -> None:
    assert run("deploy", str(definition), "--seed", url=database_url).returncode == 0
    made = run_script(
        "users", "create", "acme-support", "--email", "Zoe@Acme.test", "--name", "Zoe",
        "--role", "customer", "--account", "acme", url=database_url,
        stdin="a long passphrase 1\na long passphrase 1\n",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    short = run(
        "users", "create", "acme-support", "--email", "x@acme.test", "--name", "X",
        "--role", "customer", url=database_url, stdin="short\nshort\n",
    )  # fmt: skip
    assert short.returncode == 1 and "password" in short.stderr
    common = run(
        "users", "create", "acme-support", "--email", "y@acme.test", "--name", "Y",
        "--role", "customer", url=database_url, stdin="1qaz2wsx3edc\n1qaz2wsx3edc\n",
    )  # fmt: skip
    assert common.returncode == 1 and "common" in common.stderr
    listed = run("users", "list", "acme-support", url=database_url)
    assert "zoe@acme.test" in listed.stdout
    assert (
        run("users", "disable", "acme-support", "zoe@acme.test", url=database_url).returncode == 0
    )
    listed = run("users", "list", "acme-support", url=database_url)
    assert [line for line in listed.stdout.splitlines() if "zoe@" in line][0].endswith("disabled")


def test_cli_usage_errors_exit_2(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/x.sqlite"
    assert run_script("deploy", url=url).returncode == 2
    assert run_script("rollback", "acme-support", "not-a-number", url=url).returncode == 2
    missing = run_script("versions", "nothing-here", url=url)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr


def test_cli_plan_keeps_hand_made_indexes_and_shows_index_drops_apart(
    database_url: str, definition: Path
) -> None:
    assert run("deploy", str(definition), url=database_url).returncode == 0
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE INDEX dba_subject ON p_acme_support__ticket (subject)")
    finally:
        engine.dispose()
    unchanged = run("plan", str(definition), url=database_url)
    assert unchanged.stdout.strip().endswith("no schema changes"), unchanged.stdout
    pages = definition / "pages" / "tickets.yaml"
    pages.write_text(pages.read_text().replace("sort: -updated_at", "sort: -created_at", 1))
    plan = run("plan", str(definition), url=database_url)
    assert plan.returncode == 0, plan.stderr
    table = "p_acme_support__ticket"
    assert f"- drop index ix_{table}__account_updated_at_desc_id on {table}" in plan.stdout
    assert (
        f"+ create index ix_{table}__account_created_at_desc_id on {table}"
        " (account, created_at DESC, id)"
    ) in plan.stdout
    assert "dba_subject" not in plan.stdout
    assert "3 additive, 2 removal, 0 destructive" in plan.stdout
