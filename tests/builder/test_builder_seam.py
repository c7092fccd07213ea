"""The seam between runtime and builder: platform blueprints and `portalis` commands come
from plugins through typed hooks, are checked when collected, and every state-changing
builder route refuses a request without a CSRF token."""

from __future__ import annotations

import click
import pytest
from builder_support import BuilderBrowser, add_account
from click.testing import CliRunner
from flask import Blueprint

from portalis.engine.plugins import hookimpl
from portalis.runtime import default_plugins
from portalis.runtime.cli.plugin_commands import PluginCommandGroup
from portalis.testing.cli import invoke
from portalis.testing.web import WebPortal


class _Platform:
    def __init__(self, prefix: str, command: str = "extra") -> None:
        self.prefix = prefix
        self.command = command

    @hookimpl
    def portalis_platform_blueprints(self) -> list[Blueprint]:
        return [Blueprint("elsewhere", __name__, url_prefix=self.prefix)]

    @hookimpl
    def portalis_cli_commands(self) -> list[click.Command]:
        return [click.Command(self.command)]


def test_platform_blueprints_must_mount_under_an_underscore_prefix() -> None:
    pm = default_plugins.plugin_manager(extra=[_Platform("/_tools")], load_entrypoints=False)
    assert [bp.url_prefix for bp in default_plugins.platform_blueprints(pm)] == ["/_tools"]
    for prefix in ("/acme-support", "/_static", ""):
        pm = default_plugins.plugin_manager(extra=[_Platform(prefix)], load_entrypoints=False)
        with pytest.raises(ValueError, match="must start with '/_'"):
            default_plugins.platform_blueprints(pm)


def test_two_plugins_cannot_add_one_command_name() -> None:
    pm = default_plugins.plugin_manager(
        extra=[_Platform("/_a", "same"), _Platform("/_b", "same")], load_entrypoints=False
    )
    with pytest.raises(ValueError, match="two plugins add the command 'same'"):
        default_plugins.cli_commands(pm)


def test_every_state_changing_builder_route_needs_a_csrf_token(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    add_account(web.engine, "builder@example.test")
    browser.sign_in("builder@example.test")
    rules = [
        rule
        for rule in web.app.url_map.iter_rules()
        if rule.endpoint.startswith("builder.") and "POST" in (rule.methods or ())
    ]
    assert {rule.endpoint for rule in rules} >= {"builder.login", "builder.logout"}
    for rule in rules:
        path = rule.rule.replace("<slug>", web.slug)
        assert browser.post(path, csrf=False).status_code == 400, path
    assert browser.get("/_builder/").status_code == 200  # nothing above signed out


def test_a_plugin_command_cannot_take_a_built_in_name() -> None:
    group = PluginCommandGroup(name="portalis")
    group.add_command(click.Command("builder-users", help="A built-in of the same name."))
    refused = CliRunner().invoke(group, ["anything"])
    assert refused.exit_code == 1
    assert "a plugin adds a command of a built-in name: builder-users" in refused.output
    listed = CliRunner().invoke(group, ["--help"])
    assert listed.exit_code == 0 and "builder-users" in listed.output
    assert "warning: a plugin adds a command of a built-in name" in listed.output


def test_an_unknown_command_is_a_usage_error() -> None:
    result = invoke("no-such-command")
    assert result.returncode == 2 and "No such command 'no-such-command'" in result.stderr
