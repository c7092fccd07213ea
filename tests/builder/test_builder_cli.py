"""`portalis builder-users create|list|disable` on SQLite and PostgreSQL, through the real
`portalis` group (the builder adds the command with `portalis_cli_commands`), and the
builder in `portalis plugins`."""

from __future__ import annotations

import os

import sqlalchemy as sa
from builder_support import PASSWORD, BuilderBrowser, audit_actions

from portalis.builder.accounts import find_account
from portalis.runtime.runtime_tables import sessions
from portalis.testing.cli import invoke, run_process
from portalis.testing.web import WebPortal

EMAIL = "Admin@Example.test"


def _create(web_url: str, *args: str, password: str = PASSWORD) -> tuple[int, str, str]:
    result = invoke(
        "builder-users", "create", *args, "--database-url", web_url,
        stdin=f"{password}\n{password}\n",
    )  # fmt: skip
    return result.returncode, result.stdout, result.stderr


def test_a16_builder_users_create_list_disable(web: WebPortal, database_url: str) -> None:
    code, out, err = _create(database_url, EMAIL, "--portal", web.slug, "--can", "publish")
    assert code == 0, err
    assert "created builder account #1 admin@example.test" in out
    code, _, err = _create(database_url, "all@example.test", "--all")
    assert code == 0, err
    listed = invoke("builder-users", "list", "--database-url", database_url)
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert "admin@example.test" in lines[0] and "acme-support:edit,publish,view" in lines[0]
    assert "all@example.test" in lines[1] and "*:edit,view" in lines[1]
    with web.engine.connect() as conn:
        account = find_account(conn, EMAIL)
    assert account is not None and account.rights.can(web.slug, "publish")
    assert not account.rights.can("other", "view")

    # a signed-in account is signed out when disabled
    browser = BuilderBrowser(web.app)
    browser.sign_in(EMAIL)
    assert browser.get("/_builder/").status_code == 200
    disabled = invoke("builder-users", "disable", EMAIL, "--database-url", database_url)
    assert disabled.returncode == 0 and "disabled admin@example.test" in disabled.stdout
    assert browser.get("/_builder/").status_code == 303
    with web.engine.connect() as conn:
        live = conn.execute(
            sa.select(sa.func.count()).where(
                sessions.c.portal == "_builder", sessions.c.revoked.is_(False)
            )
        ).scalar_one()
    assert live == 0
    assert "disabled" in invoke("builder-users", "list", "--database-url", database_url).stdout
    actions = audit_actions(web.engine)
    assert actions[:2] == ["builder_account_created", "builder_account_created"]
    assert actions[-1] == "builder_account_disabled"


def test_a2_builder_users_create_refuses_bad_input(web: WebPortal, database_url: str) -> None:
    code, _, err = _create(database_url, "a@example.test", "--all", password="short")
    assert code == 1 and "password: too-short" in err
    code, _, err = _create(database_url, "a@example.test", "--all", password="123qweasdzxc")
    assert code == 1 and "password: common" in err
    code, _, err = _create(database_url, "a@example.test")
    assert code == 2 and "--portal SLUG" in err
    code, _, err = _create(database_url, "a@example.test", "--all", "--portal", web.slug)
    assert code == 2
    code, _, err = _create(database_url, "a@example.test", "--portal", "nope")
    assert code == 1 and "no published portal nope" in err
    code, _, err = _create(database_url, "a@example.test", "--all", "--can", "root")
    assert code == 2
    assert _create(database_url, "a@example.test", "--all")[0] == 0
    code, _, err = _create(database_url, "A@example.test", "--all")
    assert code == 1 and "exists already" in err
    missing = invoke("builder-users", "disable", "x@example.test", "--database-url", database_url)
    assert missing.returncode == 1 and "no builder account" in missing.stderr


def test_the_command_and_the_plugin_list(tmp_path: object) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTALIS_")}
    listed = run_process("plugins", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "builder  [entry point]  portalis" in listed.stdout
    assert "portalis_platform_blueprints" in listed.stdout
    assert "builder-users" in run_process("--help", env=env).stdout

    off = {**env, "PORTALIS_DISABLED_PLUGINS": "builder"}
    listed = run_process("plugins", env=off)
    assert "builder  [entry point]  portalis 0.1.0  DISABLED" in listed.stdout
    gone = run_process("builder-users", "list", env=off)
    assert gone.returncode == 2 and "No such command 'builder-users'" in gone.stderr


def test_the_password_may_come_from_the_environment(web: WebPortal, database_url: str) -> None:
    result = invoke(
        "builder-users", "create", "ci@example.test", "--portal", web.slug, "--can", "view",
        "--database-url", database_url, env={"PORTALIS_BUILDER_PASSWORD": PASSWORD},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Password" not in result.stdout  # not prompted
    with web.engine.connect() as conn:
        account = find_account(conn, "ci@example.test")
    assert account is not None and account.rights.of(web.slug) == {"view"}
    assert PASSWORD not in repr(account)
