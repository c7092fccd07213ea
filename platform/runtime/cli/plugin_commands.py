"""The `portalis` group with the plugins' commands (`portalis_cli_commands`).

Built-in commands resolve without loading any plugin, so `portalis validate` and friends stay
quick; a name the group does not know, and `portalis --help`, build the plugin manager once
(as a server builds it, `PORTALIS_DISABLED_PLUGINS` honoured) and look among the plugins'
commands. A plugin command may not take a built-in name. A plugin that cannot be loaded
fails the lookup of an unknown name with one message (exit 1, no traceback) — `portalis
plugins` says more — while `portalis --help` still lists the built-in commands.
"""

from __future__ import annotations

import os
from typing import Any

import click

from .plugins import disabled_names


class PluginCommandGroup(click.Group):
    """A click group that adds the installed plugins' commands when they are asked for."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plugin_commands: dict[str, click.Command] | None = None

    def plugin_commands(self) -> dict[str, click.Command]:
        """The plugins' commands by name (loaded once per process)."""
        if self._plugin_commands is None:
            from .. import default_plugins

            try:
                pm = default_plugins.plugin_manager(disabled=disabled_names(os.environ))
                found = default_plugins.cli_commands(pm)
            except Exception as exc:  # any plugin's import or validation error
                raise click.ClickException(
                    f"the plugins' commands cannot be loaded ({exc}); see `portalis plugins`"
                ) from None
            clash = sorted(set(found) & set(self.commands))
            if clash:
                raise click.ClickException(
                    f"a plugin adds a command of a built-in name: {', '.join(clash)}"
                )
            self._plugin_commands = found
        return self._plugin_commands

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A built-in command, else a plugin's."""
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        return self.plugin_commands().get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Built-in and plugin command names, sorted (for `--help`)."""
        try:
            extra = self.plugin_commands()
        except click.ClickException as exc:
            click.echo(f"warning: {exc.message}", err=True)
            extra = {}
        return sorted({*super().list_commands(ctx), *extra})
