"""The plugin manager: one pluggy manager per application or engine context (no globals).

The rule for hookspecs: a manager loads every hookspec module its plugins implement before it
registers any plugin, and checks the implementations once, after the last plugin
(`check_pending`). The engine's hooks (`portalis.engine.hookspecs`) are always loaded; the
runtime passes its own (`portalis.runtime.hookspecs`) in `specs` — its
`default_plugins.plugin_manager()` does, and every server, worker and `portalis` command
builds its manager that way. An engine-only manager (`make_plugin_manager()` alone) refuses a
plugin that implements a runtime hook, so code that loads such plugins — the installed entry
points, say — must load the runtime's specs too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import ModuleType

import pluggy

from . import hookspecs
from .definition import core_sections, fieldtypes
from .definition.fields import FieldTypeRegistry
from .definition.sections import SectionRegistry
from .expr.expressions import ExpressionFunction
from .guards import RequestGuard

hookimpl = hookspecs.hookimpl
ENTRY_POINT_GROUP = "portalis.plugins"


def default_plugins() -> list[object]:
    """The built-in plugins every manager registers first."""
    return [fieldtypes, core_sections]


def make_plugin_manager(
    *,
    specs: Iterable[ModuleType] = (),
    extra: Iterable[object] = (),
    load_entrypoints: bool = True,
    disabled: Iterable[str] = (),
) -> pluggy.PluginManager:
    """A plugin manager with the hookspecs, default plugins, entry points and `extra` plugins.

    `specs` are hookspec modules loaded next to the engine's (the runtime passes its own);
    all of them are loaded before the first plugin. `disabled` names plugins (entry-point
    names or registered names) that are not loaded. Raises `pluggy.PluginValidationError`
    for hook implementations that match no loaded hookspec or take unknown arguments.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    modules = [hookspecs, *specs]
    for module in modules:
        pm.add_hookspecs(module)
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
    try:
        # once, after every spec and plugin: an implementation of a hook whose spec module
        # is loaded later must not be refused early
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        loaded = ", ".join(module.__name__ for module in modules)
        raise pluggy.PluginValidationError(
            exc.plugin, f"{exc} (hookspecs loaded: {loaded})"
        ) from None
    return pm


def field_types(pm: pluggy.PluginManager) -> FieldTypeRegistry:
    """The field-type registry from every plugin (later registrations override by name)."""
    collected = []
    for result in reversed(pm.hook.portalis_field_types()):
        collected.extend(result)
    return FieldTypeRegistry(collected)


def expression_functions(pm: pluggy.PluginManager) -> Mapping[str, ExpressionFunction]:
    """Functions expressions may call, merged from every plugin."""
    merged: dict[str, ExpressionFunction] = {}
    for result in reversed(pm.hook.portalis_expression_functions()):
        merged.update(result)
    return merged


def request_guards(pm: pluggy.PluginManager) -> tuple[RequestGuard, ...]:
    """Every plugin's request guards, in registration order (collect once, at start-up)."""
    return tuple(
        guard for result in reversed(pm.hook.portalis_request_guards()) for guard in result
    )


def definition_sections(pm: pluggy.PluginManager) -> SectionRegistry:
    """Every plugin's definition sections (later registrations override by place and name)."""
    collected = [s for result in reversed(pm.hook.portalis_definition_sections()) for s in result]
    return SectionRegistry(collected)
