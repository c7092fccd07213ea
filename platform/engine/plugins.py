"""The plugin manager: one pluggy manager per application or engine context (no globals)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pluggy
import sqlalchemy as sa

from . import fieldtypes, hookspecs
from .fields import FieldTypeRegistry
from .guards import RequestGuard

hookimpl = hookspecs.hookimpl
ENTRY_POINT_GROUP = "portalis.plugins"


def default_plugins() -> list[object]:
    """The built-in plugins every manager registers first."""
    return [fieldtypes]


def make_plugin_manager(
    *,
    extra: Iterable[object] = (),
    load_entrypoints: bool = True,
    disabled: Iterable[str] = (),
) -> pluggy.PluginManager:
    """A plugin manager with the hookspecs, default plugins, entry points and `extra` plugins.

    `disabled` names plugins (entry-point names or registered names) that are not loaded.
    Raises `pluggy.PluginValidationError` for hook implementations that match no hookspec.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    blocked = set(disabled)
    for plugin in default_plugins():
        name = getattr(plugin, "__name__", None)
        if name not in blocked:
            pm.register(plugin, name=name)
    for name in blocked:
        pm.set_blocked(name)
    if load_entrypoints:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in extra:
        pm.register(plugin)
    pm.check_pending()
    return pm


def field_types(pm: pluggy.PluginManager) -> FieldTypeRegistry:
    """The field-type registry from every plugin (later registrations override by name)."""
    collected = []
    for result in reversed(pm.hook.portalis_field_types()):
        collected.extend(result)
    return FieldTypeRegistry(collected)


def expression_functions(pm: pluggy.PluginManager) -> Mapping[str, Callable[..., Any]]:
    """Functions expressions may call, merged from every plugin."""
    merged: dict[str, Callable[..., Any]] = {}
    for result in reversed(pm.hook.portalis_expression_functions()):
        merged.update(result)
    return merged


def request_guards(pm: pluggy.PluginManager) -> tuple[RequestGuard, ...]:
    """Every plugin's request guards, in registration order (collect once, at start-up)."""
    return tuple(
        guard for result in reversed(pm.hook.portalis_request_guards()) for guard in result
    )


def plugin_tables(pm: pluggy.PluginManager) -> list[sa.MetaData]:
    """The `MetaData` of every plugin's own tables (`portalis_runtime_tables`)."""
    return [metadata for result in pm.hook.portalis_runtime_tables() for metadata in result]
