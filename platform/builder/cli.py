"""`portalis builder-users create|list|disable`: builder accounts from the shell.

Added to the `portalis` command through the runtime hook `portalis_cli_commands`. The
conventions are those of `portalis users`: `--database-url` (PORTALIS_DATABASE_URL), the
password prompted twice without echo (or piped on stdin, or PORTALIS_BUILDER_PASSWORD for
scripts), the password rules of portal users, exit code 1 for problems and 2 for usage
errors. Creating and disabling accounts is audited (`via: cli`).
"""

from __future__ import annotations

import os
import sys

import click

from portalis.runtime.cli.common import database_option, handle_errors, migrated_engine

from .rights import ALL_PORTALS, DEFAULT_RIGHTS, RIGHTS


@click.group(name="builder-users")
def builder_users() -> None:
    """Manage the accounts of the builder (/_builder/), separate from portal users."""


@builder_users.command(name="create")
@click.argument("email")
@click.option(
    "--portal", "portals", multiple=True, help="A portal the account may build (repeatable)."
)
@click.option("--all", "all_portals", is_flag=True, help="Every portal, present and future.")
@click.option(
    "--can",
    "rights",
    multiple=True,
    type=click.Choice(RIGHTS),
    help="view, edit (drafts, the default) or publish; each includes the ones before it.",
)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="PORTALIS_BUILDER_PASSWORD",
)
@database_option
@handle_errors
def create_command(
    email: str,
    portals: tuple[str, ...],
    all_portals: bool,
    rights: tuple[str, ...],
    password: str,
    database_url: str | None,
) -> None:
    """Create a builder account EMAIL with rights on --portal SLUG (repeatable) or --all.

    The account signs in at /_builder/login with its password and, from the first sign-in
    on, a second factor (an authenticator app) it sets up then.
    """
    from portalis.engine.data.db import begin_write
    from portalis.engine.deploy.versions import live_versions

    from . import audit
    from .accounts import AccountExists, create_account, normalise_email, password_issues

    if bool(portals) == all_portals:
        raise click.UsageError("give --portal SLUG (repeatable) or --all")
    email = normalise_email(email)
    if "@" not in email:
        raise click.BadParameter("not an e-mail address", param_hint="EMAIL")
    issues = password_issues(password, email)
    if issues:
        for issue in issues:
            click.echo(f"password: {issue.code} {issue.params or ''}".rstrip(), err=True)
        sys.exit(1)
    with migrated_engine(database_url) as engine:
        unknown = sorted(set(portals) - set(live_versions(engine)))
        if unknown:
            click.echo(f"error: no published portal {', '.join(unknown)}", err=True)
            sys.exit(1)
        held = rights or DEFAULT_RIGHTS
        try:
            with begin_write(engine) as conn:
                uid = create_account(
                    conn, email, password, portals=portals or (ALL_PORTALS,), rights=held
                )
                audit.record(
                    conn, "account_created", user_id=uid, email=email, via="cli",
                    by=os.environ.get("USER"), portals=list(portals or (ALL_PORTALS,)),
                    rights=sorted(held),
                )  # fmt: skip
        except AccountExists:
            click.echo(f"error: a builder account {email} exists already", err=True)
            sys.exit(1)
    click.echo(f"created builder account #{uid} {email}")


@builder_users.command(name="list")
@database_option
@handle_errors
def list_command(database_url: str | None) -> None:
    """List the builder accounts with their rights (`*` is every portal)."""
    from .accounts import list_accounts

    with migrated_engine(database_url) as engine, engine.connect() as conn:
        for account in list_accounts(conn):
            state = "active" if account.is_active else "disabled"
            click.echo(
                f"{account.id:>5}  {account.email:<32} {state:<8}  {account.rights.describe()}"
            )


@builder_users.command(name="disable")
@click.argument("email")
@database_option
@handle_errors
def disable_command(email: str, database_url: str | None) -> None:
    """Disable the builder account EMAIL (its sessions end at once)."""
    from portalis.engine.data.db import begin_write
    from portalis.runtime.sessions import end_user_sessions

    from . import audit
    from .accounts import BUILDER_KEY, set_active

    with migrated_engine(database_url) as engine, begin_write(engine) as conn:
        found = set_active(conn, email, False)
        if found is None:
            click.echo(f"error: no builder account {email!r}", err=True)
            sys.exit(1)
        ended = end_user_sessions(conn, BUILDER_KEY, found.id)
        audit.record(
            conn, "account_disabled", user_id=found.id, email=found.email, via="cli",
            by=os.environ.get("USER"), sessions_ended=ended,
        )  # fmt: skip
    click.echo(f"disabled {found.email}")
