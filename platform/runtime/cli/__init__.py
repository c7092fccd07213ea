"""The `portalis` command: validate, plan, deploy, migrate, versions, rollback, diff, export,
users, run, serve, worker, jobs, audit, plugins, sessions, payments — and the installed plugins'
commands (`portalis_cli_commands`, e.g. the builder's `builder-users`).

Exit codes: 0 ok, 1 problems found, 2 usage error. Problems print as
`file:line:col: CODE message (path) — hint`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .audit import register_audit_commands
from .common import (
    checker,
    database_option,
    handle_errors,
    migrate_database,
    open_engine,
    print_problems,
)
from .jobs import register_job_commands
from .payments import register_payment_commands
from .plugin_commands import PluginCommandGroup
from .plugins import register_plugin_commands
from .serve import register_serve_commands
from .sessions import register_session_commands

if TYPE_CHECKING:
    import sqlalchemy as sa

    from portalis.engine.deploy.migrations import Plan
    from portalis.engine.problems import Problem

# Each command imports the engine and runtime modules it uses when it runs, not at start-up:
# `portalis --help` stays instant and every command process pays only for its own work.


def print_plan(plan: Plan) -> None:
    """One line per schema step, destructive ones marked; then the count of each kind."""
    if plan.empty:
        click.echo("no schema changes")
        return
    for line in plan.describe():
        click.echo(line)
    click.echo(
        f"{len(plan.additive)} additive, {len(plan.removals)} removal, "
        f"{len(plan.destructive)} destructive step(s)"
    )


@click.group(cls=PluginCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="portalis", prog_name="portalis")
def cli() -> None:
    """Portalis: portals as code — validate, deploy and serve definitions."""


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print problems as JSON lines.")
def validate(directory: str, as_json: bool) -> None:
    """Check a definition folder; exit 1 when it has errors."""
    result = checker().check_dir(directory, os.environ)
    if as_json:
        for problem in result.report.sorted():
            click.echo(json.dumps(problem.to_dict(), ensure_ascii=False))
    else:
        errors, warnings = print_problems(result.report.problems)
        status = "ok" if not errors else "invalid"
        click.echo(f"{directory}: {status} — {errors} error(s), {warnings} warning(s)")
    sys.exit(0 if result.report.ok else 1)


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False))
@database_option
@handle_errors
def plan(directory: str, database_url: str | None) -> None:
    """Show the schema changes deploying DIRECTORY would make (writes nothing)."""
    from portalis.engine.deploy.versions import prepare

    bundle, _ = _bundle(directory)
    engine = open_engine(database_url)
    _, schema_plan = prepare(engine, checker(), bundle, os.environ)
    print_plan(schema_plan)


@cli.command(name="deploy")
@click.argument("directory", type=click.Path(file_okay=False))
@database_option
@click.option("--seed", is_flag=True, help="Load the definition's seed data (idempotent).")
@click.option("--allow-destructive", is_flag=True, help="Apply drops, narrowing type changes.")
@click.option("--note", default=None, help="A note stored with the version.")
@handle_errors
def deploy_command(
    directory: str, database_url: str | None, seed: bool, allow_destructive: bool, note: str | None
) -> None:
    """Validate, migrate and publish DIRECTORY as the portal's live version."""
    from portalis.engine.deploy.versions import deploy

    bundle, _ = _bundle(directory)
    engine = open_engine(database_url)
    _migrate(engine, quiet=True)
    result = deploy(
        engine,
        checker(),
        bundle,
        os.environ,
        allow_destructive=allow_destructive,
        seed=seed,
        note=note,
        deployed_by=os.environ.get("USER"),
        progress=lambda text: click.echo(f"… {text}", err=True),
    )
    print_plan(result.plan)
    what = "published" if result.created else "already deployed as"
    click.echo(f"{result.portal.slug}: {what} version {result.version}")
    if result.seed is not None:
        created = (
            ", ".join(f"{n} {k}" for k, n in sorted(result.seed.created.items())) or "nothing new"
        )
        click.echo(f"seed: created {created}; {result.seed.skipped} already present")


@cli.command(name="migrate")
@database_option
@handle_errors
def migrate_command(database_url: str | None) -> None:
    """Create the platform, runtime and plugin tables servers need (safe to repeat).

    `deploy` runs this step too; run it after installing a plugin that brings tables. Serving
    processes never create tables: until this has run they answer 503 and `/_ready` names
    what is missing.
    """
    engine = open_engine(database_url)
    try:
        _migrate(engine)
    finally:
        engine.dispose()


def _migrate(engine: sa.Engine, *, quiet: bool = False) -> None:
    created = migrate_database(engine)
    if created:
        click.echo(f"… created {len(created)} table(s): {', '.join(created)}", err=True)
    elif not quiet:
        click.echo("… platform tables are up to date", err=True)


@cli.command()
@click.argument("portal")
@database_option
@handle_errors
def versions(portal: str, database_url: str | None) -> None:
    """List the stored versions of PORTAL."""
    from portalis.engine.data.errors import NotFound
    from portalis.engine.deploy.versions import list_versions

    rows = list_versions(open_engine(database_url), portal)
    if not rows:
        raise NotFound(f"portal {portal!r} has no versions")
    for v in rows:
        mark = "*" if v.live else " "
        when = v.created_at.strftime("%Y-%m-%d %H:%M") if v.created_at else ""
        click.echo(
            f"{mark} {v.number:>4}  {when}  {v.sha256[:12]}  {v.created_by or ''}  {v.note or ''}".rstrip()
        )


@cli.command(name="rollback")
@click.argument("portal")
@click.argument("version", type=int)
@database_option
@click.option("--allow-destructive", is_flag=True, help="Apply destructive schema steps.")
@handle_errors
def rollback_command(
    portal: str, version: int, database_url: str | None, allow_destructive: bool
) -> None:
    """Make stored VERSION of PORTAL live again."""
    from portalis.engine.deploy.versions import rollback

    result = rollback(
        open_engine(database_url),
        checker(),
        portal,
        version,
        os.environ,
        allow_destructive=allow_destructive,
    )
    print_plan(result.plan)
    click.echo(f"{portal}: version {version} is live")


@cli.command(name="diff")
@click.argument("portal")
@click.argument("a", type=int)
@click.argument("b", type=int)
@database_option
@handle_errors
def diff_command(portal: str, a: int, b: int, database_url: str | None) -> None:
    """Show what changed from version A to version B of PORTAL."""
    from portalis.engine.deploy.version_diff import diff

    result = diff(open_engine(database_url), checker(), portal, a, b)
    click.echo(result.files, nl=False)
    if result.summary:
        click.echo("\nmodel changes:")
        for line in result.summary:
            click.echo("  " + line)


@cli.command(name="export")
@click.argument("portal")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--version", "number", type=int, default=None, help="Version (default: live).")
@database_option
@handle_errors
def export_command(
    portal: str, directory: str, number: int | None, database_url: str | None
) -> None:
    """Write the files of a version of PORTAL to DIRECTORY, byte-identical."""
    from portalis.engine.deploy.versions import export

    bundle = export(open_engine(database_url), portal, directory, number)
    click.echo(f"wrote {len(bundle.files)} file(s) to {directory} (sha256 {bundle.sha256[:12]})")


@cli.group()
def users() -> None:
    """Manage the users of a portal."""


@users.command(name="create")
@click.argument("portal")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", "roles", multiple=True, required=True, help="Role (repeatable).")
@click.option("--account", default=None, help="Account id or seed key.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@database_option
@handle_errors
def users_create(
    portal: str,
    email: str,
    name: str,
    roles: tuple[str, ...],
    account: str | None,
    password: str,
    database_url: str | None,
) -> None:
    """Create a user of PORTAL."""
    from portalis.engine.accounts.users import create_user
    from portalis.engine.data.db import begin_write
    from portalis.engine.definition.auth_config import PasswordPolicy
    from portalis.engine.deploy.versions import load_live

    from ..auth.policy import check_password

    engine = open_engine(database_url)
    compiled = load_live(engine, checker(), portal, os.environ)
    policy = compiled.model.auth.password or PasswordPolicy()
    issues = check_password(password, policy, context=(email, name))
    if issues:
        # the same rules as the web flows: length, the common-password list, no e-mail or name
        for issue in issues:
            click.echo(f"password: {issue.code} {issue.params or ''}".rstrip(), err=True)
        sys.exit(1)
    min_length = policy.min_length
    with begin_write(engine) as conn:
        account_id = _account_id(conn, portal, account)
        uid = create_user(
            conn,
            compiled,
            email=email,
            name=name,
            password=password,
            roles=roles,
            account=account_id,
            min_length=min_length,
            via="cli",
        )
    click.echo(f"created user #{uid} {email}")


@users.command(name="list")
@click.argument("portal")
@database_option
@handle_errors
def users_list(portal: str, database_url: str | None) -> None:
    """List the users of PORTAL."""
    from portalis.engine.accounts.users import list_users
    from portalis.engine.deploy.versions import load_live

    engine = open_engine(database_url)
    compiled = load_live(engine, checker(), portal, os.environ)
    with engine.connect() as conn:
        for user in list_users(conn, compiled):
            state = "active" if user.is_active else "disabled"
            click.echo(
                f"{user.id:>5}  {user.email:<32} {user.name:<24} {','.join(user.roles):<20} account={user.account or '-'}  {state}"
            )


@users.command(name="disable")
@click.argument("portal")
@click.argument("email")
@database_option
@handle_errors
def users_disable(portal: str, email: str, database_url: str | None) -> None:
    """Disable a user of PORTAL (their sessions end)."""
    from portalis.engine.accounts.users import set_active
    from portalis.engine.data.db import begin_write
    from portalis.engine.deploy.versions import load_live

    from ..sessions import end_user_sessions

    engine = open_engine(database_url)
    compiled = load_live(engine, checker(), portal, os.environ)
    migrate_database(engine)
    with begin_write(engine) as conn:
        uid = set_active(conn, compiled, email, False, via="cli")
        end_user_sessions(conn, portal, uid)
    click.echo(f"disabled {email}")


def _account_id(conn: sa.Connection, portal: str, account: str | None) -> int | None:
    import sqlalchemy as sa

    from portalis.engine.data.errors import NotFound
    from portalis.engine.data.platform_tables import seed_keys

    if account is None:
        return None
    if account.isdigit():
        return int(account)
    row = conn.execute(
        sa.select(seed_keys.c.record_id).where(
            seed_keys.c.portal == portal,
            seed_keys.c.entity == "account",
            seed_keys.c.key == account,
        )
    ).first()
    if row is None:
        raise NotFound(f"no account with key {account!r}")
    return int(row[0])


def _bundle(directory: str) -> tuple[Any, list[Problem]]:
    from portalis.engine.definition.bundle import read_bundle
    from portalis.engine.problems import DefinitionError, Severity

    if not Path(directory).is_dir():
        raise click.BadParameter(f"{directory!r} is not a folder", param_hint="DIRECTORY")
    bundle, problems = read_bundle(directory)
    if any(p.severity is Severity.ERROR for p in problems):
        raise DefinitionError(problems)
    return bundle, problems


register_serve_commands(cli)
register_job_commands(cli)
register_audit_commands(cli)
register_plugin_commands(cli)
register_session_commands(cli)
register_payment_commands(cli)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="portalis")
