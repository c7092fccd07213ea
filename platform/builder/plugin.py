"""The builder as a plugin of the runtime (entry point `builder` of the `portalis`
distribution, group `portalis.plugins`): its tables, its blueprint at `/_builder/` and its
`portalis builder-users` commands. `PORTALIS_DISABLED_PLUGINS=builder` serves portals
without it."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Blueprint

from portalis.engine.plugins import hookimpl

from .blueprint import make_blueprint
from .cli import builder_users
from .tables import builder_metadata


@hookimpl
def portalis_runtime_tables() -> list[sa.MetaData]:
    """The builder's accounts and rights."""
    return [builder_metadata]


@hookimpl
def portalis_platform_blueprints() -> list[Blueprint]:
    """The builder at `/_builder/`."""
    return [make_blueprint()]


@hookimpl
def portalis_cli_commands() -> list[click.Command]:
    """`portalis builder-users`."""
    return [builder_users]
