"""The runtime's default plugins (built-in blocks, the inputs of the built-in field types, the
password login provider, the API's marshmallow fields) and the plugin manager every runtime
entry point builds: server, worker, `portalis` commands.

The builder is not a default plugin: the runtime does not know it (`runtime ✗ builder`). The
`portalis` distribution registers it as an ordinary entry point (`builder` in the group
`portalis.plugins`), so it loads — and is listed, and can be disabled — like any installed
plugin, through the hooks `portalis_platform_blueprints` and `portalis_cli_commands`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pluggy
import sqlalchemy as sa

from portalis.engine.plugins import make_plugin_manager

from . import hookspecs

if TYPE_CHECKING:
    import click
    from flask import Blueprint
from .api import fields as api_fields
from .auth import password_plugin
from .blocks import builtin
from .forms import builtin as builtin_inputs


def plugins() -> list[object]:
    """Plugins registered by every runtime application before entry-point plugins."""
    return [builtin, builtin_inputs, password_plugin, api_fields]


def plugin_manager(
    *,
    extra: Iterable[object] = (),
    load_entrypoints: bool = True,
    disabled: Iterable[str] = (),
) -> pluggy.PluginManager:
    """The runtime's plugin manager: the engine's and the runtime's hookspecs, the default
    plugins of both, the installed entry points (unless `load_entrypoints` is False) and
    `extra`. Plugins are checked against both spec modules once, after the last one is
    registered (see `portalis.engine.plugins`)."""
    return make_plugin_manager(
        specs=[hookspecs],
        extra=[*plugins(), *extra],
        load_entrypoints=load_entrypoints,
        disabled=disabled,
    )


def plugin_tables(pm: pluggy.PluginManager) -> list[sa.MetaData]:
    """The `MetaData` of every plugin's own tables (`portalis_runtime_tables`)."""
    results: list[list[sa.MetaData]] = pm.hook.portalis_runtime_tables()
    return [metadata for result in results for metadata in result]


#: Platform-level blueprints mount under this prefix: portal slugs start with a letter.
PLATFORM_PREFIX = "/_"


def platform_blueprints(pm: pluggy.PluginManager) -> list[Blueprint]:
    """Every plugin's platform-level blueprints (`portalis_platform_blueprints`), checked:
    a blueprint must mount under `/_…`, so it can never shadow a portal."""
    results: list[list[Blueprint]] = pm.hook.portalis_platform_blueprints()
    found = [bp for result in reversed(results) for bp in result]
    for bp in found:
        prefix = bp.url_prefix or ""
        if not prefix.startswith(PLATFORM_PREFIX) or prefix in ("/_static", "/_health", "/_ready"):
            raise ValueError(
                f"blueprint {bp.name!r}: url_prefix {prefix!r} must start with "
                f"{PLATFORM_PREFIX!r} and not name a built-in path"
            )
    return found


def cli_commands(pm: pluggy.PluginManager) -> dict[str, click.Command]:
    """Every plugin's `portalis` commands by name (`portalis_cli_commands`); two plugins
    adding the same name is an error."""
    results: list[list[click.Command]] = pm.hook.portalis_cli_commands()
    commands: dict[str, click.Command] = {}
    for result in reversed(results):
        for command in result:
            name = command.name or ""
            if name in commands:
                raise ValueError(f"two plugins add the command {name!r}")
            commands[name] = command
    return commands
