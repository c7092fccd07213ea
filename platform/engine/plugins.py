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
from typing import Protocol

import pluggy

from . import hookspecs
from .definition import fieldtypes
from .definition.fields import FieldTypeRegistry
from .expr.expressions import ExpressionFunction
from .guards import RequestGuard

hookimpl = hookspecs.hookimpl
ENTRY_POINT_GROUP = "portalis.plugins"


class OptionsSchema(Protocol):
    """What the definition checker reads of a block type or sign-in provider type.

    Both are runtime hooks (`portalis_block_types`, `portalis_auth_provider_types`), but the
    definition names them (`- <block>: {…}`, `type: <provider>`), so the engine reads the
    definition part of their results: the key and the JSON Schema of the options (None:
    the base schema describes them). The runtime's `BlockType` and `ProviderType` extend it.
    """

    @property
    def name(self) -> str:
        """The key definitions use for it."""
        ...

    @property
    def options_schema(self) -> Mapping[str, object] | None:
        """JSON Schema of its options, or None when the base schema has them."""
        ...


class ProviderOptions(OptionsSchema, Protocol):
    """The definition part of a sign-in provider type: also its secret options."""

    @property
    def secret_options(self) -> tuple[str, ...]:
        """Options that must be `${ENV}` references (never secrets in definition files)."""
        ...


def default_plugins() -> list[object]:
    """The built-in plugins every manager registers first."""
    return [fieldtypes]


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


def block_option_schemas(pm: pluggy.PluginManager) -> dict[str, Mapping[str, object]]:
    """Block type → JSON Schema of its options, for the block types that declare one."""
    caller = getattr(pm.hook, "portalis_block_types", None)
    # none when the runtime's specs are not loaded: then no plugin implements the hook
    results: list[list[OptionsSchema]] = caller() if caller is not None else []
    schemas: dict[str, Mapping[str, object]] = {}
    for result in results:
        for block in result:
            if block.options_schema is not None:
                schemas[block.name] = block.options_schema
    return schemas


def provider_options(
    pm: pluggy.PluginManager,
) -> tuple[dict[str, Mapping[str, object]], frozenset[str]]:
    """(provider type → JSON Schema of its options, every provider type's secret options)."""
    caller = getattr(pm.hook, "portalis_auth_provider_types", None)
    results: list[list[ProviderOptions]] = caller() if caller is not None else []
    schemas: dict[str, Mapping[str, object]] = {}
    secrets: set[str] = set()
    for result in results:
        for ptype in result:
            if ptype.options_schema:
                schemas[ptype.name] = ptype.options_schema
            secrets.update(ptype.secret_options)
    return schemas, frozenset(secrets)
