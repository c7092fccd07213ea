"""Hooks by layer: the engine declares its hooks, the runtime its own, and a plugin manager is
checked once against every spec module it loads (`portalis.engine.plugins`).

The plugins here are real modules registered on real managers; the definition is the b2c
blueprint with a plugin block added.
"""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pluggy
import pytest
from markupsafe import Markup

from portalis.api import DefinitionSection
from portalis.engine.deploy.validator import Checker
from portalis.engine.plugins import definition_sections, hookimpl, make_plugin_manager
from portalis.runtime import default_plugins
from portalis.runtime import hookspecs as runtime_hookspecs
from portalis.testing.portals import b2c_with, plugin_checker
from portalis.web import BlockContext, BlockType

#: The definition section of the plugin block below: its options' schema (no check, the
#: default compile step: a read-only mapping).
COUNT_SECTION = DefinitionSection(
    "block",
    "count",
    {
        "type": "object",
        "properties": {"entity": {"type": "string"}, "title": {"type": "string"}},
        "required": ["entity", "title"],
        "additionalProperties": False,
    },
    "Count",
)


class CountBlock(BlockType):
    """A plugin block whose options its definition section describes."""

    name = "count"

    def render(self, ctx: BlockContext) -> Markup:
        return Markup("<p>{}</p>").format(ctx.block.config["title"])


def plugin_module(name: str, **hooks: Callable[..., Any]) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook_name, func in hooks.items():
        setattr(module, hook_name, hookimpl(func))
    return module


def count_blocks() -> list[BlockType]:
    return [CountBlock()]


def count_sections() -> list[DefinitionSection]:
    return [COUNT_SECTION]


def test_engine_only_manager_refuses_a_runtime_hook_and_names_the_loaded_specs() -> None:
    plugin = plugin_module("acme_blocks", portalis_block_types=count_blocks)
    with pytest.raises(pluggy.PluginValidationError) as exc:
        make_plugin_manager(extra=[plugin], load_entrypoints=False)
    message = str(exc.value)
    assert "portalis_block_types" in message and exc.value.plugin is plugin
    assert "hookspecs loaded: portalis.engine.hookspecs)" in message


def test_runtime_manager_accepts_hooks_of_both_layers() -> None:
    plugin = plugin_module(
        "acme_both", portalis_block_types=count_blocks, portalis_field_types=lambda: []
    )
    pm = default_plugins.plugin_manager(extra=[plugin], load_entrypoints=False)
    names = [block.name for result in pm.hook.portalis_block_types() for block in result]
    assert "count" in names and "list" in names  # the plugin's and the runtime's built-ins
    # the same hooks, through `specs`, in the engine's own factory
    pm = make_plugin_manager(specs=[runtime_hookspecs], extra=[plugin], load_entrypoints=False)
    assert definition_sections(pm).get("block", "count") is None  # this plugin has no section
    sectioned = plugin_module(
        "acme_sectioned", portalis_block_types=count_blocks,
        portalis_definition_sections=count_sections,
    )  # fmt: skip
    pm = make_plugin_manager(specs=[runtime_hookspecs], extra=[sectioned], load_entrypoints=False)
    assert definition_sections(pm).get("block", "count") is COUNT_SECTION


def test_misspelled_runtime_hook_is_rejected_by_the_runtime_manager() -> None:
    typo = plugin_module("acme_typo", portalis_block_type=count_blocks)
    with pytest.raises(pluggy.PluginValidationError) as exc:
        default_plugins.plugin_manager(extra=[typo], load_entrypoints=False)
    assert "portalis_block_type" in str(exc.value) and exc.value.plugin is typo


def test_unknown_argument_of_a_runtime_hook_is_rejected_by_the_runtime_manager() -> None:
    def portalis_portal_routes(app: object) -> list[object]:
        return []

    typo = plugin_module("acme_route_args", portalis_portal_routes=portalis_portal_routes)
    with pytest.raises(pluggy.PluginValidationError) as exc:
        default_plugins.plugin_manager(extra=[typo], load_entrypoints=False)
    message = str(exc.value)
    assert "portalis_portal_routes" in message and "app" in message


def _with_count_block(folder: Path, options: str) -> Path:
    b2c_with(folder, invoices=False)  # managers here know the core and these plugins only
    pages = folder / "pages" / "tickets.yaml"
    text = pages.read_text(encoding="utf-8")
    anchor = "    roles: [customer, agent]\n    blocks:\n"
    assert anchor in text, "the b2c tickets page changed: update this test"
    pages.write_text(text.replace(anchor, f"{anchor}      - count: {options}\n", 1), "utf-8")
    return folder


def test_plugin_block_options_are_checked_when_the_runtime_specs_are_loaded(
    tmp_path: Path,
) -> None:
    checker = plugin_checker(
        plugin_module(
            "acme_blocks",
            portalis_block_types=count_blocks,
            portalis_definition_sections=count_sections,
        )
    )
    good = checker.check_dir(_with_count_block(tmp_path / "good", "{entity: ticket, title: Open}"))
    assert good.report.ok, [p.format() for p in good.report.errors]
    assert good.model is not None
    block = good.model.pages["tickets"].blocks[0]
    assert (block.type, dict(block.config)) == ("count", {"entity": "ticket", "title": "Open"})
    bad = checker.check_dir(_with_count_block(tmp_path / "bad", "{entity: ticket, colour: red}"))
    assert not bad.report.ok
    assert any(p.path[:1] == ("pages",) for p in bad.report.errors)


def test_engine_only_checker_validates_without_loading_the_runtime(tmp_path: Path) -> None:
    """`Checker(make_plugin_manager())` without the runtime's specs: it checks definitions
    (a page with an unknown block type is an error there) and loads no web code."""
    probe = (
        "import sys\n"
        "from portalis.engine.plugins import make_plugin_manager\n"
        "from portalis.engine.deploy.validator import Checker\n"
        "checker = Checker(make_plugin_manager(load_entrypoints=False))\n"
        f"good = checker.check_dir({str(b2c_with(tmp_path / 'core', invoices=False))!r})\n"
        f"bad = checker.check_dir({str(tmp_path / 'portal')!r})\n"
        "web = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug')\n"
        "             or m.startswith(('portalis.runtime', 'portalis.web')))\n"
        "print(good.report.ok, bad.report.ok, web)\n"
    )
    _with_count_block(tmp_path / "portal", "{entity: ticket, title: Open}")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True False []"


def test_runtime_hookspecs_load_no_web_framework() -> None:
    """A manager may load the runtime's specs (e.g. `plugin_checker`) without Flask."""
    probe = (
        "import sys, portalis.runtime.hookspecs; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug')))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_checker_needs_no_runtime_hook_results(tmp_path: Path) -> None:
    """With the runtime's specs loaded but no plugins, the checker builds from the core's own
    definition sections (registered through the same hook as a plugin's)."""
    pm = make_plugin_manager(specs=[runtime_hookspecs], load_entrypoints=False)
    checked = Checker(pm).check_dir(b2c_with(tmp_path / "core", invoices=False))
    assert checked.report.ok
    # the core's own sections only: the twelve built-in blocks and the password provider
    assert sorted((s.place, s.name) for s in definition_sections(pm)) == [
        ("block", "attachments"),
        ("block", "calendar"),
        ("block", "detail"),
        ("block", "feedback"),
        ("block", "form"),
        ("block", "list"),
        ("block", "markdown"),
        ("block", "metrics"),
        ("block", "payments"),
        ("block", "related"),
        ("block", "search"),
        ("block", "search_box"),
        ("provider", "password"),
    ]
