"""The runtime's default plugins (built-in blocks, the inputs of the built-in field types, the
password login provider, the API's marshmallow fields) and the plugin manager every runtime
entry point builds: server, worker, `portalis` commands."""

from __future__ import annotations

from collections.abc import Iterable

import pluggy
import sqlalchemy as sa

from portalis.engine.plugins import make_plugin_manager

from . import hookspecs
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
